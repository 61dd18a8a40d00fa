"""Fixtures for the probe tests: tiny feature files, image files and a stand-in backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from unsup3d.features import FeatureSet, save_features


@pytest.fixture(autouse=True)
def _one_thread():
    # The probes' tensors are tiny: on shared 2-core machines, OpenMP threads spinning against
    # other processes made them ~10x slower than one thread.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TinyBackbone(nn.Module):
    """Stand-in for the inverse renderer: images (B, 3, S, S) in [0, 1] -> {"depth", "albedo"}.

    Has a BatchNorm (running statistics) and a GroupNorm, like real encoders may.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.gn = nn.GroupNorm(2, 8)
        self.depth = nn.Linear(8, 6)
        self.albedo = nn.Linear(8, 6)

    def get_features(self, images, groups):
        x = torch.relu(self.gn(self.bn(self.conv(images * 2 - 1))))
        pooled = x.mean(dim=(2, 3))  # (B, 8)
        feats = {"depth": torch.relu(self.depth(pooled)), "albedo": torch.relu(self.albedo(pooled))}
        return {g: feats[g] for g in groups}


@pytest.fixture
def tiny_backbone():
    return TinyBackbone


def separable(n: int, dim: int, classes: int, seed: int, noise: float = 0.3):
    """Gaussian blobs around well-separated class means; the means depend only on ``classes``/``dim``."""
    means = np.random.default_rng(1234).normal(size=(classes, dim)) * 2.0
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    x = means[y] + noise * rng.normal(size=(n, dim))
    return x.astype(np.float32), y.astype(np.int64)


def colour_images(n: int, size: int, seed: int):
    """Images whose label is decided by colour: class 0 reddish, class 1 bluish, plus noise.

    Returns (images uint8 (n, 3, S, S), labels (n,), attributes (n, 2) 0/1).
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rng.shuffle(y)
    base = np.where(y[:, None] == 0, [200, 40, 40], [40, 40, 200])  # (n, 3)
    img = base[:, :, None, None] + rng.normal(0, 30, size=(n, 3, size, size))
    images = np.clip(img, 0, 255).astype(np.uint8)
    bright = (images.mean(axis=(1, 2, 3)) > np.median(images.mean(axis=(1, 2, 3)))).astype(int)
    return images, y.astype(np.int64), np.stack([y, bright], axis=1).astype(np.int64)


@pytest.fixture
def feature_files(tmp_path):
    """Separable 3-class features (depth+albedo+light groups) and a 2-attribute label table."""

    def make(n_train=120, n_eval=200, multilabel=False, labels=True):
        paths = []
        for split, n, seed in (("train", n_train, 0), ("test", n_eval, 1)):
            x, y = separable(n, 24, 3, seed)
            if multilabel:
                lab = np.stack([y == 0, y == 2], axis=1).astype(np.int64)
                names = ["Smiling", "Male"]
            else:
                lab, names = y, ["identity"]
            fs = FeatureSet(
                features={"depth": x[:, :8], "albedo": x[:, 8:16], "light": x[:, 16:]},
                labels=lab if labels else None,
                label_names=names if labels else [],
            )
            tag = ("_ml" if multilabel else "") + ("" if labels else "_nolabels")
            path = tmp_path / f"{split}{tag}.npz"
            save_features(path, fs)
            paths.append(path)
        return paths

    return make


@pytest.fixture
def image_npz(tmp_path):
    """Train/test .npz of 16 px colour-coded images with labels (N,) or (N, 2)."""

    def make(n_train=24, n_eval=16, size=16, multilabel=False):
        paths = []
        for split, n, seed in (("train", n_train, 0), ("test", n_eval, 1)):
            images, y, attrs = colour_images(n, size, seed)
            arrays = {"images": images}
            if multilabel:
                arrays["labels"] = attrs
                arrays["label_names"] = np.array(["Blue", "Bright"])
            else:
                arrays["labels"] = y
            path = tmp_path / f"img_{split}{'_ml' if multilabel else ''}.npz"
            np.savez(path, **arrays)
            paths.append(path)
        return paths

    return make


@pytest.fixture
def make_separable():
    return separable


@pytest.fixture
def make_colour_images():
    return colour_images


@pytest.fixture
def real_checkpoint(tmp_path):
    """A real `run.py`-style checkpoint of the `small` inverse renderer at 16 px (random init)."""
    from unsup3d.checkpoint import save_checkpoint
    from unsup3d.config import config_to_dict, load_config
    from unsup3d.models import build_model

    cfg = load_config(None, ["model.preset=small", "data.image_size=16", "loss.lam_perc=0"])
    torch.manual_seed(0)
    path = tmp_path / "small.pt"
    save_checkpoint(path, {"config": config_to_dict(cfg), "model": build_model(cfg).state_dict()})
    return path
