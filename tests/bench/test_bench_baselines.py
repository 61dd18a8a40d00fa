"""Smoke test of bench/bench_baselines.py: a tiny setting prints every line it promises."""

import json
import re


def test_the_baselines_bench_reports_each_model_and_its_ratio(tmp_path, run_bench):
    out = tmp_path / "baselines.json"
    models = ["vqvae_d64", "betavae"]
    args = ["--models", *models, "--batch", "2", "--size", "32", "--runs", "1", "--threads", "1"]
    stdout = run_bench("bench_baselines.py", *args, "--json", str(out))
    for name in ["pdr_small", *models]:
        assert re.search(
            rf"^{name}\s+step\s+[\d.]+ s\s+[\d.]+ images/s\s+peak\s+[-\d.]+ MiB", stdout, re.M
        ), name
    for name in models:
        assert re.search(rf"ratio {name} / pdr_small: time [\d.]+x, peak memory", stdout)
    record = json.loads(out.read_text())
    assert set(record["median_s"]) == {"pdr_small", *models}
