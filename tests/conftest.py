"""Shared test setup: offline, deterministic, CPU-first."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

# No test may touch the network (model hubs included).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TORCH_HOME", os.path.join(os.path.dirname(__file__), ".no_torch_home"))


@pytest.fixture(autouse=True)
def _seed_torch():
    torch.manual_seed(0)
    yield


def pytest_collection_modifyitems(config, items):
    skip_cuda = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "cuda" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_cuda)


# A tiny training config (16 px, a few images) for the run.py, trainer and evaluate tests.
TINY = """
run:
  output_dir: {out}
  seed: 3
data:
  name: synthetic_faces
  image_size: 16
  num_train: {num_train}
  num_val: 4
  num_test: 4
model:
  preset: small
loss:
  lam_perc: 0.0
loocc:
  variant: {variant}
trainer:
  num_epochs: {epochs}
  batch_size: {batch}
  lr: 1.0e-3
  checkpoint_every: 1
  keep_checkpoints: 2
  log_freq: 1
  tensorboard: {tensorboard}
"""


@pytest.fixture
def tiny_config(tmp_path):
    def make(
        name="cfg.yaml", out=None, num_train=8, variant="LV", epochs=1, batch=4, tensorboard="false"
    ):
        out = out or tmp_path / "run"
        path = tmp_path / name
        path.write_text(
            TINY.format(
                out=out,
                num_train=num_train,
                variant=variant,
                epochs=epochs,
                batch=batch,
                tensorboard=tensorboard,
            )
        )
        return path, out

    return make


RUN_PY = Path(__file__).resolve().parents[1] / "run.py"


def train_cmd(cfg) -> list[str]:
    """``python run.py --config CFG --num_workers 0`` as a subprocess command."""
    return [sys.executable, str(RUN_PY), "--config", str(cfg), "--num_workers", "0"]


@pytest.fixture
def kill_and_resume():
    """``kill_and_resume(cfg_a, out_a, cfg_b, out_b, epochs)``: train config A uninterrupted;
    train config B (same run, another folder), SIGKILL it once its first ``last.pt`` exists,
    resume it; assert both end with bit-identical weights after ``epochs`` epochs."""

    def check(cfg_a, out_a, cfg_b, out_b, epochs: int, timeout_s: float = 120) -> None:
        from unsup3d.checkpoint import load_checkpoint

        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        subprocess.run(train_cmd(cfg_a), check=True, env=env, capture_output=True)
        proc = subprocess.Popen(
            train_cmd(cfg_b), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.time() + timeout_s
        while not (out_b / "last.pt").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.2)  # now inside epoch 2 (or later): kill without warning
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_at = load_checkpoint(out_b / "last.pt")["epoch"]
        assert killed_at < epochs, "the run finished before it was killed; the test proves nothing"
        subprocess.run(train_cmd(cfg_b), check=True, env=env, capture_output=True)
        a, b = load_checkpoint(out_a / "last.pt"), load_checkpoint(out_b / "last.pt")
        assert a["step"] == b["step"] and a["epoch"] == b["epoch"] == epochs
        for key in a["model"]:
            torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0, msg=key)

    return check
