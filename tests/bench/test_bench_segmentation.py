"""Smoke test of bench/bench_segmentation.py: a tiny setting prints every line it promises."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_segmentation.py"


def test_the_segmentation_bench_reports_each_variant_and_the_ratios():
    args = ["--batches", "2", "--size", "16", "--steps", "1", "--threads", "1"]
    stdout = subprocess.check_output([sys.executable, str(SCRIPT), *args], text=True, timeout=120)
    for variant in ("supervised", "joint", "joint_frozen"):
        assert re.search(
            rf"^{variant}\s+16 px batch\s+2:\s+[\d.]+ images/s\s+peak\s+-?[\d.]+ MiB\s+-> paper's 20 "
            r"epochs x 24,127 images: [\d.]+ h",
            stdout,
            re.M,
        ), stdout
    for variant in ("joint", "joint_frozen"):
        assert re.search(
            rf"ratio {variant} / supervised \(batch 2\): time per image [\d.]+x, peak memory",
            stdout,
        )
