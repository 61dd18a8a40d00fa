"""The paper's clustering protocol on arrays: prepare the units, cluster, score, aggregate.

Protocol (ARCHITECTURE.md §3, reference_behaviour.md §7.1):

1. units: samples, or tracks (the mean feature of each track's frames) when track ids are given;
   every frame of a track must carry the same labels;
2. optional z-scoring of each feature dimension (the paper does not scale features);
3. ward HAC with as many clusters as each label column has values. Label columns (e.g. CelebA's 40
   attributes) share one linkage tree, cut once per distinct number of clusters; with binary
   attributes every cut has 2 clusters, so the paper's "clustering 40 times" is one tree scored
   40 times;
4. the metrics of `evalkit.metrics` per column, and their mean over columns;
5. with ``runs`` > 1 and ``subsample`` = n: repeat on n units drawn without replacement with
   seeds ``seed``, ``seed + 1``, ...; report the mean and the standard deviation over runs.

``method="finch"`` replaces step 3 by FINCH: every partition of its hierarchy is scored, and the
one whose number of clusters is nearest each column's label count is that column's result.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from clustering.finch_hierarchy import finch_partitions
from evalkit import METRIC_NAMES, cut_tree, hac_memory_bytes, score_partition, ward_linkage
from unsup3d.api import UserError

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("hac", "finch")


@dataclass(frozen=True)
class ProtocolOptions:
    """Options of `run_protocol` (the CLI flags of the same names)."""

    method: str = "hac"  # "hac" (ward) or "finch"
    hac_backend: str = "scipy"  # "scipy" (sklearn's tree) or "fastcluster" (O(N·D) memory)
    standardize: bool = False  # z-score each feature dimension before clustering
    runs: int = 1  # repetitions; > 1 needs subsample
    subsample: int | None = None  # units drawn per run without replacement; None = all
    seed: int = 0  # seed of run r is seed + r
    finch_distance: str = "cosine"  # FINCH first-neighbour metric
    max_memory_bytes: int | None = None  # HAC memory limit; None = 90% of available memory


def as_columns(labels: np.ndarray) -> np.ndarray:
    """(N,) or (N, A) labels -> (N, A) int64."""
    labels = np.asarray(labels, dtype=np.int64)
    return labels[:, None] if labels.ndim == 1 else labels  # (N,) -> (N, 1)


def average_tracks(
    x: np.ndarray,
    labels: np.ndarray,
    track_ids: np.ndarray,
    label_names: Sequence[str],
    source: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average the features of each track; a track's labels are its frames' (shared) labels.

    Args:
        x: (N, D) per-frame features.
        labels: (N, A) per-frame labels.
        track_ids: (N,) integer track of each frame.
        label_names: A column names (for messages).
        source: file name for messages.

    Returns:
        (features float64 (T, D), labels int64 (T, A), track id of each row (T,)), tracks in
        increasing id order.

    Raises:
        UserError: a track whose frames carry different labels.
    """
    track_ids = np.asarray(track_ids).reshape(-1)
    if track_ids.shape[0] != x.shape[0]:
        raise UserError(
            f"{source}: {track_ids.shape[0]} track ids for {x.shape[0]} samples; "
            "give one track id per sample"
        )
    order = np.argsort(track_ids, kind="stable")
    sorted_ids = track_ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    counts = np.diff(np.r_[starts, sorted_ids.size])
    xs = np.asarray(x, dtype=np.float64)[order]
    means = np.add.reduceat(xs, starts, axis=0) / counts[:, None]  # (T, D)
    ys = labels[order]
    lo = np.minimum.reduceat(ys, starts, axis=0)  # (T, A)
    hi = np.maximum.reduceat(ys, starts, axis=0)
    bad = np.argwhere(lo != hi)
    if bad.size:
        t, a = bad[0]
        raise UserError(
            f"{source}: track {sorted_ids[starts[t]]} has frames with different "
            f"'{label_names[a]}' labels ({lo[t, a]} and {hi[t, a]}) in {len(bad)} "
            "track/label pair(s); fix the track ids, or cluster frames with --tracks off"
        )
    return means, lo, sorted_ids[starts]


def prepare_units(
    x: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    track_ids: np.ndarray | None,
    tracks: str,
    source: str,
) -> tuple[np.ndarray, np.ndarray, str]:
    """The units to cluster (protocol step 1): the samples, or the means of their tracks.

    Args:
        x: (N, D) per-sample features. labels: (N, A) labels. label_names: A names.
        track_ids: (N,) integer track of each sample, or None.
        tracks: ``"auto"`` (tracks when ``track_ids`` is given), ``"on"`` (require them) or
            ``"off"`` (samples).
        source: file name for messages.

    Returns:
        (features (U, D), labels (U, A), unit: ``"track"`` or ``"sample"``).

    Raises:
        UserError: ``tracks="on"`` without track ids; a track whose frames disagree on a label.
    """
    if tracks == "on" and track_ids is None:
        raise UserError(
            f"{source}: --tracks on but the file has no track_ids; give --track_ids FILE "
            "or use --tracks auto/off"
        )
    if track_ids is None or tracks == "off":
        return x, labels, "sample"
    x, labels, _ = average_tracks(x, labels, track_ids, label_names, source)
    return x, labels, "track"


