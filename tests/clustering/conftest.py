"""Fixtures for the clustering tests: tiny feature files in the real on-disk format."""

from __future__ import annotations

import numpy as np
import pytest

from unsup3d.features import SCENE_GROUPS, FeatureSet, save_features


def blobs(n_per: int = 10, k: int = 3, dim: int = 16, sep: float = 30.0, seed: int = 0):
    """k well separated Gaussian blobs: (x float32 (k*n_per, dim), labels int64 (k*n_per,))."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * sep
    labels = np.repeat(np.arange(k), n_per)
    x = centres[labels] + rng.normal(size=(k * n_per, dim))
    return x.astype(np.float32), labels.astype(np.int64)


@pytest.fixture
def make_blobs():
    return blobs


@pytest.fixture
def feature_file(tmp_path):
    """Factory: write a project feature .npz of separated blobs and return its path.

    The blobs live in depth and albedo (the default groups); light and view are noise.
    """

    def make(
        name="feats.npz",
        n_per=10,
        k=3,
        labels=None,
        label_names=None,
        track_ids=None,
        seed=0,
    ):
        x, y = blobs(n_per=n_per, k=k, dim=16, seed=seed)
        rng = np.random.default_rng(seed + 1)
        features = {
            "depth": x[:, :8],
            "albedo": x[:, 8:],
            "light": rng.normal(size=(len(y), 4)).astype(np.float32),
            "view": rng.normal(size=(len(y), 4)).astype(np.float32),
        }
        assert list(features) == list(SCENE_GROUPS)
        labels = y if labels is None else labels
        names = label_names or (
            ["identity"] if labels.ndim == 1 else [f"attr{i}" for i in range(labels.shape[1])]
        )
        path = tmp_path / name
        save_features(
            path,
            FeatureSet(features=features, labels=labels, label_names=names, track_ids=track_ids),
        )
        return path

    return make
