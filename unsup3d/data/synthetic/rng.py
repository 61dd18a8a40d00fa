"""Counter-based random numbers: every draw is a pure function of (stream key, counter, slot).

SplitMix64 in NumPy ``uint64`` (which wraps by definition) replaces a global RNG, so any subset
of the synthetic data is reproducible lazily, in any order, batched or one at a time, in any
process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import torch


def stream_key(*parts: object) -> np.uint64:
    """A 64-bit key naming one random stream, stable across processes and machines."""
    text = "/".join(str(p) for p in parts).encode("utf-8")
    return np.uint64(int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little"))


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (modular arithmetic, wraps by definition)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniforms(key: np.uint64, index: Sequence[int] | np.ndarray, num: int) -> torch.Tensor:
    """Uniform numbers in [0, 1) for a batch of counters of one stream.

    Args:
        key: the stream (`stream_key`).
        index: (B,) non-negative counters (image or identity indices).
        num: numbers per counter.

    Returns:
        (B, num) float32; entry (i, k) depends only on (key, index[i], k), and is a multiple of
        2^-24, so it is exact in float32.
    """
    idx = np.asarray(index, dtype=np.int64)
    if idx.ndim != 1 or (idx.size and idx.min() < 0):
        raise ValueError(f"index must be a 1-D array of non-negative ints, got {idx!r}")
    base = splitmix64(np.asarray([key], dtype=np.uint64) ^ splitmix64(idx.astype(np.uint64)))
    slots = splitmix64(np.arange(num, dtype=np.uint64) + np.uint64(0x632BE59BD9B4E019))
    bits = splitmix64(base[:, None] ^ slots[None, :])  # (B, num)
    return torch.from_numpy(((bits >> np.uint64(40)).astype(np.float32)) * np.float32(2.0**-24))


class Draws:
    """Hands out consecutive columns of a (B, N) block of uniforms: ``take(k)`` -> (B, k)."""

    def __init__(self, u: torch.Tensor) -> None:
        self.u, self.pos = u, 0

    def take(self, k: int = 1) -> torch.Tensor:
        if self.pos + k > self.u.shape[1]:
            raise RuntimeError("random stream exhausted; raise its slot count")
        out = self.u[:, self.pos : self.pos + k]
        self.pos += k
        return out

    def one(self) -> torch.Tensor:
        return self.take(1)[:, 0]

    def uniform(self, lo: float, hi: float, k: int | None = None) -> torch.Tensor:
        u = self.one() if k is None else self.take(k)
        return lo + (hi - lo) * u

    def signed(self, k: int) -> torch.Tensor:
        return 2.0 * self.take(k) - 1.0
