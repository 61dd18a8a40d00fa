"""Correlation between feature groups: the paper's PCC, made exact, and canonical correlation.

The paper (§5) reports "Pearson's correlation coefficient between each combination of the four
learned physical features", averaged over the 6 pairs, without saying how two 256-d groups give
one number. We report, for each pair of groups (A, B), each (N, D_A) and (N, D_B):

- ``matched_abs_r`` (the headline "paper PCC"): mean over dimensions d of |r(A[:, d], B[:, d])|,
  the per-dimension Pearson r of the two groups' d-th units (``np.corrcoef`` paired column by
  column). Needs D_A == D_B. Dimensions where either unit is constant (dead ReLU) are left out
  and counted.
- ``cross_abs_r``: mean |r| over all D_A x D_B pairs of units: does not depend on how the units
  happen to be numbered (matched pairs do, since unit d of depth has nothing to do with unit d
  of albedo).
- ``norm_r``: Pearson r between the per-sample L2 norms ||A_i|| and ||B_i||.
- ``cca_mean``: mean of the top ``k`` canonical correlations, measured on held-out samples
  (directions fitted on a random ``1 - test_fraction`` of the rows with a ridge of ``reg`` times
  the mean eigenvalue on each covariance, then the Pearson r of the paired projections of the
  held-out rows). Invariant to any invertible linear map of either group, so it also catches
  dependence that is spread over rotated directions, which the first three miss. In-sample
  canonical correlations are biased towards 1 when D is not << N, hence the held-out estimate;
  ``cca_in_sample`` (the fitted correlations) is reported alongside.

Averages over the pairs are plain means over the 6 (or C(G, 2)) pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analysis.metrics import RandomStateLike, as_random_state
from analysis.records import CorrelationResults, PairCorrelation


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean(axis=0)
    sd = np.sqrt(np.sum(xc * xc, axis=0))
    live = sd > 1e-12 * max(1.0, float(np.abs(x).max(initial=0.0)))
    return xc / np.where(live, sd, 1.0), live


def matched_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between column d of ``a`` and column d of ``b`` for every d.

    Args:
        a, b: (N, D) each.

    Returns:
        float64 (D,); NaN where either column is constant.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"matched_pearson needs two (N, D) arrays of one shape: {a.shape}, {b.shape}"
        )
    za, la = _standardize(a)
    zb, lb = _standardize(b)
    r = np.sum(za * zb, axis=0)
    r[~(la & lb)] = np.nan
    return np.clip(r, -1.0, 1.0)


def cross_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between every column of ``a`` (N, D_A) and every column of ``b`` (N, D_B).

    Returns:
        float64 (D_A, D_B); NaN rows/columns for constant columns.
    """
    za, la = _standardize(a)
    zb, lb = _standardize(b)
    r = np.clip(za.T @ zb, -1.0, 1.0)
    r[~la, :] = np.nan
    r[:, ~lb] = np.nan
    return r


def _pearson_1d(x: np.ndarray, y: np.ndarray) -> float:
    return float(matched_pearson(x[:, None], y[:, None])[0])


def _inv_sqrt(cov: np.ndarray, reg: float) -> np.ndarray:
    w, v = np.linalg.eigh(cov)
    ridge = reg * max(float(np.mean(np.clip(w, 0, None))), 1e-300)
    w = np.clip(w, 0.0, None) + ridge
    keep = w > 1e-12 * w.max()  # reg = 0 on a rank-deficient group: project onto its range
    return (v[:, keep] / np.sqrt(w[keep])) @ v[:, keep].T


@dataclass
class CCAFit:
    """Canonical directions fitted on one sample.

    Attributes:
        correlations: (k,) in-sample canonical correlations, descending.
        weights_a, weights_b: (D_A, k), (D_B, k) projection weights (applied to centred data).
        mean_a, mean_b: training means.
    """

    correlations: np.ndarray
    weights_a: np.ndarray
    weights_b: np.ndarray
    mean_a: np.ndarray
    mean_b: np.ndarray


