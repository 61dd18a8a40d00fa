"""Smoke test of bench/bench_train_step.py: a tiny setting prints every line it promises."""

import json
import re


def test_the_train_step_bench_reports_each_variant_and_the_ratios(tmp_path, run_bench):
    out = tmp_path / "steps.json"
    args = ["--presets", "small", "--batch", "2", "--size", "16", "--runs", "1", "--threads", "1"]
    stdout = run_bench("bench_train_step.py", *args, "--json", str(out))
    for variant in ("none", "LOOCC-L", "LOOCC-LV"):
        assert re.search(
            rf"^small\s+{variant}\s+step\s+[\d.]+ s\s+[\d.]+ images/s\s+peak", stdout, re.M
        ), variant
    for variant in ("LOOCC-L", "LOOCC-LV"):
        assert re.search(rf"ratio {variant} / none: time [\d.]+x \(goal <= 1.3x\)", stdout)
    assert json.loads(out.read_text())
