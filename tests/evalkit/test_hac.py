"""Ward tree and its cuts, against sklearn's AgglomerativeClustering."""

import sys

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster
from sklearn.cluster import AgglomerativeClustering

from evalkit.hac import cut_tree, hac_memory_bytes, ward_clusters, ward_linkage
from evalkit.metrics import contingency


def same_partition(a, b):
    """True when two labelings group the samples identically (names may differ)."""
    table = contingency(a, b)
    return table.shape[0] == table.shape[1] and np.count_nonzero(table) == table.shape[0]


def test_cut_equals_sklearn_for_every_k():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    tree = ward_linkage(x)
    for k in (1, 2, 3, 5, 8, 17, 39, 40):
        ours = cut_tree(tree, k)
        ref = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(x).labels_
        assert len(np.unique(ours)) == k
        assert same_partition(ours, ref), k
        np.testing.assert_array_equal(ward_clusters(x, k), ours)


def test_ward_clusters_numbered_by_first_appearance():
    x = np.array([[10.0], [0.0], [10.1], [0.1], [20.0]])
    np.testing.assert_array_equal(ward_clusters(x, 3), [0, 1, 0, 1, 2])


def test_cut_gives_exactly_k_clusters_with_tied_heights():
    # four points on a square: every merge of the first level has the same height
    x = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0], [5.0, 40.0]])
    tree = ward_linkage(x)
    assert tree[0, 2] == tree[1, 2]
    assert len(np.unique(fcluster(tree, 4, "maxclust"))) == 3  # scipy's cut cannot split a tie
    labels = cut_tree(tree, 4)
    assert len(np.unique(labels)) == 4
    ref = AgglomerativeClustering(n_clusters=4, linkage="ward").fit(x).labels_
    assert same_partition(labels, ref)
    np.testing.assert_array_equal(cut_tree(tree, 5), np.arange(5))
    np.testing.assert_array_equal(cut_tree(tree, 1), np.zeros(5))
    with pytest.raises(ValueError, match="outside 1..5"):
        cut_tree(tree, 6)


def test_fastcluster_backend_builds_the_same_tree():
    pytest.importorskip("fastcluster")
    x = np.random.default_rng(1).normal(size=(30, 6))
    a, b = ward_linkage(x, "scipy"), ward_linkage(x, "fastcluster")
    np.testing.assert_allclose(a[:, 2], b[:, 2], rtol=1e-10)
    for k in (2, 4, 7):
        assert same_partition(cut_tree(a, k), cut_tree(b, k))


def test_backend_errors(monkeypatch):
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="unknown backend 'sklearn'"):
        ward_linkage(x, "sklearn")
    monkeypatch.setitem(sys.modules, "fastcluster", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError, match="pip install fastcluster"):
        ward_linkage(x, "fastcluster")


def test_memory_estimate_scales_with_n_squared():
    assert hac_memory_bytes(8000, 0) == 8 * 8000 * 7999  # measured peak: 489 MB at 8,000
    assert hac_memory_bytes(30_000, 512) > 7e9
    assert hac_memory_bytes(30_000, 512, "fastcluster") < 0.5e9
