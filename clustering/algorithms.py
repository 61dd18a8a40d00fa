"""Clustering algorithms: one ward linkage tree, cuts of it, and FINCH.

The paper's protocol (reference_behaviour.md §7.1) runs sklearn's
``AgglomerativeClustering(linkage="ward")`` once per label column. Without a connectivity
constraint sklearn builds the full tree with ``scipy.cluster.hierarchy.ward`` and then undoes the
last k-1 merges, so the k-cluster partition of every column is a cut of the *same* tree. Here the
tree is built once (`ward_linkage`) and cut per requested k (`cut_tree`); the partitions are
identical to sklearn's up to the names of the clusters.
"""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np
from scipy.cluster import hierarchy

from unsup3d.errors import UserError

log = logging.getLogger(__name__)

HAC_BACKENDS: tuple[str, ...] = ("scipy", "fastcluster")


def ward_linkage(x: np.ndarray, backend: str = "scipy") -> np.ndarray:
    """Ward linkage tree of the rows of ``x`` (Euclidean).

    Args:
        x: (N, D) features, N >= 2.
        backend: ``"scipy"``: ``scipy.cluster.hierarchy.linkage(x, "ward")``, the tree sklearn
            builds (memory ~8·N² bytes for the pairwise distances); ``"fastcluster"``:
            ``fastcluster.linkage_vector(x, "ward")``, memory O(N·D) but several times slower.

    Returns:
        float64 (N-1, 4) linkage matrix in scipy's format, rows in merge order.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if backend == "scipy":
        return hierarchy.linkage(x, method="ward", metric="euclidean")
    if backend == "fastcluster":
        try:
            import fastcluster
        except ImportError:
            raise UserError(
                "--hac_backend fastcluster: the fastcluster package is not installed; "
                "pip install fastcluster, or use --hac_backend scipy"
            ) from None
        return np.asarray(fastcluster.linkage_vector(x, method="ward"), dtype=np.float64)
    raise ValueError(f"unknown backend {backend!r}; expected one of {HAC_BACKENDS}")


def cut_tree(linkage: np.ndarray, n_clusters: int) -> np.ndarray:
    """The partition into ``n_clusters`` clusters: the tree with its last k-1 merges undone.

    This is the cut sklearn's ``AgglomerativeClustering`` makes (``_hc_cut``). Unlike
    ``scipy.cluster.hierarchy.fcluster(..., "maxclust")`` it gives exactly k clusters when merge
    heights tie.

    Args:
        linkage: (N-1, 4) linkage matrix, rows in merge order.
        n_clusters: k, 1 <= k <= N.

    Returns:
        int64 (N,) cluster ids in 0..k-1, numbered by first appearance.
    """
    n = linkage.shape[0] + 1
    if not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters={n_clusters} outside 1..{n}")
    n_merges = n - n_clusters
    parent = np.arange(2 * n - 1)
    children = linkage[:n_merges, :2].astype(np.int64)  # (n_merges, 2)
    new_nodes = n + np.arange(n_merges)
    parent[children[:, 0]] = new_nodes
    parent[children[:, 1]] = new_nodes
    # Pointer doubling: every node reaches its top-most ancestor in O(log depth) passes.
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    roots = parent[:n]
    # number clusters by first appearance so the output does not depend on node ids
    _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def hac_memory_bytes(n: int, dim: int, backend: str = "scipy") -> int:
    """Estimated peak extra memory of `ward_linkage` on (n, dim) features, in bytes.

    scipy holds the condensed float64 distance matrix and one working copy of it
    (2 · 8 · n(n-1)/2 bytes; measured 489 MB at n = 8,000); fastcluster's vector method needs
    a few float64 copies of the data.
    """
    data = 8 * n * dim
    if backend == "fastcluster":
        return 3 * data + 64 * n
    return 8 * n * (n - 1) + data


def available_memory_bytes() -> int | None:
    """Memory the OS says is available now (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def finch_available() -> bool:
    """Whether the optional ``finch-clust`` package can be imported."""
    try:
        _import_finch()
    except ImportError:
        return False
    return True


def _import_finch():
    with warnings.catch_warnings():
        # finch warns at import when pynndescent is missing; only N > 20,000 needs it
        warnings.simplefilter("ignore")
        from finch import FINCH
    return FINCH


def finch_partitions(
    x: np.ndarray, distance: str = "cosine", seed: int = 0
) -> tuple[np.ndarray, list[int]]:
    """Every partition of the FINCH hierarchy (Sarfraz et al., CVPR 2019; package finch-clust).

    Args:
        x: (N, D) features.
        distance: first-neighbour metric, ``"cosine"`` (FINCH's recommendation) or
            ``"euclidean"``.
        seed: random state of the approximate-neighbour search (used above 20,000 samples).

    Returns:
        (partitions int64 (N, P), number of clusters of each partition, finest first).
    """
    try:
        finch = _import_finch()
    except ImportError:
        raise UserError(
            "--method finch: the finch-clust package is not installed; pip install finch-clust "
            "(see clustering/requirements.txt), or use --method hac"
        ) from None
    try:
        parts, n_clusters, _ = finch(
            np.ascontiguousarray(x, dtype=np.float32),
            distance=distance,
            verbose=False,
            random_state=seed,
        )
    except MemoryError as exc:
        raise UserError(
            f"--method finch: {exc}; for more than 20,000 samples FINCH needs an approximate "
            "nearest-neighbour library: pip install pynndescent"
        ) from None
    parts = np.asarray(parts, dtype=np.int64)
    if parts.ndim == 1:
        parts = parts[:, None]  # (N,) -> (N, 1): a hierarchy with one level
    return parts, [int(k) for k in np.atleast_1d(n_clusters)]