def standardize(x: np.ndarray) -> np.ndarray:
    """Z-score each column; constant columns are only centred. Returns float64 (N, D)."""
    x = np.asarray(x, dtype=np.float64)
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def check_labels(labels: np.ndarray, label_names: Sequence[str], where: str) -> list[int]:
    """Number of clusters per label column; raise `UserError` on an unusable column.

    Args:
        labels: (N, A) labels of the units that will be clustered.
        label_names: A names.
        where: what the units are, for messages (file name, run).

    Returns:
        k per column = number of distinct values.
    """
    n = labels.shape[0]
    ks = []
    for a, name in enumerate(label_names):
        values = np.unique(labels[:, a])
        if values.size < 2:
            raise UserError(
                f"{where}: label '{name}' has a single value ({values[0]}) over {n} samples; "
                "clustering needs at least 2 classes (drop it with --attributes, or use more data)"
            )
        ks.append(int(values.size))
    return ks


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


def check_memory(n: int, dim: int, options: ProtocolOptions, where: str) -> None:
    """Refuse a ward HAC whose distance matrix would not fit in memory (estimate in message)."""
    need = hac_memory_bytes(n, dim, options.hac_backend)
    if options.max_memory_bytes is not None:
        limit, why = options.max_memory_bytes, "--max_memory_gb"
    else:
        avail = available_memory_bytes()
        if avail is None:
            return
        limit, why = int(0.9 * avail), "90% of the memory available now"
    if need > limit:
        what = (
            "for the pairwise distances"
            if options.hac_backend == "scipy"
            else "for the fastcluster vector method"
        )
        raise UserError(
            f"{where}: ward HAC on {n:,} samples needs ~{need / 1e9:.1f} GB {what}, more than "
            f"the {limit / 1e9:.1f} GB allowed ({why}); use --method finch (memory ~N·D), "
            "--hac_backend fastcluster (memory ~N·D, slower), --subsample N, or raise "
            "--max_memory_gb"
        )


