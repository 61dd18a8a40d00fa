"""Smoke test of bench/bench_synthetic.py on tiny sizes: every line it reports is produced."""

import importlib.util
import re
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_synthetic.py"


def test_bench_synthetic_prints_every_line(capsys):
    spec = importlib.util.spec_from_file_location("bench_synthetic", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    threads = torch.get_num_threads()
    try:
        argv = ["--sizes", "16", "--batch", "4", "--runs", "1", "--workers", "1"]
        assert bench.main([*argv, "--names", "synthetic_faces", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    number = r"\s+[0-9.]+ images/s"
    assert re.search(r"generate synthetic_faces\s+16px:" + number, out)
    assert re.search(r"loader\s+synthetic_faces\s+16px:" + number + r".*items: all keys", out)
    assert re.search(r"loader\s+synthetic_faces\s+16px:" + number + r".*items: image\)", out)
    assert re.search(r"ratio generate/train-step\s+16px: [0-9.]+ .*wall time", out)
    assert re.search(
        r"ratio generate/train-step\s+16px, 1 thread each: [0-9.]+ .*core-seconds", out
    )
