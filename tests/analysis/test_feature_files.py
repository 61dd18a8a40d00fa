"""analysis/feature_files.py: label columns, group sets, row subsets of feature files."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.feature_files import group_sets, label_column, label_matrix, subsample
from unsup3d.api import FeatureSet, UserError

FEATS = {g: np.arange(20, dtype=np.float32).reshape(10, 2) + i for i, g in enumerate("abc")}


def test_label_columns_by_name_or_first():
    labels = np.stack([np.arange(10) % 2, np.arange(10) % 3], axis=1)
    fs = FeatureSet(features=FEATS, labels=labels, label_names=["odd", "third"])
    np.testing.assert_array_equal(label_column(fs, "third", "f.npz", "")[0], labels[:, 1])
    column, name = label_column(fs, None, "f.npz", "")
    assert name == "odd" and column.tolist() == labels[:, 0].tolist()
    with pytest.raises(UserError, match="--label nope: not in f.npz; available: odd, third"):
        label_column(fs, "nope", "f.npz", "")
    unnamed = FeatureSet(features=FEATS, labels=labels)
    assert label_matrix(unnamed, "f.npz", "")[1] == ["attr_0", "attr_1"]
    one = FeatureSet(features=FEATS, labels=labels[:, 0])
    matrix, names = label_matrix(one, "f.npz", "")
    assert matrix.shape == (10, 1) and names == ["label"]
    with pytest.raises(UserError, match="f.npz: no labels; add some"):
        label_matrix(FeatureSet(features=FEATS), "f.npz", "add some")


def test_group_sets_resolve_in_every_file():
    fs = FeatureSet(features=FEATS)
    files = [(fs, "train.npz"), (fs, "test.npz")]
    assert group_sets(["a,b", "all"], files) == {"a+b": ["a", "b"], "all": ["a", "b", "c"]}
    other = FeatureSet(features={"a": FEATS["a"]})
    with pytest.raises(UserError, match="ood.npz: unknown feature group"):
        group_sets(["a,b"], [(fs, "train.npz"), (other, "ood.npz")])


def test_subsample_is_sorted_seeded_and_float64():
    fs = FeatureSet(features=FEATS, factors=np.ones((10, 3), dtype=np.float32))
    feats, factors, idx = subsample(fs, ["a"], 4, seed=0)
    assert len(idx) == 4 and np.all(np.diff(idx) > 0)
    assert feats["a"].dtype == np.float64 and factors.shape == (4, 3)
    np.testing.assert_array_equal(feats["a"], FEATS["a"][idx])
    assert np.array_equal(subsample(fs, ["a"], 4, seed=0)[2], idx)
    assert len(subsample(fs, ["a"], 0, seed=0)[2]) == 10  # 0 = all rows
