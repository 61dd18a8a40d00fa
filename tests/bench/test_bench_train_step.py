"""Smoke test of bench/bench_train_step.py: a tiny setting prints every line it promises."""

import json
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_train_step.py"


def test_the_train_step_bench_reports_each_variant_and_the_ratios(tmp_path):
    out = tmp_path / "steps.json"
    args = ["--presets", "small", "--batch", "2", "--size", "16", "--runs", "1", "--threads", "1"]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for variant in ("none", "LOOCC-L", "LOOCC-LV"):
        assert re.search(
            rf"^small\s+{variant}\s+step\s+[\d.]+ s\s+[\d.]+ images/s\s+peak", proc.stdout, re.M
        ), variant
    for variant in ("LOOCC-L", "LOOCC-LV"):
        assert re.search(rf"ratio {variant} / none: time [\d.]+x \(goal <= 1.3x\)", proc.stdout)
    assert json.loads(out.read_text())
