"""Benchmark the clustering protocol: one shared ward tree vs. re-clustering per attribute.

    python bench/bench_cluster.py [--n 6000] [--dim 512] [--attributes 40] [--n_large 20000]

Inputs: CelebA-sized synthetic features (n x dim float32, as depth+albedo of 2 x 256) and
``attributes`` binary labels, both driven by 16 shared latent factors, so the metrics are far from
trivial. Each attribute has both values.

Workloads, measured in the same run:
- ours: `clustering.protocol.evaluate_hac` (one scipy ward tree, cut per attribute, pure metrics);
- naive (the release's cluster_eval_celeba.py loop, fixed for current libraries): per attribute
  sklearn ``AgglomerativeClustering(n_clusters=k, linkage="ward").fit`` and sklearn/scipy metrics
  (scipy ``mode`` purity, ``precision/recall/f1_score(average="weighted")``,
  ``normalized_mutual_info_score``, ``linear_sum_assignment``).
It prints both times, whether every partition (compared with a second, untimed tree of ours) and
metric is identical, a ``ratio:`` line
(naive / ours; goal >= 20x) and the time and peak memory of ours at ``--n_large`` samples.
``--naive_attributes k`` times the naive loop on the first k attributes only and extrapolates
(the metric comparison then covers those k).
"""

from __future__ import annotations

import resource
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import mode
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import (
    confusion_matrix,
    f1_score,
    normalized_mutual_info_score,
    precision_score,
    recall_score,
)

from clustering.protocol import evaluate_hac
from evalkit import METRIC_NAMES, contingency, cut_tree, hac_memory_bytes, ward_linkage
from unsup3d import cli


def make_data(n: int, dim: int, n_attr: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features float32 (n, dim) and binary attributes int64 (n, n_attr) from shared factors."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 16))  # (n, 16)
    x = latent @ rng.normal(size=(16, dim)) + 2.0 * rng.normal(size=(n, dim))
    logits = latent @ rng.normal(size=(16, n_attr)) + rng.normal(size=(n, n_attr))
    thresholds = np.quantile(logits, rng.uniform(0.3, 0.9, n_attr), axis=0).diagonal()
    labels = (logits > thresholds).astype(np.int64)  # prevalence 10% .. 70%
    return x.astype(np.float32), labels


def naive_scores(x: np.ndarray, column: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """One attribute the release's way: re-cluster, then sklearn/scipy metrics."""
    k = len(np.unique(column))
    clusters = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(x).labels_
    predicted = np.empty_like(column)
    hits = 0
    for c in np.unique(clusters):
        members = column[clusters == c]
        top = mode(members, keepdims=True)[0][0]
        predicted[clusters == c] = top
        hits += int(np.sum(members == top))
    # cluster ids as labels of a square confusion (labels first, then clusters)
    ids = np.unique(np.r_[column, clusters])
    conf = confusion_matrix(column, clusters, labels=ids)
    rows, cols = linear_sum_assignment(conf, maximize=True)
    scores = {
        "cluster_accuracy": hits / len(column),
        "hungarian_accuracy": conf[rows, cols].sum() / len(column),
        "precision": precision_score(column, predicted, average="weighted", zero_division=0),
        "recall": recall_score(column, predicted, average="weighted", zero_division=0),
        "f1": f1_score(column, predicted, average="weighted", zero_division=0),
        "nmi": normalized_mutual_info_score(column, clusters),
    }
    return clusters, scores


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    table = contingency(a, b)
    return table.shape[0] == table.shape[1] and np.count_nonzero(table) == table.shape[0]


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux: KiB


def main() -> None:
    parser = cli.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        parents=[cli.shared_flags("seed", helps={"seed": "data seed"})],
    )
    parser.add_argument("--n", type=int, default=6000, help="samples (CelebA protocol: 6000)")
    parser.add_argument("--dim", type=int, default=512, help="feature width (depth+albedo: 512)")
    parser.add_argument("--attributes", type=int, default=40, help="binary attributes (40)")
    parser.add_argument(
        "--naive_attributes",
        type=int,
        default=None,
        help="time the naive loop on this many attributes and extrapolate (default: all)",
    )
    parser.add_argument(
        "--n_large", type=int, default=20000, help="also time ours at this N (0: skip)"
    )
    args = parser.parse_args()

    x, labels = make_data(args.n, args.dim, args.attributes, args.seed)
    names = [f"attr{i:02d}" for i in range(args.attributes)]
    print(
        f"CelebA-sized protocol: {args.n} x {args.dim} features, {args.attributes} binary "
        f"attributes (prevalence {labels.mean(0).min():.2f}..{labels.mean(0).max():.2f})"
    )

    t0 = time.perf_counter()
    ours = evaluate_hac(x, labels, names)
    t_ours = time.perf_counter() - t0
    sec = ours["seconds"]
    print(
        f"ours: {t_ours:.2f} s (one ward tree {sec['linkage']:.2f} s; "
        f"{args.attributes} cuts + metrics {sec['cut_and_score']:.3f} s)"
    )
    tree_parts = cut_tree(ward_linkage(x), 2) if args.attributes else None

    n_naive = args.attributes if args.naive_attributes is None else args.naive_attributes
    n_naive = max(1, min(n_naive, args.attributes))
    t0 = time.perf_counter()
    max_diff, identical_parts = 0.0, 0
    for a in range(n_naive):
        clusters, ref = naive_scores(x, labels[:, a])
        identical_parts += same_partition(clusters, tree_parts)
        for m in METRIC_NAMES:
            max_diff = max(max_diff, abs(float(ref[m]) - ours["attributes"][names[a]][m]))
    t_naive_run = time.perf_counter() - t0
    t_naive = t_naive_run * args.attributes / n_naive
    note = "" if n_naive == args.attributes else f" (extrapolated from {n_naive} attributes)"
    print(
        f"naive: {t_naive:.1f} s{note} ({t_naive_run / n_naive:.2f} s per attribute: "
        "AgglomerativeClustering(ward).fit + sklearn/scipy metrics)"
    )
    print(
        f"identical: partitions {identical_parts}/{n_naive} attributes; metrics max |diff| = "
        f"{max_diff:.1e} over {n_naive * len(METRIC_NAMES)} values"
    )
    print(
        "mean over attributes (ours): "
        + ", ".join(f"{m}={ours['mean'][m]:.4f}" for m in METRIC_NAMES)
    )
    print(f"ratio: naive / ours = {t_naive / t_ours:.1f}x (goal >= 20x)")
    print(f"peak RSS so far: {peak_rss_gb():.2f} GB")

    if args.n_large:
        x, labels = make_data(args.n_large, args.dim, args.attributes, args.seed + 1)
        est = hac_memory_bytes(args.n_large, args.dim) / 1e9
        t0 = time.perf_counter()
        big = evaluate_hac(x, labels, names)
        t_big = time.perf_counter() - t0
        print(
            f"{args.n_large} samples: ours {t_big:.1f} s (ward tree {big['seconds']['linkage']:.1f} s, "
            f"{args.attributes} cuts + metrics {big['seconds']['cut_and_score']:.2f} s); "
            f"memory estimate {est:.1f} GB, peak RSS {peak_rss_gb():.2f} GB"
        )


if __name__ == "__main__":
    main()
