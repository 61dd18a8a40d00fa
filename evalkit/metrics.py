"""Evaluation metrics as pure functions of arrays: partitions against labels, majority rates,
entropy.

Clustering metrics are computed from one contingency table, so scoring many partitions (40
CelebA attributes, every level of a FINCH hierarchy) costs a few array passes each. Label and
cluster ids may be any integers (negative, non-contiguous); only their equality matters, so each
metric is invariant to renaming clusters and to renaming labels.

Definitions (reference_behaviour.md §7.1):

- cluster accuracy = weighted cluster purity (WCP, the paper's Eq. 8): every cluster votes for its
  majority label; the share of samples carrying their cluster's majority label. It equals the
  weighted recall of the majority-label prediction. It tends to 1 as the number of clusters grows.
- Hungarian accuracy: the best one-to-one matching of clusters to labels
  (`scipy.optimize.linear_sum_assignment`); with more clusters than labels the extra clusters
  count as wrong. The release computed it with a removed sklearn module and never printed it.
- precision / recall / F1: support-weighted averages over the label values of the per-label
  scores of the majority-label prediction, exactly `sklearn.metrics.precision_recall_fscore_support
  (average="weighted")` (with a label that is never predicted scoring precision 0).
- NMI: I(Y; C) / mean(H(Y), H(C)) = `sklearn.metrics.normalized_mutual_info_score` with the
  default ``average_method="arithmetic"``; the paper's formula 2·I/(H(Y)+H(C)) is the same number
  (0.1089 on the release's docstring example).
- majority rate: the accuracy of always predicting the most frequent value (multi-class), or the
  mean over attributes of max(p, 1 - p) (multi-label): the floor a probe must beat.
- entropy: Shannon entropy of a histogram, in nats unless a base is given
  (= `scipy.stats.entropy` of the counts).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

METRIC_NAMES: tuple[str, ...] = (
    "cluster_accuracy",
    "hungarian_accuracy",
    "precision",
    "recall",
    "f1",
    "nmi",
)


def contingency(labels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Count matrix of ground-truth labels against predicted clusters.

    Args:
        labels: (N,) integer ground truth.
        clusters: (N,) integer cluster assignment.

    Returns:
        int64 (L, C): entry [i, j] counts samples with the i-th smallest label value in the j-th
        cluster in order of first appearance. Rows are in sorted-value order, so ties broken by
        position pick the smallest label value (like ``scipy.stats.mode``); columns do not depend
        on the cluster names, so two namings of one partition give the same table and
        bit-identical metrics.
    """
    labels = np.asarray(labels).reshape(-1)
    clusters = np.asarray(clusters).reshape(-1)
    if labels.shape != clusters.shape:
        raise ValueError(f"labels have {labels.size} entries but clusters {clusters.size}")
    if labels.size == 0:
        raise ValueError("empty labels")
    _, y = np.unique(labels, return_inverse=True)
    c = codes_by_first_appearance(clusters)
    n_l, n_c = int(y.max()) + 1, int(c.max()) + 1
    return np.bincount(y * n_c + c, minlength=n_l * n_c).reshape(n_l, n_c)


def codes_by_first_appearance(values: np.ndarray) -> np.ndarray:
    """Renumber values 0..K-1 in order of first appearance.

    Args:
        values: (N,) any comparable values (cluster ids, tree node ids).

    Returns:
        int64 (N,) codes: the first distinct value seen gets 0, the next 1, ...; so two namings
        of one partition get the same codes.
    """
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def weighted_purity(table: np.ndarray) -> float:
    """Weighted cluster purity (the paper's cluster accuracy, Eq. 8) from a contingency table.

    Args:
        table: (L, C) counts from `contingency`.

    Returns:
        sum over clusters of the majority-label count, divided by N; in (0, 1].
    """
    return float(table.max(axis=0).sum() / table.sum())


def majority_labels(table: np.ndarray) -> np.ndarray:
    """Row index (label position) of each cluster's majority label; ties -> the smallest label.

    Args:
        table: (L, C) counts from `contingency`.

    Returns:
        int64 (C,) label positions (indices into the sorted unique label values).
    """
    return table.argmax(axis=0)


def hungarian_accuracy(table: np.ndarray) -> float:
    """Accuracy under the best one-to-one matching of clusters to labels.

    Args:
        table: (L, C) counts from `contingency` (rectangular is fine); for label and cluster
            arrays, ``hungarian_accuracy(contingency(labels, clusters))``.

    Returns:
        matched count / N, in (0, 1].
    """
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def weighted_prf(table: np.ndarray) -> tuple[float, float, float]:
    """Weighted precision, recall and F1 of the majority-label prediction.

    Each sample is predicted as its cluster's majority label; per-label precision, recall and F1
    are averaged weighted by each label's support, as sklearn's ``average="weighted"`` does
    (a label that no cluster predicts has precision 0 and F1 0).

    Args:
        table: (L, C) counts from `contingency`.

    Returns:
        (precision, recall, f1), each in [0, 1].
    """
    n_labels = table.shape[0]
    majority = majority_labels(table)  # (C,)
    # predicted-vs-true confusion: merge the clusters that predict the same label
    tp = np.zeros(n_labels, dtype=np.float64)
    predicted = np.zeros(n_labels, dtype=np.float64)
    np.add.at(tp, majority, table[majority, np.arange(table.shape[1])])
    np.add.at(predicted, majority, table.sum(axis=0))
    support = table.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / denom, 0.0)
    weights = support / support.sum()
    return (
        float(weights @ precision),
        float(weights @ recall),
        float(weights @ f1),
    )


