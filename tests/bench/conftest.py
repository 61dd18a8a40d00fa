"""Fixtures of the benches' smoke tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def run_bench():
    """``run_bench("bench_x.py", *args)``: run a bench script, assert it exits 0, return its
    stdout."""

    def run(script: str, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run(
            [sys.executable, str(BENCH / script), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    return run