def fit_cca(a: np.ndarray, b: np.ndarray, reg: float = 0.0) -> CCAFit:
    """Canonical correlation analysis by SVD of the whitened cross-covariance.

    C_aa^{-1/2} C_ab C_bb^{-1/2} = U S V^T; the canonical correlations are S, the weights
    C_aa^{-1/2} U and C_bb^{-1/2} V. Each covariance gets a ridge of ``reg`` times its mean
    eigenvalue (``reg=0``: exact CCA; directions of zero variance are dropped).

    Args:
        a: (N, D_A). b: (N, D_B).
        reg: relative ridge, >= 0.

    Returns:
        `CCAFit` with k = min(D_A, D_B) components.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"fit_cca needs (N, D_A) and (N, D_B), got {a.shape} and {b.shape}")
    if reg < 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    ac, bc = a - ma, b - mb
    n1 = a.shape[0] - 1
    wa = _inv_sqrt(ac.T @ ac / n1, reg)
    wb = _inv_sqrt(bc.T @ bc / n1, reg)
    u, s, vt = np.linalg.svd(wa @ (ac.T @ bc / n1) @ wb)
    k = min(a.shape[1], b.shape[1])
    return CCAFit(np.clip(s[:k], 0.0, 1.0), wa @ u[:, :k], wb @ vt[:k].T, ma, mb)


def heldout_canonical_correlations(
    fit: CCAFit, a: np.ndarray, b: np.ndarray, num_components: int
) -> np.ndarray:
    """Pearson r of the paired projections of new rows ``a``, ``b`` on the first components."""
    pa = (np.asarray(a, dtype=np.float64) - fit.mean_a) @ fit.weights_a[:, :num_components]
    pb = (np.asarray(b, dtype=np.float64) - fit.mean_b) @ fit.weights_b[:, :num_components]
    return np.nan_to_num(matched_pearson(pa, pb), nan=0.0)


PAIR_MEASURES = ("matched_abs_r", "cross_abs_r", "norm_r", "cca_mean")


@dataclass(frozen=True)
class HeldOutCCA:
    """How ``cca_mean`` is estimated (module docstring).

    Attributes:
        components: k, the number of leading canonical correlations averaged.
        test_fraction: fraction of rows held out for the estimate.
        reg: CCA ridge, relative to the mean eigenvalue of each group's covariance.
    """

    components: int = 10
    test_fraction: float = 0.25
    reg: float = 0.1


def pair_correlation(
    a: np.ndarray, b: np.ndarray, *, random_state: RandomStateLike, cca: HeldOutCCA | None = None
) -> PairCorrelation:
    """Every correlation measure between two feature groups (module docstring).

    Args:
        a: (N, D_A). b: (N, D_B).
        random_state: the held-out split for the CCA.
        cca: the held-out CCA's settings (default `HeldOutCCA()`).

    Returns:
        `PairCorrelation`.
    """
    cca = cca or HeldOutCCA()
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"groups have {a.shape[0]} and {b.shape[0]} rows")
    if a.shape[1] == b.shape[1]:
        m = matched_pearson(a, b)
        used = int(np.isfinite(m).sum())
        matched = float(np.nanmean(np.abs(m))) if used else float("nan")
    else:
        matched, used = float("nan"), 0
    cross = cross_pearson(a, b)
    cross_abs = float(np.nanmean(np.abs(cross))) if np.isfinite(cross).any() else float("nan")
    norm_r = _pearson_1d(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
    rs = as_random_state(random_state)
    perm = rs.permutation(a.shape[0])
    n_test = int(round(cca.test_fraction * a.shape[0]))
    if n_test < 3 or a.shape[0] - n_test < 3:
        raise ValueError(f"too few rows ({a.shape[0]}) for a held-out CCA estimate")
    te, tr = perm[:n_test], perm[n_test:]
    fit = fit_cca(a[tr], b[tr], reg=cca.reg)
    k = max(1, min(cca.components, len(fit.correlations)))
    held = heldout_canonical_correlations(fit, a[te], b[te], k)
    return PairCorrelation(
        matched_abs_r=matched,
        matched_dims_used=used,
        cross_abs_r=cross_abs,
        norm_r=norm_r,
        cca_mean=float(np.mean(held)),
        cca_first=float(held[0]),
        cca_in_sample=float(np.mean(fit.correlations[:k])),
    )


@dataclass
class GroupCorrelation:
    """Pairwise correlations between feature groups.

    Attributes:
        groups: group names, in order.
        pairs: ``"a|b"`` -> `PairCorrelation`, for each unordered pair.
        mean: measure -> mean over pairs (``|norm_r|`` is averaged for ``norm_r``).
        matrices: measure -> (G, G) symmetric matrix (diagonal 1) for heatmaps.
    """

    groups: list[str]
    pairs: dict[str, PairCorrelation]
    mean: dict[str, float]
    matrices: dict[str, np.ndarray]

    def record(self) -> CorrelationResults:
        """The JSON record (``metrics.correlation`` of ``disentanglement.json``)."""
        matrices = {k: v.tolist() for k, v in self.matrices.items()}
        return CorrelationResults(self.groups, self.pairs, self.mean, matrices)


def group_correlation(
    features: Mapping[str, np.ndarray],
    *,
    random_state: RandomStateLike,
    cca: HeldOutCCA | None = None,
) -> GroupCorrelation:
    """`pair_correlation` for every pair of groups, and the means over pairs (paper: 6 pairs).

    Args:
        features: group name -> (N, D_g), at least two groups.
        random_state: one stream shared by the pairs, consumed in pair order.
        cca: the held-out CCA's settings (default `HeldOutCCA()`).

    Returns:
        `GroupCorrelation`.
    """
    names = list(features)
    if len(names) < 2:
        raise ValueError(f"need at least two feature groups, got {names}")
    rs = as_random_state(random_state)
    pairs: dict[str, PairCorrelation] = {}
    g = len(names)
    mats = {m: np.eye(g) for m in PAIR_MEASURES}
    for (i, a), (j, b) in itertools.combinations(enumerate(names), 2):
        pc = pair_correlation(features[a], features[b], random_state=rs, cca=cca)
        pairs[f"{a}|{b}"] = pc
        for m in PAIR_MEASURES:
            v = getattr(pc, m)
            mats[m][i, j] = mats[m][j, i] = v
    mean = {}
    for m in (*PAIR_MEASURES, "cca_first", "cca_in_sample"):
        vals = np.array([getattr(p, m) for p in pairs.values()], dtype=np.float64)
        vals = np.abs(vals) if m == "norm_r" else vals
        mean[m] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    return GroupCorrelation(names, pairs, mean, mats)
