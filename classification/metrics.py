"""Probe metrics: pure functions on NumPy arrays (no torch, no I/O).

Multi-label (sigmoid heads): accuracy at a probability threshold, per attribute and its mean.
Multi-class (softmax heads): top-1 accuracy. The majority-class rate, the floor a probe must beat
to have learned anything, is `evalkit.majority_rate`.
"""

from __future__ import annotations

import numpy as np


def multilabel_accuracy(
    probs: np.ndarray, labels: np.ndarray, threshold: float = 0.5
) -> tuple[float, np.ndarray]:
    """Accuracy of thresholded probabilities against 0/1 labels.

    Args:
        probs: (N, A) sigmoid probabilities in [0, 1].
        labels: (N, A) 0/1 targets.
        threshold: a probability above it predicts 1 (the paper: 0.5).

    Returns:
        (mean accuracy over all N*A entries, per-attribute accuracy (A,)). Every attribute has N
        entries, so the mean equals the mean of the per-attribute accuracies.
    """
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    if probs.shape != labels.shape or probs.ndim != 2:
        raise ValueError(f"probs {probs.shape} and labels {labels.shape} must both be (N, A)")
    if probs.shape[0] == 0:
        raise ValueError("no samples to score")
    correct = (probs > threshold) == (labels == 1)  # (N, A)
    per_attribute = correct.mean(axis=0)
    return float(correct.mean()), per_attribute.astype(np.float64)


def top1_accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose highest-scoring class is the label.

    Args:
        logits: (N, K) scores (logits or probabilities; only the argmax matters).
        labels: (N,) class indices in [0, K).
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"logits {logits.shape} must be (N, K) and labels {labels.shape} (N,)")
    if logits.shape[0] == 0:
        raise ValueError("no samples to score")
    return float((logits.argmax(axis=1) == labels).mean())


def mean_std(values: np.ndarray | list[float], axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation (ddof=0) over runs along ``axis``.

    ddof=0 keeps one run well defined (std 0) rather than NaN.
    """
    arr = np.asarray(values, dtype=np.float64)
    return arr.mean(axis=axis), arr.std(axis=axis)
