"""Helpers shared by the benchmarks that measure in child processes (imported as ``common``:
each bench runs as ``python bench/<name>.py``, so this folder is on ``sys.path``)."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence

import torch

from unsup3d.utils import rss_kib


def peak_memory_mib(step: Callable[[], object], device: torch.device, repeat: int = 2) -> float:
    """Peak memory of ``repeat`` calls of ``step``: CUDA ``max_memory_allocated``; CPU the peak
    RSS growth over the RSS before the calls (MiB)."""
    base_kib = rss_kib("VmRSS")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(repeat):
        step()
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return (rss_kib("VmHWM") - base_kib) / 1024


def run_child(cmd: Sequence[str]) -> dict:
    """Run a bench child process; its last stdout line is its JSON result."""
    out = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def interleaved_rounds(
    steps: dict[str, Callable[[], float]], runs: int, reference: str
) -> dict[str, dict]:
    """Time every step ``runs`` times in rotated order after one warm-up each, so a shared, busy
    CPU slows all alike; each step returns its own duration (s).

    Returns:
        {"times_s": {name: [s, ...]}, "median_s": {name: s}, "ratio": {name: median over rounds
        of its time / the reference's time in the same round}}.
    """
    names = list(steps)
    for name in names:  # warm-up
        steps[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(runs):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(steps[name]())
    return {
        "times_s": times,
        "median_s": {n: statistics.median(t) for n, t in times.items()},
        "ratio": {
            n: statistics.median(a / b for a, b in zip(times[n], times[reference])) for n in names
        },
    }


def step_line(label: str, seconds: float, batch: int, peak_mib: float, params: int) -> str:
    """One model's line: median step time, images per second, peak memory, parameters."""
    return (
        f"{label} step {seconds:8.3f} s  {batch / seconds:8.1f} images/s  "
        f"peak {peak_mib:8.1f} MiB  ({params:,} params)"
    )


def ratio_line(label: str, time_ratio: float, peak_mib: float, reference_mib: float) -> str:
    """``<label>: time Tx, peak memory Mx`` against the reference measured in the same run."""
    return (
        f"{label}: time {time_ratio:.2f}x, peak memory {peak_mib / max(reference_mib, 1e-9):.2f}x"
    )


def timed_step(loss: Callable[[], torch.Tensor], optimizer, device: torch.device) -> float:
    """Seconds of one optimisation step: ``loss()``, backward, ``optimizer.step()`` (CUDA
    synchronised before and after)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    total = loss()
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t0
