"""Shared test setup: offline, deterministic, CPU-first."""

import os

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