def mean_over(items: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per-metric mean of several metric dicts."""
    return {m: float(np.mean([it[m] for it in items])) for m in METRIC_NAMES}


def evaluate_hac(
    x: np.ndarray, labels: np.ndarray, label_names: Sequence[str], backend: str = "scipy"
) -> dict[str, Any]:
    """Ward HAC once, cut per label column's number of classes, scored per column.

    Args:
        x: (N, D) features.
        labels: (N, A) labels; every column has >= 2 values and at most N.
        label_names: A names.
        backend: see `evalkit.hac.ward_linkage`.

    Returns:
        {"attributes": {name: {"n_clusters": k, <metrics>}}, "mean": {<metrics>},
        "seconds": {"linkage": s, "cut_and_score": s}}.
    """
    t0 = time.perf_counter()
    try:
        tree = ward_linkage(x, backend)
    except ModuleNotFoundError:
        raise UserError(
            f"--hac_backend {backend}: the {backend} package is not installed; "
            f"pip install {backend}, or use --hac_backend scipy"
        ) from None
    t1 = time.perf_counter()
    cuts: dict[int, np.ndarray] = {}
    attributes: dict[str, dict[str, Any]] = {}
    for a, name in enumerate(label_names):
        column = labels[:, a]
        k = int(np.unique(column).size)
        if k not in cuts:
            cuts[k] = cut_tree(tree, k)
        attributes[name] = {"n_clusters": k, **score_partition(column, cuts[k])}
    t2 = time.perf_counter()
    log.info(
        "ward linkage on %s: %.2f s; %d cut(s) scored in %.3f s",
        x.shape,
        t1 - t0,
        len(cuts),
        t2 - t1,
    )
    return {
        "attributes": attributes,
        "mean": mean_over(list(attributes.values())),
        "seconds": {"linkage": t1 - t0, "cut_and_score": t2 - t1},
    }


def evaluate_finch(
    x: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    distance: str = "cosine",
    seed: int = 0,
) -> dict[str, Any]:
    """FINCH once; every partition scored per column; per column the partition nearest k.

    Args:
        x: (N, D) features.
        labels: (N, A) labels.
        label_names: A names.
        distance: FINCH's first-neighbour metric.
        seed: FINCH's random state.

    Returns:
        {"levels": [{"level": i, "n_clusters": c, "attributes": {name: <metrics>}}],
        "attributes": {name: {"n_clusters": k, "level": i, "finch_clusters": c, <metrics>}},
        "mean": {<metrics of the nearest partitions>}, "seconds": {...}}. Levels are finest
        first; among equally near partitions the finer one is chosen.
    """
    t0 = time.perf_counter()
    parts, sizes = finch_partitions(x, distance=distance, seed=seed)
    t1 = time.perf_counter()
    levels = []
    for i, c in enumerate(sizes):
        scores = {
            name: score_partition(labels[:, a], parts[:, i]) for a, name in enumerate(label_names)
        }
        levels.append({"level": i, "n_clusters": c, "attributes": scores})
    attributes: dict[str, dict[str, Any]] = {}
    for a, name in enumerate(label_names):
        k = int(np.unique(labels[:, a]).size)
        best = min(range(len(sizes)), key=lambda i: (abs(sizes[i] - k), i))
        attributes[name] = {
            "n_clusters": k,
            "level": best,
            "finch_clusters": sizes[best],
            **levels[best]["attributes"][name],
        }
    t2 = time.perf_counter()
    return {
        "levels": levels,
        "attributes": attributes,
        "mean": mean_over(list(attributes.values())),
        "seconds": {"finch": t1 - t0, "score": t2 - t1},
    }


def run_protocol(
    x: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    options: ProtocolOptions,
    source: str = "features",
) -> dict[str, Any]:
    """Run the protocol (module docstring) on prepared units.

    Args:
        x: (N, D) features of the units (samples or track means), finite.
        labels: (N,) or (N, A) integer labels.
        label_names: A names.
        options: see `ProtocolOptions`.
        source: file name for messages.

    Returns:
        {"method", "options", "n_units", "n_clustered", "runs": [per-run results],
        "attributes": {name: mean over runs}, "mean": {...}} plus ``attributes_std`` and
        ``mean_std`` (sample standard deviation over runs) when runs > 1.

    Raises:
        UserError: unusable labels, too few samples, options that do not fit the data, or a
            HAC that would not fit in memory.
    """
    labels = as_columns(labels)
    label_names = list(label_names)
    n, dim = x.shape
    if labels.shape[0] != n:
        raise UserError(f"{source}: {labels.shape[0]} labels for {n} samples; give one per sample")
    if len(label_names) != labels.shape[1]:
        raise ValueError(f"{len(label_names)} names for {labels.shape[1]} label columns")
    if options.method not in METHODS:
        raise UserError(f"--method {options.method}: unknown; use one of {', '.join(METHODS)}")
    if options.runs < 1:
        raise UserError(f"--runs {options.runs}: must be >= 1")
    if options.runs > 1 and options.subsample is None:
        raise UserError(
            f"--runs {options.runs}: the clustering is deterministic, so every run on all "
            "samples is the same; add --subsample N to draw N samples per run"
        )
    size = n if options.subsample is None else options.subsample
    if options.subsample is not None and not 2 <= options.subsample <= n:
        raise UserError(
            f"--subsample {options.subsample}: must be between 2 and the {n} available units"
        )
    check_labels(labels, label_names, source)
    k_max = max(int(np.unique(labels[:, a]).size) for a in range(labels.shape[1]))
    if size <= k_max:
        raise UserError(
            f"{source}: {size} samples for {k_max} clusters (a label has {k_max} values), so "
            "every cluster would hold about one sample; clustering needs more samples than "
            "label values (use more data or a larger --subsample)"
        )
    if options.method == "hac":
        check_memory(size, dim, options, source)

    runs = []
    for r in range(options.runs):
        seed = options.seed + r
        if options.subsample is None:
            idx = np.arange(n)
            where = source
        else:
            rng = np.random.default_rng(seed)
            idx = np.sort(rng.choice(n, size=options.subsample, replace=False))
            where = f"{source} (run {r}, seed {seed}, {options.subsample} units)"
        xr, yr = x[idx], labels[idx]
        check_labels(yr, label_names, where)
        if options.standardize:
            xr = standardize(xr)
        if options.method == "hac":
            result = evaluate_hac(xr, yr, label_names, options.hac_backend)
        else:
            result = evaluate_finch(xr, yr, label_names, options.finch_distance, seed)
        result = {"run": r, "seed": seed if options.subsample is not None else None, **result}
        runs.append(result)
        log.info("run %d/%d: mean %s", r + 1, options.runs, _short(result["mean"]))

    out: dict[str, Any] = {
        "method": options.method,
        "options": asdict(options),
        "n_units": n,
        "n_clustered": size,
        "label_names": label_names,
        "runs": runs,
    }
    attributes = {}
    stds = {}
    for name in label_names:
        per_run = [run["attributes"][name] for run in runs]
        attributes[name] = {"n_clusters": per_run[0]["n_clusters"], **mean_over(per_run)}
        if options.method == "finch":
            # the chosen level may differ between runs: one entry per run then
            for key in ("level", "finch_clusters"):
                got = [pr[key] for pr in per_run]
                attributes[name][key] = got[0] if options.runs == 1 else got
        if options.runs > 1:
            stds[name] = _std_over(per_run)
    out["attributes"] = attributes
    out["mean"] = mean_over([run["mean"] for run in runs])
    if options.runs > 1:
        out["attributes_std"] = stds
        out["mean_std"] = _std_over([run["mean"] for run in runs])
    return out


def _std_over(items: Sequence[dict[str, float]]) -> dict[str, float]:
    return {m: float(np.std([it[m] for it in items], ddof=1)) for m in METRIC_NAMES}


def _short(metrics: dict[str, float]) -> str:
    return ", ".join(f"{m}={metrics[m]:.4f}" for m in METRIC_NAMES)
