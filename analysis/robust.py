"""Robustness to novel light and view (paper §5): pure functions on feature arrays.

- `probe_shift`: a linear probe trained on in-distribution features, scored on the
  in-distribution test split and on the ``ood`` split (light/view outside the training ranges).
- `cluster_shift`: ward HAC (as many clusters as labels) scored by NMI and Hungarian accuracy on
  each split separately.

The probe, ward HAC, NMI, Hungarian accuracy and majority class are the evaluation kit's
(`evalkit`).
- `group_ablation`: `probe_shift` for several group sets, e.g. depth+albedo (the paper's choice)
  versus all four groups: the paper argues that leaving light/view features out makes decisions
  robust to light/view changes.
- `feature_invariance`: how far each group's features move when the same scene is re-rendered
  with a new light (or view). ``relative_change`` = mean_i ||f'_i - f_i|| / ||f_i||;
  ``change_vs_spread`` = RMS_i ||f'_i - f_i|| / sqrt(2 tr Cov(f)), i.e. the movement relative to
  the RMS distance between two random samples of the group (0 = invariant, ~1 = as far as an
  unrelated sample), which is comparable across groups whatever their scale. The ideal after a
  light change: depth/albedo/view ~ 0, light large.

`probe_robustness` and `file_invariance` run them on feature files, as ``robustness.py`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from analysis.feature_files import group_sets, label_column
from analysis.metrics import RandomStateLike, as_random_state
from analysis.records import (
    ClusterScores,
    ClusterShift,
    FeatureInvariance,
    GroupInvariance,
    ProbeShift,
    RobustnessMetrics,
)
from evalkit import (
    contingency,
    fit_linear_probe,
    hungarian_accuracy,
    majority_class,
    nmi,
    ward_clusters,
)
from unsup3d.api import FeatureSet, UserError


def _labels_1d(y: np.ndarray, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be (N,) integer labels, got {y.shape}")
    return y


def probe_shift(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    ood_x: np.ndarray,
    ood_y: np.ndarray,
    *,
    random_state: RandomStateLike,
    c: float = 1.0,
    max_iter: int = 2000,
) -> ProbeShift:
    """The kit's linear probe (`evalkit.fit_linear_probe`: logistic regression standardised on
    the training features) scored on both splits, and each split's majority-class chance.

    Args:
        train_x: (N, F) in-distribution training features; train_y: (N,) labels.
        test_x, test_y: in-distribution test split. ood_x, ood_y: the ``ood`` split.
        random_state: seeds the solver.
        c: inverse L2 strength of the logistic regression.

    Returns:
        `ProbeShift`.
    """
    train_y = _labels_1d(train_y, "train labels")
    test_y, ood_y = _labels_1d(test_y, "test labels"), _labels_1d(ood_y, "ood labels")
    probe = fit_linear_probe(
        train_x, train_y, c=c, max_iter=max_iter, random_state=as_random_state(random_state)
    )
    acc_in, acc_ood = probe.accuracy(test_x, test_y), probe.accuracy(ood_x, ood_y)
    train_majority, _ = majority_class(train_y)
    chance = float(np.mean(test_y == train_majority))
    maj_in, chance_in = majority_class(test_y)
    maj_ood, chance_ood = majority_class(ood_y)
    return ProbeShift(
        acc_in, acc_ood, acc_in - acc_ood, chance, chance_in, chance_ood, maj_in, maj_ood
    )


def cluster_scores(x: np.ndarray, y: np.ndarray) -> ClusterScores:
    """Ward HAC (`evalkit.ward_clusters`) with as many clusters as labels; NMI (arithmetic) and
    Hungarian accuracy of the partition (`evalkit`)."""
    y = _labels_1d(y, "labels")
    k = len(np.unique(y))
    if k < 2:
        raise ValueError("clustering needs at least two distinct labels")
    table = contingency(y, ward_clusters(np.asarray(x, dtype=np.float64), k))
    return ClusterScores(nmi=nmi(table), hungarian_accuracy=hungarian_accuracy(table))


def cluster_shift(
    test_x: np.ndarray, test_y: np.ndarray, ood_x: np.ndarray, ood_y: np.ndarray
) -> ClusterShift:
    """`cluster_scores` on the in-distribution test split and on the OOD split, and the drop."""
    a = cluster_scores(test_x, test_y)
    b = cluster_scores(ood_x, ood_y)
    drop = ClusterScores(a.nmi - b.nmi, a.hungarian_accuracy - b.hungarian_accuracy)
    return ClusterShift(a, b, drop)


def group_ablation(
    train: Mapping[str, np.ndarray],
    train_y: np.ndarray,
    test: Mapping[str, np.ndarray],
    test_y: np.ndarray,
    ood: Mapping[str, np.ndarray],
    ood_y: np.ndarray,
    group_sets: Mapping[str, Sequence[str]],
    *,
    random_state: RandomStateLike,
    c: float = 1.0,
) -> dict[str, ProbeShift]:
    """`probe_shift` for each named set of feature groups (e.g. ``{"depth+albedo": [...],
    "all": [...]}``); each set's groups are concatenated in the listed order.

    Args:
        train, test, ood: group name -> (N_split, D_g) features of each split.
        random_state: one int seed or stream; each set gets the same seed when an int is given.

    Returns:
        set name -> `ProbeShift`.
    """
    out: dict[str, ProbeShift] = {}
    for name, groups in group_sets.items():
        missing = [g for g in groups if g not in train or g not in test or g not in ood]
        if missing or not groups:
            raise ValueError(f"group set {name!r}: groups {missing or groups} missing")

        def cat(fs: Mapping[str, np.ndarray], groups: Sequence[str] = groups) -> np.ndarray:
            return np.concatenate([np.asarray(fs[g], dtype=np.float64) for g in groups], axis=1)

        rs = random_state if isinstance(random_state, np.random.RandomState) else int(random_state)
        out[name] = probe_shift(
            cat(train), train_y, cat(test), test_y, cat(ood), ood_y, random_state=rs, c=c
        )
    return out


def feature_invariance(
    before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray]
) -> dict[str, GroupInvariance]:
    """Per-group movement of features between an image and its re-render with a new light/view.

    Args:
        before: group -> (N, D_g) features of the original images.
        after: group -> (N, D_g) features of the same scenes re-rendered (row i = scene i).

    Returns:
        group -> `GroupInvariance` (groups present in both).
    """
    out: dict[str, GroupInvariance] = {}
    for g, f in before.items():
        if g not in after:
            continue
        f = np.asarray(f, dtype=np.float64)
        f2 = np.asarray(after[g], dtype=np.float64)
        if f.shape != f2.shape or f.ndim != 2:
            raise ValueError(f"group {g!r}: before {f.shape} and after {f2.shape} differ")
        move = np.linalg.norm(f2 - f, axis=1)
        norm = np.linalg.norm(f, axis=1)
        ok = norm > 0
        rel = float(np.mean(move[ok] / norm[ok])) if ok.any() else float("nan")
        spread = np.sqrt(2.0 * np.sum(np.var(f, axis=0, ddof=1))) if f.shape[0] > 1 else 0.0
        vs = float(np.sqrt(np.mean(move**2)) / spread) if spread > 0 else float("nan")
        out[g] = GroupInvariance(rel, vs, int(ok.sum()))
    if not out:
        raise ValueError("before and after share no feature group")
    return out


# --------------------------------------------------------------------------------------------
# Feature files (robustness.py)

NO_LABELS = "the probe needs integer labels in the file"


def probe_robustness(
    files: Sequence[tuple[FeatureSet, str]],
    *,
    label: str | None,
    group_set_specs: Sequence[str],
    random_state: int,
    c: float = 1.0,
    cluster: bool = True,
) -> RobustnessMetrics:
    """`group_ablation` (and `cluster_shift` per set) of the (train, test, ood) feature files.

    Args:
        files: (feature set, file name) of the train, test and ood splits.
        label: the label column (None: the first).
        group_set_specs: ``--group_sets`` values, e.g. ``["depth,albedo", "all"]``.
        cluster: also ward-HAC each set on the test and ood splits.

    Returns:
        `RobustnessMetrics` with ``label``, ``probe`` and (with ``cluster``) ``cluster``.
    """
    (train, _), (test, _), (ood, _) = files
    sets = group_sets(group_set_specs, files)
    (ytr, name), (yte, _), (yood, _) = (
        label_column(fs, label, src, NO_LABELS) for fs, src in files
    )
    probe = group_ablation(
        train.features, ytr, test.features, yte, ood.features, yood, sets,
        random_state=random_state, c=c,
    )  # fmt: skip
    out = RobustnessMetrics(label=name, probe=probe)
    if cluster:
        out.cluster = {
            k: cluster_shift(test.select(groups), yte, ood.select(groups), yood)
            for k, groups in sets.items()
        }
    return out


def file_invariance(
    before: tuple[FeatureSet, str], after: tuple[FeatureSet, str], change: str
) -> FeatureInvariance:
    """`feature_invariance` between two feature files of the same scenes (row i = scene i)."""
    (fb, source_b), (fa, source_a) = before, after
    if len(fb) != len(fa):
        raise UserError(
            f"{source_a}: {len(fa)} rows but {source_b} has {len(fb)}; row i of "
            "both files must be the same scene"
        )
    return FeatureInvariance(change, feature_invariance(fb.features, fa.features))
