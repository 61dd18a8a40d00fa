"""FINCH (Sarfraz et al., CVPR 2019; package finch-clust): every partition of its hierarchy.

The optional alternative to ward HAC (`evalkit.hac`) in the clustering protocol
(``--method finch``): parameter-free; exact first neighbours up to 20,000 samples, approximate
ones (pynndescent) above.
"""

from __future__ import annotations

import warnings

import numpy as np

from unsup3d.api import UserError


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
