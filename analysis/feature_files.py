"""What the analysis CLIs read from feature files (`unsup3d.api.FeatureSet`): label columns,
group sets and row subsets, with one-line errors naming the file and the flag."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unsup3d.api import FeatureSet, UserError


def label_matrix(fs: FeatureSet, source: str, why: str) -> tuple[np.ndarray, list[str]]:
    """The labels as (N, A) and their names (``attr_<i>`` for unnamed columns).

    Args:
        source: the file, for the message. why: the fix when the file has no labels.

    Raises:
        UserError: the file has no labels.
    """
    if fs.labels is None:
        raise UserError(f"{source}: no labels; {why}")
    labels = fs.labels if fs.labels.ndim == 2 else fs.labels[:, None]
    default = ["label"] if fs.labels.ndim == 1 else [f"attr_{i}" for i in range(labels.shape[1])]
    return labels, list(fs.label_names) or default


def label_column(fs: FeatureSet, name: str | None, source: str, why: str) -> tuple[np.ndarray, str]:
    """The label column ``name`` (``--label``; None: the first column) and its name."""
    labels, names = label_matrix(fs, source, why)
    if name is None:
        return labels[:, 0], names[0]
    if name not in names:
        raise UserError(f"--label {name}: not in {source}; available: {', '.join(names)}")
    return labels[:, names.index(name)], name


def group_sets(
    specs: Sequence[str], files: Sequence[tuple[FeatureSet, str]]
) -> dict[str, list[str]]:
    """``--group_sets`` (e.g. ``["depth,albedo", "all"]``) -> {``depth+albedo``: [...], ``all``:
    [...]}, each set resolved in the first file and checked in the others."""
    (first, source), *others = files
    sets = {}
    for spec in specs:
        groups = first.resolve_groups(spec, source)
        for fs, src in others:
            fs.resolve_groups(groups, src)
        sets["+".join(groups) if spec != "all" else "all"] = groups
    return sets


def subsample(
    fs: FeatureSet, groups: Sequence[str], max_samples: int, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray | None, np.ndarray]:
    """A random subset of at most ``max_samples`` rows (0: all), in file order.

    Returns:
        (group -> float64 (n, D_g) features, float64 (n, K) factors or None, (n,) row indices).
    """
    n = len(fs)
    idx = np.arange(n)
    if max_samples and n > max_samples:
        idx = np.sort(np.random.RandomState(seed).choice(n, max_samples, replace=False))
    feats = {g: fs.features[g][idx].astype(np.float64) for g in groups}
    factors = None if fs.factors is None else fs.factors[idx].astype(np.float64)
    return feats, factors, idx
