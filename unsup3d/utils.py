"""Small shared helpers: seeding, devices, hashing, atomic writes, git SHA, malloc settings."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from unsup3d.errors import UserError

# glibc mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(trim_mib: int = 256, mmap_mib: int = 32) -> bool:
    """Let glibc's malloc keep freed memory for reuse instead of handing it back to the OS.

    PyTorch's CPU tensors come from malloc. With glibc's defaults, large temporaries are
    mmapped and unmapped and the heap top is trimmed, so each batch faults the same pages in
    again (thousands of page faults per synthetic batch, ~10% of its time). This sets
    M_MMAP_THRESHOLD to ``mmap_mib`` (blocks below it come from the heap) and M_TRIM_THRESHOLD
    to ``trim_mib`` (up to that much freed memory stays mapped), as the MALLOC_MMAP_THRESHOLD_
    and MALLOC_TRIM_THRESHOLD_ environment variables would. Process-wide and permanent; forked
    processes inherit it. `run.py`, DataLoader workers, ``materialize`` and the benchmarks call
    it.

    Returns:
        True if applied; False (nothing changed) where the C library is not glibc, or where
        either environment variable is set (the user's choice wins).
    """
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # Both or neither: a fixed trim threshold alone also freezes glibc's adaptive mmap
    # threshold at 128 KiB, which is far slower than the defaults.
    if mallopt(_M_MMAP_THRESHOLD, mmap_mib << 20) != 1:
        return False
    return mallopt(_M_TRIM_THRESHOLD, trim_mib << 20) == 1


def add_default_malloc_option(parser: argparse.ArgumentParser) -> None:
    """The benchmarks' ``--default_malloc`` flag (see `apply_malloc_option`)."""
    parser.add_argument(
        "--default_malloc",
        action="store_true",
        help="keep glibc's default malloc settings (by default the benchmark calls "
        "unsup3d.utils.keep_freed_memory, as run.py does)",
    )


def apply_malloc_option(args: argparse.Namespace) -> str:
    """Call `keep_freed_memory` unless ``args.default_malloc``; return the settings in effect,
    "keep_freed_memory" or "default"."""
    if not args.default_malloc and keep_freed_memory():
        return "keep_freed_memory"
    return "default"


def rss_kib(field: str = "VmRSS") -> int:
    """A memory field of this process from ``/proc/self/status`` (``VmRSS`` now, ``VmHWM`` its
    peak), KiB; 0 where the file does not exist (not Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy's global RNG and torch (CPU and all CUDA devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds legacy global users (sklearn defaults)
    torch.manual_seed(seed)


def resolve_device(gpu: int | None) -> torch.device:
    """Return ``cuda:<gpu>`` or CPU when ``gpu`` is None.

    Raises:
        UserError: a GPU was asked for but CUDA is unavailable or the index does not exist
            (never a silent fall-back to CPU).
    """
    if gpu is None:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UserError(
            f"--gpu {gpu}: CUDA is not available on this machine; leave out --gpu to run on the CPU"
        )
    if not 0 <= gpu < torch.cuda.device_count():
        raise UserError(
            f"--gpu {gpu}: no such device (this machine has {torch.cuda.device_count()}); "
            f"use an index in 0..{torch.cuda.device_count() - 1}"
        )
    return torch.device(f"cuda:{gpu}")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success move it onto ``path``.

    The target is replaced in one `os.replace`, so a reader (or a killed writer) never sees a
    half-written file. On an exception the temporary file is removed and the target untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def git_sha(repo_dir: str | os.PathLike | None = None) -> str:
    """The current git commit of the source tree, or ``"unknown"`` outside a checkout."""
    repo_dir = Path(repo_dir) if repo_dir else Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo_dir,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
