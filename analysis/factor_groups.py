"""Group-level disentanglement: how well each feature group predicts each physical factor group.

Ground-truth factors are assigned to a physical group by the prefix of their name (first match
wins, case-insensitive; ``--factor_prefix`` in the CLI adds or overrides prefixes):

    depth  <- depth_, shape_, geometry_, geom_, expression_   (expression moves the geometry)
    albedo <- albedo_, texture_, color_, colour_, skin_, hair_
    light  <- light_
    view   <- view_, pose_, camera_, cam_

Any other factor goes to the group ``other``, shown as an extra column but never on the diagonal.
The score of feature group g for factor k is the held-out R^2 of a ridge regression from the
standardised features of g to the standardised factor k (clipped below at 0: a probe worse than
the mean carries no information); the matrix entry (g, physical group h) is the mean of those R^2
over the factors in h. Ideal: a diagonal matrix (depth features predict only depth factors, ...).
``diagonal_gap`` summarises it like SAP does per factor: mean over the physical groups h that have
a same-named feature group of ``M[h, h] - max_{g != h} M[g, h]`` (1 = perfectly diagonal,
<= 0 = another group predicts h as well or better).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.metrics import RandomStateLike, as_random_state
from analysis.records import FactorPredictionResults

PHYSICAL_GROUPS: tuple[str, ...] = ("depth", "albedo", "light", "view")
OTHER_GROUP = "other"
DEFAULT_PREFIXES: dict[str, str] = {
    "depth_": "depth",
    "shape_": "depth",
    "geometry_": "depth",
    "geom_": "depth",
    "expression_": "depth",
    "albedo_": "albedo",
    "texture_": "albedo",
    "color_": "albedo",
    "colour_": "albedo",
    "skin_": "albedo",
    "hair_": "albedo",
    "light_": "light",
    "view_": "view",
    "pose_": "view",
    "camera_": "view",
    "cam_": "view",
}


def physical_group_of(name: str, prefixes: Mapping[str, str] | None = None) -> str:
    """The physical group of a factor name by prefix (module docstring), else ``"other"``.

    ``prefixes`` are tried before the defaults, longest first.
    """
    lowered = name.lower()
    for table in (prefixes or {}, DEFAULT_PREFIXES):
        for prefix in sorted(table, key=len, reverse=True):
            if lowered.startswith(prefix.lower()):
                return table[prefix]
    return OTHER_GROUP


def assign_factor_groups(
    factor_names: Sequence[str], prefixes: Mapping[str, str] | None = None
) -> dict[str, list[int]]:
    """Physical group -> indices of its factors, in the order depth, albedo, light, view, other,
    then any custom group names; groups without factors are left out."""
    out: dict[str, list[int]] = {}
    for k, name in enumerate(factor_names):
        out.setdefault(physical_group_of(name, prefixes), []).append(k)
    order = [*PHYSICAL_GROUPS, OTHER_GROUP]
    ranked = sorted(out, key=lambda g: (order.index(g) if g in order else len(order), g))
    return {g: out[g] for g in ranked}


def ridge_r2(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    alpha: float = 1.0,
) -> np.ndarray:
    """Held-out R^2 of a ridge regression per target column, on standardised inputs/targets.

    Closed form: w = (X^T X + alpha I)^{-1} X^T Y with X, Y standardised by training statistics.

    Args:
        x_train: (N, D). y_train: (N, K). x_test: (M, D). y_test: (M, K).
        alpha: ridge weight (in units of samples: X^T X has entries ~ N).

    Returns:
        float64 (K,) R^2 = 1 - SSE / SST on the test rows (SST about the test mean); 0 for a
        constant target.
    """
    x_train, x_test = np.asarray(x_train, np.float64), np.asarray(x_test, np.float64)
    y_train, y_test = np.asarray(y_train, np.float64), np.asarray(y_test, np.float64)
    mx, sx = x_train.mean(axis=0), x_train.std(axis=0)
    sx = np.where(sx > 0, sx, 1.0)
    my, sy = y_train.mean(axis=0), y_train.std(axis=0)
    sy = np.where(sy > 0, sy, 1.0)
    xs = (x_train - mx) / sx
    ys = (y_train - my) / sy
    gram = xs.T @ xs + alpha * np.eye(xs.shape[1])
    w = np.linalg.solve(gram, xs.T @ ys)  # (D, K)
    pred = ((x_test - mx) / sx) @ w * sy + my
    sse = np.sum((y_test - pred) ** 2, axis=0)
    sst = np.sum((y_test - y_test.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - sse / sst, 0.0)
    return r2


@dataclass
class FactorPrediction:
    """Feature group -> factor predictability.

    Attributes:
        feature_groups: row names.
        factor_groups: physical group -> factor indices (column order of ``matrix``).
        factor_names: the K factor names.
        per_factor: (G, K) clipped held-out R^2 of each feature group for each factor.
        matrix: (G, H) mean of ``per_factor`` over each physical group's factors.
        diagonal_gap: see module docstring (NaN when no feature group is named like a
            physical group).
        per_group_gap: physical group -> its gap.
    """

    feature_groups: list[str]
    factor_groups: dict[str, list[int]]
    factor_names: list[str]
    per_factor: np.ndarray
    matrix: np.ndarray
    diagonal_gap: float
    per_group_gap: dict[str, float]

    def record(self) -> FactorPredictionResults:
        """The JSON record (``metrics.factor_prediction`` of ``disentanglement.json``)."""
        return FactorPredictionResults(
            feature_groups=self.feature_groups,
            factor_groups={
                g: [self.factor_names[i] for i in idx] for g, idx in self.factor_groups.items()
            },
            matrix=self.matrix.tolist(),
            per_factor={
                g: dict(zip(self.factor_names, row.tolist(), strict=True))
                for g, row in zip(self.feature_groups, self.per_factor, strict=True)
            },
            diagonal_gap=self.diagonal_gap,
            per_group_gap=self.per_group_gap,
        )


def factor_prediction_matrix(
    features: Mapping[str, np.ndarray],
    factors: np.ndarray,
    factor_names: Sequence[str],
    *,
    random_state: RandomStateLike,
    prefixes: Mapping[str, str] | None = None,
    test_fraction: float = 0.25,
    alpha: float = 1.0,
) -> FactorPrediction:
    """Held-out ridge R^2 of every feature group for every factor, pooled by physical group.

    Args:
        features: group name -> (N, D_g).
        factors: (N, K) ground truth (continuous or discrete numbers).
        factor_names: K names, mapped to physical groups by prefix (module docstring).
        random_state: the train/test split (one split shared by every group and factor).
        prefixes: extra ``prefix -> group`` rules, tried before the defaults.
        test_fraction: held-out fraction of rows.
        alpha: ridge weight on standardised features.

    Returns:
        `FactorPrediction`.
    """
    factors = np.asarray(factors, dtype=np.float64)
    if factors.ndim != 2 or len(factor_names) != factors.shape[1]:
        raise ValueError(
            f"factors {factors.shape} and {len(factor_names)} factor names do not match"
        )
    n = factors.shape[0]
    rs = as_random_state(random_state)
    perm = rs.permutation(n)
    n_test = int(round(test_fraction * n))
    if n_test < 2 or n - n_test < 2:
        raise ValueError(
            f"too few rows ({n}) for a held-out split with test_fraction={test_fraction}"
        )
    te, tr = perm[:n_test], perm[n_test:]
    groups = assign_factor_groups(factor_names, prefixes)
    names = list(features)
    per_factor = np.zeros((len(names), factors.shape[1]))
    for i, g in enumerate(names):
        x = np.asarray(features[g])
        if x.shape[0] != n:
            raise ValueError(f"feature group {g!r} has {x.shape[0]} rows, factors {n}")
        per_factor[i] = np.clip(ridge_r2(x[tr], factors[tr], x[te], factors[te], alpha), 0.0, 1.0)
    matrix = np.stack([per_factor[:, idx].mean(axis=1) for idx in groups.values()], axis=1)
    gaps: dict[str, float] = {}
    cols = list(groups)
    for h in cols:
        if h == OTHER_GROUP or h not in names or len(names) < 2:
            continue
        j, i = cols.index(h), names.index(h)
        others = np.delete(matrix[:, j], i)
        gaps[h] = float(matrix[i, j] - others.max())
    gap = float(np.mean(list(gaps.values()))) if gaps else float("nan")
    return FactorPrediction(names, groups, list(factor_names), per_factor, matrix, gap, gaps)
