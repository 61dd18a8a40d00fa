"""Fixtures for the analysis tests: toy codes and feature files in the real on-disk format."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.toy_codes import toy_physical_features
from unsup3d.features import FeatureSet, save_features


def _write(path, num: int, leakage: float, seed: int):
    feats, factors, names = toy_physical_features(num, seed, dim=32, leakage=leakage)
    labels = (factors[:, 0] > 0).astype(np.int64)  # "wide face": decided by a depth factor
    fs = FeatureSet(
        features=feats,
        labels=labels,
        label_names=["wide"],
        factors=factors,
        factor_names=names,
        meta={"split": "test", "source": "analysis.toy_codes.toy_physical_features"},
    )
    save_features(path, fs)
    return path


@pytest.fixture
def toy_feature_file(tmp_path):
    """A 600-sample feature file with four 32-d ReLU groups, each driven by its own factors."""
    return _write(tmp_path / "toy_features.npz", 600, leakage=0.0, seed=0)


@pytest.fixture
def toy_feature_file_no_factors(tmp_path):
    feats, _, _ = toy_physical_features(200, 1, dim=16)
    path = tmp_path / "plain.npz"
    save_features(path, FeatureSet(features=feats, labels=np.zeros(200, dtype=np.int64)))
    return path
