"""The 300-step CPU run of the small preset on synthetic faces (slow: minutes on 2 cores)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_small_run.py"


@pytest.fixture(scope="module")
def run_300_steps(tmp_path_factory):
    """The bench's default run (experiments/bench_small_run.yaml through the Trainer), once."""
    out = tmp_path_factory.mktemp("small_run") / "run.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


@pytest.mark.slow
def test_300_steps_of_the_small_preset_learn_the_faces(run_300_steps):
    result = run_300_steps
    before, after = result["before"], result["after"]
    assert result["steps"] == 300
    # The held-out reconstruction loss drops by at least 30%.
    assert result["recon_l1_drop"] >= 0.30
    # The depth learnt is the faces' shape: it correlates with the ground truth and its
    # scale-invariant error falls from the untrained model's...
    assert after["log_depth_correlation"] > 0.5
    assert after["side"] < before["side"]
    # ...and over every covered pixel (run.py test's side_mean) it beats the best constant.
    assert after["side_scene"] < after["side_scene_best_constant"]


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="the 300-step bench recipe beats the best constant depth on the faces' own pixels on "
    "2 of 3 seeds (seed 0: 0.0134 vs 0.0127; docs/model.md); the recipe that does on every seed "
    "tested is experiments/cpu_faces.yaml (1,200 steps, cosine lr), asserted by "
    "tests/test_cpu_recipe.py",
)
def test_300_steps_beat_the_best_constant_depth_on_face_pixels(run_300_steps):
    after = run_300_steps["after"]
    assert after["side"] < after["side_best_constant"]


def test_the_script_runs_and_reports_on_a_tiny_setting(tmp_path):
    # Fast smoke run of the same script (2 steps, 16 px): every metric is written.
    out, png = tmp_path / "tiny.json", tmp_path / "depth.png"
    args = ["--steps", "2", "--batch", "2", "--size", "16", "--eval_images", "6", "--threads", "1"]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--json", str(out), "--figure", str(png)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    for key in ("side", "side_best_constant", "side_scene", "log_depth_correlation", "recon_l1"):
        assert key in result["after"], key
    assert "held-out SIDE" in proc.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