def entropy(counts: np.ndarray, base: float | None = None) -> float:
    """Shannon entropy of a histogram (``scipy.stats.entropy`` of the counts).

    Args:
        counts: (K,) non-negative counts (or unnormalised probabilities); zeros contribute 0.
            For a label array: ``entropy(np.unique(labels, return_counts=True)[1])``.
        base: logarithm base; None = natural (nats).

    Returns:
        H >= 0; 0 for a single non-empty bin.
    """
    counts = np.asarray(counts, dtype=np.float64).reshape(-1)
    if counts.size == 0 or np.any(counts < 0) or not counts.sum() > 0:
        raise ValueError("entropy needs non-negative counts with a positive sum")
    p = counts[counts > 0] / counts.sum()
    h = float(-(p * np.log(p)).sum())
    return h if base is None else h / float(np.log(base))


def nmi(table: np.ndarray) -> float:
    """Normalised mutual information, arithmetic normalisation (sklearn's default).

    Args:
        table: (L, C) counts from `contingency`.

    Returns:
        I(Y; C) / ((H(Y) + H(C)) / 2) in [0, 1] (clipped at 1, where sklearn can return
        1 + 4e-16); 1.0 when both sides are a single class (as sklearn), 0.0 when they share
        no information.
    """
    n_l, n_c = table.shape
    if n_l == n_c == 1:
        return 1.0
    n = float(table.sum())
    row = table.sum(axis=1).astype(np.float64)
    col = table.sum(axis=0).astype(np.float64)
    i, j = np.nonzero(table)
    nij = table[i, j].astype(np.float64)
    mi = float((nij / n * (np.log(nij * n) - np.log(row[i] * col[j]))).sum())
    mi = max(mi, 0.0)  # rounding can give -1e-17 for independent partitions
    if mi == 0.0:
        return 0.0
    denom = (entropy(row) + entropy(col)) / 2
    # rounding can put a perfect match at 1 + 4e-16; keep the documented range
    return float(min(mi / max(denom, np.finfo(np.float64).eps), 1.0))


def score_partition(labels: np.ndarray, clusters: np.ndarray) -> dict[str, float]:
    """Every metric of `METRIC_NAMES` for one partition.

    Args:
        labels: (N,) integer ground truth.
        clusters: (N,) integer cluster ids.

    Returns:
        metric name -> value.
    """
    table = contingency(labels, clusters)
    precision, recall, f1 = weighted_prf(table)
    return {
        "cluster_accuracy": weighted_purity(table),
        "hungarian_accuracy": hungarian_accuracy(table),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "nmi": nmi(table),
    }


def majority_prediction(labels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Per-sample predicted label: the majority ground-truth label of the sample's cluster.

    Args:
        labels: (N,) integer ground truth.
        clusters: (N,) integer cluster ids.

    Returns:
        (N,) predicted label values (same dtype as ``labels``).
    """
    labels = np.asarray(labels).reshape(-1)
    values = np.unique(labels)
    c = codes_by_first_appearance(np.asarray(clusters).reshape(-1))
    return values[majority_labels(contingency(labels, clusters))][c]


def majority_rate(labels: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Accuracy of predicting the most frequent value.

    Args:
        labels: (N,) class indices (multi-class) or (N, A) 0/1 (multi-label).

    Returns:
        (rate, per-attribute rates (A,) for multi-label, else None). For multi-label the rate is
        the mean over attributes of max(p, 1 - p), p the attribute's positive fraction.
    """
    labels = np.asarray(labels)
    if labels.ndim == 1:
        _, counts = np.unique(labels, return_counts=True)
        return float(counts.max() / labels.shape[0]), None
    positive = (labels == 1).mean(axis=0)  # (A,)
    per_attribute = np.maximum(positive, 1.0 - positive)
    return float(per_attribute.mean()), per_attribute.astype(np.float64)


def majority_class(labels: np.ndarray) -> tuple[int | str, float]:
    """The most frequent label of a split (the smallest on ties) and its rate, the accuracy of
    always predicting it on this split.

    Args:
        labels: (N,) labels, N >= 1.

    Returns:
        (class, rate in [0, 1]); the class as a Python int (or str for string labels).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be (N,) integer labels, got {labels.shape}")
    if labels.size == 0:
        raise ValueError("majority_class needs at least one label")
    values, counts = np.unique(labels, return_counts=True)
    i = int(np.argmax(counts))
    return values[i].item(), float(counts[i] / labels.size)
