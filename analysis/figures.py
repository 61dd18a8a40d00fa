"""PNG figures of the analyses (matplotlib, Agg backend; imported lazily by the CLIs).

Each function takes plain arrays/dicts and an output path, writes the PNG atomically and
returns the path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from analysis.records import DisentanglementMetrics, InvarianceMetrics, RobustnessMetrics
from unsup3d.api import atomic_path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(
    fig, path: str | os.PathLike, dpi: int = 120, bbox_inches: str | None = "tight"
) -> Path:
    """Write ``fig`` as a PNG atomically, then close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches=bbox_inches)
    pyplot().close(fig)
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
    plt = pyplot()
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
    return save_png(fig, path)


def factor_prediction_figure(
    matrix: np.ndarray,
    feature_groups: Sequence[str],
    factor_groups: Sequence[str],
    path: str | os.PathLike,
    per_factor: np.ndarray | None = None,
    factor_names: Sequence[str] | None = None,
) -> Path:
    """Feature group x physical factor group R^2 matrix (ideal: diagonal), and optionally the
    per-factor matrix beside it (`factor_prediction_fig`)."""
    return save_png(
        factor_prediction_fig(matrix, feature_groups, factor_groups, per_factor, factor_names),
        path,
    )


# Per-factor panel: one row per factor, so the names read horizontally at a fixed size
# however many factors there are (46 on the synthetic faces); the figure grows in height.
FACTOR_ROW_IN = 0.2  # inches per factor row
FACTOR_FONT_PT = 8


