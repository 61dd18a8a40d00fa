"""What a segmentation run writes besides results.json: the Table 3 text, per-class CSV, overlay.

``results.txt`` lays the numbers out as the paper's Table 3 (method, mIoU, top-10 mIoU, pixel
accuracy; mean ± std over the runs), with the majority-class reference under it. The overlay PNG
shows test images, their ground truth and the prediction in the CelebAMask-HQ colours.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from unsup3d.api import atomic_path, atomic_write_text

METRICS = ("miou", "topk_miou", "pixel_accuracy")

# CelebAMask-HQ's colour per class id (its g_color.py order); 255 (ignore) is drawn white.
PALETTE = np.array(
    [
        [0, 0, 0], [204, 0, 0], [76, 153, 0], [204, 204, 0], [51, 51, 255], [204, 0, 204],
        [0, 255, 255], [255, 204, 204], [102, 51, 0], [255, 0, 0], [102, 204, 0], [255, 255, 0],
        [0, 0, 153], [0, 0, 204], [255, 51, 153], [0, 204, 204], [0, 51, 0], [255, 153, 51],
        [0, 204, 0],
    ],
    dtype=np.uint8,
)  # fmt: skip


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof 1; 0 for a single run), NaNs left out."""
    v = np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64)
    if not v.size:
        return {"mean": float("nan"), "std": float("nan")}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0}


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """{metric: {mean, std}} over the runs' ``miou``, ``topk_miou``, ``pixel_accuracy``."""
    return {m: mean_std([r[m] for r in runs]) for m in METRICS}


def table3(rows: Sequence[tuple[str, dict[str, dict[str, float]]]], topk: int) -> str:
    """Table 3's layout: one row per method, mean ± std of each metric."""
    head = f"{'method':<32} {'mIoU':>15} {f'top-{topk} mIoU':>15} {'pixel accuracy':>15}"
    lines = [head, "-" * len(head)]
    for name, summary in rows:
        cells = [
            f"{summary[m]['mean']:.4f} ± {summary[m]['std']:.4f}"
            if summary[m]["std"] == summary[m]["std"]
            else "nan"
            for m in METRICS
        ]
        lines.append(f"{name:<32} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15}")
    return "\n".join(lines)


def write_per_class_csv(
    path: Path, class_names: Sequence[str], per_run_iou: Sequence[np.ndarray]
) -> None:
    """class_id, class, IoU of each run, mean over the runs (empty cell: NaN)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["class_id", "class", *(f"iou_run{r}" for r in range(len(per_run_iou))), "mean"])
    stack = np.stack(per_run_iou)  # (R, C)
    for c, name in enumerate(class_names):
        col = stack[:, c]
        mean = np.nan if np.isnan(col).all() else np.nanmean(col)
        w.writerow([c, name, *(_cell(v) for v in col), _cell(mean)])
    atomic_write_text(path, buf.getvalue())


def _cell(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.4f}"


def colorize(mask: torch.Tensor | np.ndarray) -> np.ndarray:
    """Class ids (H, W) -> RGB uint8 (H, W, 3) in the CelebAMask-HQ palette (255: white)."""
    m = np.asarray(mask, dtype=np.int64)
    out = np.full((*m.shape, 3), 255, dtype=np.uint8)
    known = m < len(PALETTE)
    out[known] = PALETTE[m[known]]
    return out


def overlay_png(
    path: Path,
    images: torch.Tensor,
    targets: torch.Tensor,
    preds: torch.Tensor,
    alpha: float = 0.6,
    scale: int = 2,
) -> None:
    """A grid: row 1 the images, row 2 ground truth, row 3 prediction (colours over the image).

    Args:
        images: (N, 3, S, S) uint8. targets, preds: (N, S, S) class ids. alpha: colour weight.
        scale: nearest upscaling of the whole grid (64 px images are small on screen).
    """
    rows = []
    pics = images.permute(0, 2, 3, 1).numpy().astype(np.float32)  # (N, S, S, 3)
    rows.append(np.concatenate(list(pics), axis=1))
    for masks in (targets, preds):
        tiles = [(1 - alpha) * p + alpha * colorize(m) for p, m in zip(pics, masks)]
        rows.append(np.concatenate(tiles, axis=1))
    grid = np.concatenate(rows, axis=0).round().clip(0, 255).astype(np.uint8)
    img = Image.fromarray(grid).resize(
        (grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST
    )
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
