"""PNG figures of the analyses (matplotlib, Agg backend; imported lazily by the CLIs).

Each function takes plain arrays/dicts and an output path, writes the PNG atomically and
returns the path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from unsup3d.utils import atomic_path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    _plt().close(fig)
    return path


def _annotated_matrix(
    ax, m: np.ndarray, rows: Sequence[str], cols: Sequence[str], vmin, vmax, cmap
):
    im = ax.imshow(m, vmin=vmin, vmax=vmax, cmap=cmap)
    ax.set_xticks(range(len(cols)), labels=list(cols), rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), labels=list(rows))
    mid = (vmin + vmax) / 2
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            v = m[i, j]
            text = "–" if not np.isfinite(v) else f"{v:.2f}"
            # white text on dark cells: low end of viridis, saturated ends of RdBu
            dark = np.isfinite(v) and (abs(v) > 0.6 * vmax if cmap == "RdBu_r" else v < mid)
            ax.text(
                j, i, text, ha="center", va="center", fontsize=9, color="white" if dark else "black"
            )
    return im


def correlation_heatmaps(
    matrices: Mapping[str, np.ndarray],
    groups: Sequence[str],
    path: str | os.PathLike,
    titles: Mapping[str, str] | None = None,
) -> Path:
    """One annotated heatmap per correlation measure (G x G, diagonal 1), side by side."""
    plt = _plt()
    names = list(matrices)
    fig, axes = plt.subplots(
        1, len(names), figsize=(4.3 * len(names), 3.9), squeeze=False, layout="constrained"
    )
    for ax, name in zip(axes[0], names, strict=True):
        m = np.asarray(matrices[name], dtype=np.float64)
        signed = bool(np.nanmin(m) < 0)
        im = _annotated_matrix(
            ax, m, groups, groups, -1.0 if signed else 0.0, 1.0, "RdBu_r" if signed else "viridis"
        )
        ax.set_title((titles or {}).get(name, name), fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("Correlation between feature groups", fontsize=11)
    return _save(fig, path)


def factor_prediction_figure(
    matrix: np.ndarray,
    feature_groups: Sequence[str],
    factor_groups: Sequence[str],
    path: str | os.PathLike,
    per_factor: np.ndarray | None = None,
    factor_names: Sequence[str] | None = None,
) -> Path:
    """Feature group x physical factor group R^2 matrix (ideal: diagonal), and optionally the
    per-factor matrix beside it."""
    plt = _plt()
    panels = 2 if per_factor is not None else 1
    widths = [max(3.0, 0.9 * len(factor_groups) + 1.5)]
    if per_factor is not None:
        widths.append(max(4.0, 0.45 * per_factor.shape[1] + 1.5))
    fig, axes = plt.subplots(
        1,
        panels,
        figsize=(sum(widths), 0.55 * len(feature_groups) + 2.6),
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
        layout="constrained",
    )
    im = _annotated_matrix(
        axes[0][0], np.asarray(matrix), feature_groups, factor_groups, 0.0, 1.0, "viridis"
    )
    axes[0][0].set_xlabel("ground-truth factor group")
    axes[0][0].set_ylabel("feature group")
    axes[0][0].set_title("held-out ridge $R^2$ (mean over group)", fontsize=10)
    fig.colorbar(im, ax=axes[0][0], fraction=0.046, pad=0.04)
    if per_factor is not None:
        ax = axes[0][1]
        im2 = ax.imshow(per_factor, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_xticks(
            range(per_factor.shape[1]),
            labels=list(factor_names or []),
            rotation=60,
            ha="right",
            fontsize=8,
        )
        ax.set_yticks(range(len(feature_groups)), labels=list(feature_groups))
        ax.set_title("per factor", fontsize=10)
        fig.colorbar(im2, ax=ax, fraction=0.046, pad=0.04)
    return _save(fig, path)


def attribution_bars(
    shares: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
    title: str = "Integrated-gradients share per feature group",
) -> Path:
    """Grouped bars: for each explained output (outer key), the share of each feature group."""
    plt = _plt()
    outputs = list(shares)
    groups = list(next(iter(shares.values())))
    width = 0.8 / len(groups)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(outputs) + 2), 3.6), layout="constrained")
    x = np.arange(len(outputs))
    for i, g in enumerate(groups):
        vals = [100.0 * shares[o][g] for o in outputs]
        bars = ax.bar(x + (i - (len(groups) - 1) / 2) * width, vals, width, label=g)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(x, labels=outputs)
    ax.set_ylabel("% of total |IG|")
    ax.set_ylim(0, 105)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, ncols=len(groups), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return _save(fig, path)


def grad_cam_grid(
    images: np.ndarray,
    maps: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    shares: Mapping[str, float] | None = None,
) -> Path:
    """Rows = samples; columns = the image, then each encoder's Grad-CAM over it (Fig. 4 style).

    Args:
        images: (B, H, W, 3) in [0, 1] (or (B, H, W) grey).
        maps: encoder -> (B, H, W) non-negative maps; each is scaled by its own maximum.
        shares: optional encoder -> IG share, shown in the column title.
    """
    plt = _plt()
    names = list(maps)
    b = images.shape[0]
    fig, axes = plt.subplots(
        b, 1 + len(names), figsize=(1.8 * (1 + len(names)), 1.8 * b), squeeze=False
    )
    for i in range(b):
        axes[i][0].imshow(np.clip(images[i], 0, 1), cmap=None if images.ndim == 4 else "gray")
        for j, n in enumerate(names):
            m = np.asarray(maps[n][i], dtype=np.float64)
            peak = m.max()
            axes[i][j + 1].imshow(
                np.clip(images[i], 0, 1), cmap=None if images.ndim == 4 else "gray"
            )
            norm = m / peak if peak > 0 else m
            # blue = higher attribution (Fig. 4); near-zero evidence left transparent
            axes[i][j + 1].imshow(
                np.ma.masked_less(norm, 0.05), cmap="Blues", alpha=0.75, vmin=0, vmax=1
            )
    axes[0][0].set_title("image", fontsize=9)
    for j, n in enumerate(names):
        label = n if shares is None else f"{n} ({100 * shares.get(n, float('nan')):.0f}%)"
        axes[0][j + 1].set_title(label, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, path)


def ablation_bars(
    results: Mapping[str, Mapping[str, float]], path: str | os.PathLike, metric: str = "accuracy"
) -> Path:
    """Bars of in-distribution vs OOD score for each group set (``{set: {"in_distribution": ..,
    "ood": ..}}``)."""
    plt = _plt()
    sets = list(results)
    x = np.arange(len(sets))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(sets) + 1.5), 3.6), layout="constrained")
    for off, key, label in (
        (-0.2, "in_distribution", "in distribution"),
        (0.2, "ood", "ood split"),
    ):
        bars = ax.bar(x + off, [results[s][key] for s in sets], 0.4, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(x, labels=sets)
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1.1)
    ax.set_title("Probe on feature-group sets: in distribution vs novel light/view", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)


def invariance_bars(
    invariance: Mapping[str, Mapping[str, float]], path: str | os.PathLike, change: str = "light"
) -> Path:
    """Per-group feature movement (``change_vs_spread`` and ``relative_change``) under a re-render."""
    plt = _plt()
    groups = list(invariance)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(groups) + 1.5), 3.4), layout="constrained")
    for off, key in ((-0.2, "change_vs_spread"), (0.2, "relative_change")):
        bars = ax.bar(x + off, [invariance[g][key] for g in groups], 0.4, label=key)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(x, labels=groups)
    ax.set_title(f"Feature movement after re-rendering with a new {change}", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)