def factor_prediction_fig(
    matrix: np.ndarray,
    feature_groups: Sequence[str],
    factor_groups: Sequence[str],
    per_factor: np.ndarray | None = None,
    factor_names: Sequence[str] | None = None,
):
    """The figure of `factor_prediction_figure` (a matplotlib ``Figure``, not saved).

    Args:
        matrix: (G, H) R^2, rows feature groups, columns factor groups.
        per_factor: optional (G, K) R^2 per factor; drawn transposed (factors as rows).
        factor_names: K names for ``per_factor``.
    """
    plt = pyplot()
    g = len(feature_groups)
    left_w = max(3.0, 0.9 * len(factor_groups) + 1.5)
    left_h = 0.55 * g + 2.6
    if per_factor is None:
        fig, axes = plt.subplots(
            1, 1, figsize=(left_w, left_h), squeeze=False, layout="constrained"
        )
    else:
        per_factor = np.asarray(per_factor)
        k = per_factor.shape[1]
        names = list(factor_names) if factor_names is not None else [str(i) for i in range(k)]
        if len(names) != k:
            raise ValueError(f"{len(names)} factor_names for {k} per-factor columns")
        right_w = 0.55 * g + 3.2  # columns + the longest names + colourbar
        height = max(left_h, FACTOR_ROW_IN * k + 1.4)
        fig, axes = plt.subplots(
            1,
            2,
            figsize=(left_w + right_w, height),
            squeeze=False,
            gridspec_kw={"width_ratios": [left_w, right_w]},
            layout="constrained",
        )
    im = _annotated_matrix(
        axes[0][0], np.asarray(matrix), feature_groups, factor_groups, 0.0, 1.0, "viridis"
    )
    axes[0][0].set_xlabel("ground-truth factor group")
    axes[0][0].set_ylabel("feature group")
    axes[0][0].set_title("held-out ridge $R^2$ (mean over group)", fontsize=10)
    axes[0][0].set_anchor("N")
    fig.colorbar(im, ax=axes[0][0], fraction=0.046, pad=0.04, shrink=min(1.0, left_h / height))
    if per_factor is not None:
        ax = axes[0][1]
        im2 = ax.imshow(per_factor.T, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_yticks(range(k), labels=names, fontsize=FACTOR_FONT_PT)
        ax.set_xticks(range(g), labels=list(feature_groups))
        ax.xaxis.tick_top()
        ax.set_xlabel("feature group")
        ax.set_title("held-out ridge $R^2$ per factor", fontsize=10)
        fig.colorbar(im2, ax=ax, fraction=0.08, pad=0.04)
    return fig


def attribution_bars(
    shares: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
    title: str = "Integrated-gradients share per feature group",
) -> Path:
    """Grouped bars: for each explained output (outer key), the share of each feature group."""
    plt = pyplot()
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
    return save_png(fig, path)


CAM_CMAP = "inferno"  # perceptually uniform; the overlay's opacity also grows with the value
CAM_ALPHA = 0.8  # opacity of a map's maximum; 0 where the map is 0


def cam_overlay(m: np.ndarray, cmap: str = CAM_CMAP, alpha_max: float = CAM_ALPHA):
    """RGBA overlay of one Grad-CAM map, scaled by its own maximum.

    Colour and opacity both follow the normalised value, so the overlay fades smoothly into
    the image (no mask threshold, no opaque low-value patches).

    Args:
        m: (H, W) non-negative map.

    Returns:
        (rgba (H, W, 4) float in [0, 1], zero): ``zero`` is True when the map has no positive
        value (an all-zero Grad-CAM: no positive evidence in this encoder); its overlay is fully
        transparent.
    """
    import matplotlib

    m = np.asarray(m, dtype=np.float64)
    peak = float(m.max()) if m.size else 0.0
    zero = not peak > 0
    norm = np.zeros_like(m) if zero else np.clip(m / peak, 0.0, 1.0)
    rgba = matplotlib.colormaps[cmap](norm)  # (H, W, 4)
    rgba[..., 3] = alpha_max * norm
    return rgba, zero


def grad_cam_grid(
    images: np.ndarray,
    maps: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    shares: Mapping[str, float] | None = None,
) -> Path:
    """Rows = samples; columns = the image, then each encoder's Grad-CAM over it (Fig. 4 style);
    see `grad_cam_fig`."""
    return save_png(grad_cam_fig(images, maps, shares), path)


def grad_cam_fig(
    images: np.ndarray,
    maps: Mapping[str, np.ndarray],
    shares: Mapping[str, float] | None = None,
):
    """The figure of `grad_cam_grid` (a matplotlib ``Figure``, not saved).

    Each map is scaled by its own maximum (per image and encoder) and drawn with `cam_overlay`
    (bilinear display interpolation); one colourbar for all panels. A panel whose map is all
    zero says ``map = 0`` (otherwise it would look like the bare image).

    Args:
        images: (B, H, W, 3) in [0, 1] (or (B, H, W) grey).
        maps: encoder -> (B, H, W) non-negative maps.
        shares: optional encoder -> IG share, shown in the column title.
    """
    import matplotlib

    plt = pyplot()
    names = list(maps)
    b = images.shape[0]
    cols = 1 + len(names)
    # Fixed inch layout (1.8 in panels, a colourbar strip on the right): constrained layout
    # costs ~0.3 s per figure here for nothing.
    width, height = 1.8 * cols + 1.2, 1.8 * b + 0.3
    fig, axes = plt.subplots(b, cols, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(
        left=0.02 / width,
        right=1.8 * cols / width,
        bottom=0.02 / height,
        top=1 - 0.3 / height,
        wspace=0.06,
        hspace=0.06,
    )
    grey = None if images.ndim == 4 else "gray"
    for i in range(b):
        img = np.clip(images[i], 0, 1)
        axes[i][0].imshow(img, cmap=grey)
        for j, n in enumerate(names):
            ax = axes[i][j + 1]
            ax.imshow(img, cmap=grey)
            rgba, zero = cam_overlay(maps[n][i])
            if zero:
                ax.text(
                    0.5,
                    0.5,
                    "map = 0",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    fontsize=8,
                    bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "lw": 0},
                )
            else:
                ax.imshow(rgba, interpolation="bilinear")
    axes[0][0].set_title("image", fontsize=9)
    for j, n in enumerate(names):
        label = n if shares is None else f"{n} ({100 * shares.get(n, float('nan')):.0f}% IG)"
        axes[0][j + 1].set_title(label, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    sm = matplotlib.cm.ScalarMappable(
        norm=matplotlib.colors.Normalize(0.0, 1.0), cmap=matplotlib.colormaps[CAM_CMAP]
    )
    cax = fig.add_axes((1.8 * cols / width + 0.15 / width, 0.1, 0.15 / width, 0.8))
    cb = fig.colorbar(sm, cax=cax)
    cb.set_label(
        "Grad-CAM, normalised per image\nand encoder (divided by its max);\nopacity grows with the value",
        fontsize=8,
    )
    return fig


def ablation_bars(
    results: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
    metric: str = "accuracy",
    label: str | None = None,
) -> Path:
    """Bars of in-distribution vs OOD score for each group set; see `ablation_fig`."""
    return save_png(ablation_fig(results, metric, label), path)


# (result key, bar label, chance key, majority-class key, bar colour, chance-line colour)
_SPLITS = (
    ("in_distribution", "in distribution (test)", "chance_in_distribution",
     "majority_in_distribution", "C0", "#08306b"),
    ("ood", "ood split", "chance_ood", "majority_ood", "C1", "#7f2704"),
)  # fmt: skip


def ablation_fig(
    results: Mapping[str, Mapping[str, float]], metric: str = "accuracy", label: str | None = None
):
    """The figure of `ablation_bars` (a matplotlib ``Figure``, not saved).

    Args:
        results: ``{set: {"in_distribution": .., "ood": .., "chance_in_distribution": ..,
            "chance_ood": .., "majority_in_distribution": .., "majority_ood": ..}}`` (the
            `analysis.robust.ProbeShift` fields). When a split's chance key is there, a dashed
            line at that split's chance (majority-class rate of its own labels) is drawn across
            each of its bars, one legend entry per split; a bar below its line is below chance.
        label: the label being probed, named in the title.
    """
    plt = pyplot()
    sets = list(results)
    x = np.arange(len(sets))
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(5.5, 1.6 * len(sets) + 2.0), 3.8), layout="constrained")
    for off, (key, name, chance_key, majority_key, colour, line_colour) in zip(
        (-width / 2, width / 2), _SPLITS
    ):
        bars = ax.bar(x + off, [results[s][key] for s in sets], width, label=name, color=colour)
        # values inside the bars, so the chance lines near the bar tops never hide them
        ax.bar_label(bars, fmt="%.3f", fontsize=8, label_type="center", color="white")
        chances = {float(results[s][chance_key]) for s in sets if chance_key in results[s]}
        if len(chances) > 1:
            raise ValueError(f"{chance_key} differs between group sets: {sorted(chances)}")
        if chances:
            chance = chances.pop()
            majority = results[sets[0]].get(majority_key)
            cls = f"majority {label or 'class'}={majority}" if majority is not None else "majority"
            short = "test" if key == "in_distribution" else key
            ax.hlines(
                np.full(len(sets), chance),
                x + off - 0.5 * width,
                x + off + 0.5 * width,
                colors=line_colour,
                linestyles="--",
                linewidth=1.6,
                label=f"{short} chance {chance:.3f} ({cls})",
            )
    ax.set_xticks(x, labels=sets)
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1.05)
    what = f"{label} probe" if label else "Probe"
    ax.set_title(f"{what} on feature-group sets: in distribution vs novel light/view", fontsize=10)
    ax.legend(fontsize=8, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    return fig


def invariance_bars(
    invariance: Mapping[str, Mapping[str, float]], path: str | os.PathLike, change: str = "light"
) -> Path:
    """Per-group feature movement (``change_vs_spread`` and ``relative_change``) under a re-render;
    see `invariance_fig`."""
    return save_png(invariance_fig(invariance, change), path)


# What each bar is (analysis.robust.feature_invariance): two unitless ratios.
INVARIANCE_KEYS = {
    "change_vs_spread": "change_vs_spread: RMS movement / RMS distance between two different "
    "images' features (1 = as far as another image)",
    "relative_change": "relative_change: mean movement / the feature's norm",
}


def invariance_fig(invariance: Mapping[str, Mapping[str, float]], change: str = "light"):
    """The figure of `invariance_bars` (a matplotlib ``Figure``, not saved)."""
    plt = pyplot()
    groups = list(invariance)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(5.5, 1.2 * len(groups) + 2.0), 3.6), layout="constrained")
    for off, (key, name) in zip((-0.2, 0.2), INVARIANCE_KEYS.items()):
        bars = ax.bar(x + off, [invariance[g][key] for g in groups], 0.4, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(x, labels=groups)
    ax.set_ylabel("feature movement\n(ratio, no unit; see legend)")
    ax.set_title(f"Feature movement after re-rendering with a new {change}", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    return fig


# --------------------------------------------------------------------------------------------
# The PNGs each CLI writes, drawn from its results record


def disentanglement_figures(
    metrics: DisentanglementMetrics, out_dir: Path, cca_components: int
) -> list[str]:
    """``correlation.png`` and ``factor_prediction.png`` of ``disentangle.py`` (when computed)."""
    written = []
    corr, gp = metrics.correlation, metrics.factor_prediction
    if corr is not None:
        titles = {
            "matched_abs_r": "paper PCC: mean |r|, matched units",
            "cross_abs_r": "mean |r|, all unit pairs",
            "cca_mean": f"mean top-{cca_components} CCA (held out)",
        }
        mats = {k: np.asarray(corr.matrices[k]) for k in titles}
        written.append(
            correlation_heatmaps(mats, metrics.groups, out_dir / "correlation.png", titles)
        )
    if gp is not None:
        names = list(next(iter(gp.per_factor.values())))
        per_factor = np.array([[row[n] for n in names] for row in gp.per_factor.values()])
        written.append(
            factor_prediction_figure(
                np.asarray(gp.matrix),
                gp.feature_groups,
                list(gp.factor_groups),
                out_dir / "factor_prediction.png",
                per_factor=per_factor,
                factor_names=names,
            )
        )
    return [str(p) for p in written]


def robustness_figures(metrics: RobustnessMetrics, out_dir: Path) -> list[str]:
    """``ablation.png`` and ``invariance.png`` of ``robustness.py`` (when computed)."""
    written = []
    if metrics.probe:
        probe = {k: vars(v) for k, v in metrics.probe.items()}
        written.append(ablation_bars(probe, out_dir / "ablation.png", label=metrics.label))
    if metrics.invariance:
        inv = metrics.invariance
        groups = {g: vars(v) for g, v in inv.groups.items()}
        written.append(invariance_bars(groups, out_dir / "invariance.png", inv.change))
    return [str(p) for p in written]


def invariance_figures(
    metrics: InvarianceMetrics, images: np.ndarray, renders: Mapping[str, np.ndarray], out_dir: Path
) -> list[str]:
    """``invariance_<kind>.png`` per perturbed kind and ``renders.png`` of ``invariance.py``."""
    written = [
        invariance_bars({g: vars(r) for g, r in rows.items()}, out_dir / f"invariance_{k}.png", k)
        for k, rows in metrics.invariance.items()
    ]
    written.append(renders_figure(images, renders, out_dir / "renders.png"))
    return [str(p) for p in written]


def renders_figure(images: np.ndarray, renders: Mapping[str, np.ndarray], path: Path) -> Path:
    """Up to 8 rows: the input, its reference re-render and each perturbed re-render.

    Args:
        images: (N, 3, S, S) inputs in [0, 1]; renders: name -> (N, 3, S, S) re-renders.
    """
    plt = pyplot()
    cols = {"input": images, **renders}
    n = min(8, len(images))
    fig, axes = plt.subplots(
        n, len(cols), figsize=(1.6 * len(cols), 1.6 * n), squeeze=False, layout="constrained"
    )
    for j, (name, arr) in enumerate(cols.items()):
        axes[0][j].set_title(name, fontsize=9)
        for i in range(n):
            axes[i][j].imshow(np.clip(arr[i].transpose(1, 2, 0), 0, 1))  # (S, S, 3)
            axes[i][j].set_xticks([])
            axes[i][j].set_yticks([])
    return save_png(fig, path, dpi=100, bbox_inches=None)
