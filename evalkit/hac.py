"""Ward agglomerative clustering: one linkage tree, cuts of it, and its memory estimate.

The paper's protocol (reference_behaviour.md §7.1) runs sklearn's
``AgglomerativeClustering(linkage="ward")`` once per label column. Without a connectivity
constraint sklearn builds the full tree with ``scipy.cluster.hierarchy.ward`` and then undoes the
last k-1 merges, so the k-cluster partition of every column is a cut of the *same* tree. Here the
tree is built once (`ward_linkage`) and cut per requested k (`cut_tree`); the partitions are
identical to sklearn's up to the names of the clusters. `ward_clusters` does both for callers
that want one partition.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster import hierarchy

from evalkit.metrics import codes_by_first_appearance

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

    Raises:
        ModuleNotFoundError: ``backend="fastcluster"`` without the fastcluster package.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if backend == "scipy":
        return hierarchy.linkage(x, method="ward", metric="euclidean")
    if backend == "fastcluster":
        try:
            import fastcluster
        except ImportError as exc:
            raise ModuleNotFoundError(
                "the fastcluster package is not installed; pip install fastcluster, "
                "or use the scipy backend",
                name="fastcluster",
            ) from exc
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
    # number clusters by first appearance so the output does not depend on node ids
    return codes_by_first_appearance(parent[:n])


def ward_clusters(x: np.ndarray, n_clusters: int, backend: str = "scipy") -> np.ndarray:
    """Ward HAC of the rows of ``x`` into ``n_clusters`` clusters (sklearn's partition).

    The same partition as ``sklearn.cluster.AgglomerativeClustering(n_clusters, linkage="ward")
    .fit_predict(x)``, up to the cluster names. To cut one tree for several k, call
    `ward_linkage` once and `cut_tree` per k.

    Args:
        x: (N, D) features, N >= 2.
        n_clusters: k, 1 <= k <= N.
        backend: see `ward_linkage`.

    Returns:
        int64 (N,) cluster ids in 0..k-1, numbered by first appearance.
    """
    return cut_tree(ward_linkage(x, backend), n_clusters)


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
