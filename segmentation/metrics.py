"""Segmentation scores from one confusion matrix summed over the whole evaluation set.

Pure functions on arrays (numpy or torch), no I/O. `confusion_matrix` counts (target, prediction)
pairs; `scores_from_confusion` turns a summed matrix into the scores; `segmentation_scores` does
both at once. Summing the matrix over batches first and scoring once gives the whole set's
numbers, unlike the release's tester, which averaged pixel accuracy over batches.

IoU of class c = TP / (TP + FP + FN); NaN when the class is in neither the prediction nor the
target, and NaN classes are left out of every mean. ``topk_miou`` is the mean of the k highest
per-class IoUs (the paper's "top 10 mIoU"; the release computed a top-5 with an indexing bug).
"""

from __future__ import annotations

from typing import Any

import numpy as np

IGNORE_INDEX = 255  # label of pixels that count nowhere (CelebAMask-HQ / face_parsing convention)
TOPK = 10  # the paper's "top 10 mIoU"


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, on any device
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def confusion_matrix(
    pred: Any, target: Any, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """Pixel counts per (target class, predicted class).

    Args:
        pred: predicted class ids, any shape, integers in [0, num_classes).
        target: true class ids, the same shape; ``ignore_index`` pixels are left out.
        num_classes: C.
        ignore_index: target value that is not counted.

    Returns:
        (C, C) int64, rows = target class, columns = predicted class.

    Raises:
        ValueError: shapes differ, or a value outside [0, C) (other than ignored targets).
    """
    pred, target = _as_numpy(pred), _as_numpy(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} must have the same shape")
    keep = target != ignore_index
    p, t = pred[keep].astype(np.int64).ravel(), target[keep].astype(np.int64).ravel()
    for name, v in (("pred", p), ("target", t)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            bad = v[(v < 0) | (v >= num_classes)][0]
            raise ValueError(f"{name} has class id {bad} outside [0, {num_classes})")
    counts = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def scores_from_confusion(matrix: np.ndarray, topk: int = TOPK) -> dict[str, Any]:
    """mIoU, top-k mIoU, pixel accuracy and per-class IoU of a summed confusion matrix.

    Args:
        matrix: (C, C) counts, rows = target, columns = prediction (`confusion_matrix`).
        topk: k of ``topk_miou`` (capped at the number of classes with an IoU).

    Returns:
        ``per_class_iou`` float (C,) indexed by class id (NaN: class in neither prediction nor
        target), ``miou`` (mean over non-NaN classes), ``topk_miou`` (mean of the k highest),
        ``pixel_accuracy`` (correct / counted pixels); every score NaN when nothing was counted.
    """
    m = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(m)
    union = m.sum(0) + m.sum(1) - tp  # TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
    present = np.sort(iou[~np.isnan(iou)])[::-1]  # highest first
    k = min(int(topk), present.size)
    total = m.sum()
    return {
        "per_class_iou": iou,
        "miou": float(present.mean()) if present.size else float("nan"),
        "topk_miou": float(present[:k].mean()) if k else float("nan"),
        "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
    }


def segmentation_scores(
    pred: Any,
    target: Any,
    num_classes: int,
    topk: int = TOPK,
    ignore_index: int = IGNORE_INDEX,
) -> dict[str, Any]:
    """Scores of predictions over a whole evaluation set (one confusion matrix).

    Args:
        pred: (N, H, W) (or any shape) predicted class ids, numpy array or torch tensor.
        target: the same shape, true class ids; ``ignore_index`` pixels count nowhere.
        num_classes: C. topk: k of ``topk_miou``. ignore_index: the ignored target value.

    Returns:
        See `scores_from_confusion`: ``per_class_iou`` (C,), ``miou``, ``topk_miou``,
        ``pixel_accuracy``, all fractions in [0, 1].
    """
    return scores_from_confusion(confusion_matrix(pred, target, num_classes, ignore_index), topk)
