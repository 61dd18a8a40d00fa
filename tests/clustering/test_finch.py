"""FINCH: its hierarchy on separated blobs."""

import numpy as np
import pytest

from clustering.finch_hierarchy import finch_available, finch_partitions
from evalkit import contingency


def same_partition(a, b):
    """True when two labelings group the samples identically (names may differ)."""
    table = contingency(a, b)
    return table.shape[0] == table.shape[1] and np.count_nonzero(table) == table.shape[0]


@pytest.mark.skipif(not finch_available(), reason="finch-clust is not installed")
def test_finch_hierarchy_on_blobs(make_blobs):
    x, y = make_blobs(n_per=12, k=3, dim=8)
    parts, sizes = finch_partitions(x, distance="euclidean")
    assert parts.shape == (36, len(sizes))
    assert sizes == sorted(sizes, reverse=True)  # finest first
    assert 3 in sizes
    assert same_partition(parts[:, sizes.index(3)], y)
