"""analysis/figures.py: the data and axes state behind the PNGs (not pixels)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import figures as F

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _probe(acc_in, acc_ood, chance_in=0.798, chance_ood=0.806):
    return {
        "in_distribution": acc_in,
        "ood": acc_ood,
        "drop": acc_in - acc_ood,
        "chance": chance_in,
        "chance_in_distribution": chance_in,
        "chance_ood": chance_ood,
        "majority_in_distribution": 0,
        "majority_ood": 0,
    }


def test_ablation_names_the_label_and_draws_a_chance_line_per_split():
    results = {"depth+albedo": _probe(0.782, 0.735), "all": _probe(0.774, 0.732)}
    fig = F.ablation_fig(results, label="Smiling")
    ax = fig.axes[0]
    assert "Smiling" in ax.get_title()
    lines = {}  # legend label -> the y of each dashed segment
    for coll in ax.collections:
        ys = {float(y) for seg in coll.get_segments() for y in seg[:, 1]}
        lines[coll.get_label()] = ys
    test_line = next(k for k in lines if k.startswith("test chance"))
    ood_line = next(k for k in lines if k.startswith("ood chance"))
    assert lines[test_line] == {0.798} and lines[ood_line] == {0.806}
    assert "Smiling=0" in test_line and "0.806" in ood_line
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert test_line in legend and ood_line in legend
    # one segment over each bar of its split: every bar here lies below its split's line
    in_bars, ood_bars = ax.containers
    assert all(b.get_height() < 0.798 for b in in_bars)
    assert all(b.get_height() < 0.806 for b in ood_bars)
    assert len(ax.collections[0].get_segments()) == 2


def test_ablation_chance_must_agree_between_sets_and_is_optional():
    with pytest.raises(ValueError, match="differs"):
        F.ablation_fig({"a": _probe(0.8, 0.7), "b": _probe(0.8, 0.7, chance_ood=0.5)})
    old = {"a": {"in_distribution": 0.9, "ood": 0.8}}  # results without chance keys
    assert not F.ablation_fig(old).axes[0].collections


def test_cam_overlay_is_smooth_and_flags_zero_maps():
    ramp = np.tile(np.linspace(0.0, 2.0, 9), (3, 1))  # (3, 9), max 2
    rgba, zero = F.cam_overlay(ramp, alpha_max=0.8)
    assert not zero and rgba.shape == (3, 9, 4)
    # opacity follows the normalised value: no threshold, no opaque low-value patch
    np.testing.assert_allclose(rgba[..., 3], 0.8 * ramp / 2.0)
    rgba0, zero0 = F.cam_overlay(np.zeros((4, 4)))
    assert zero0 and np.all(rgba0[..., 3] == 0)


def test_grad_cam_fig_labels_zero_maps_and_has_a_colourbar():
    rs = np.random.RandomState(0)
    images = rs.rand(2, 8, 8, 3)
    a = rs.rand(2, 8, 8)
    b = rs.rand(2, 8, 8)
    b[1] = 0.0  # encoder b: no positive evidence on image 1
    fig = F.grad_cam_fig(images, {"a": a, "b": b}, shares={"a": 0.6, "b": 0.4})
    panels = np.asarray(fig.axes[:6]).reshape(2, 3)  # rows images, columns image / a / b

    def texts(ax):
        return [t.get_text() for t in ax.texts]

    assert texts(panels[1, 2]) == ["map = 0"]
    assert all(texts(ax) == [] for ax in panels.ravel() if ax is not panels[1, 2])
    # the zero panel shows the bare image only; the others image + bilinear overlay
    assert len(panels[1, 2].images) == 1 and len(panels[0, 2].images) == 2
    overlay = panels[0, 1].images[1]
    assert overlay.get_interpolation() == "bilinear"
    np.testing.assert_allclose(overlay.get_array()[..., 3], F.CAM_ALPHA * a[0] / a[0].max())
    (cbar_ax,) = fig.axes[6:]
    label = cbar_ax.get_ylabel()
    assert "normalised per image" in label
    assert cbar_ax.get_ylim() == (0.0, 1.0)
    assert "60% IG" in panels[0, 1].get_title()


def test_invariance_fig_states_what_the_bars_measure():
    inv = {g: {"change_vs_spread": 0.6, "relative_change": 0.5} for g in ("depth", "light")}
    ax = F.invariance_fig(inv, "light").axes[0]
    assert "ratio" in ax.get_ylabel() and "no unit" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("change_vs_spread: RMS movement / RMS distance between two")
    assert legend[1].startswith("relative_change: mean movement / the feature's norm")


def test_factor_prediction_fig_keeps_46_factor_names_legible():
    groups = ["depth", "albedo", "light", "view"]
    names = [f"albedo_factor_with_a_long_name_{i:02d}" for i in range(46)]
    rs = np.random.RandomState(0)
    per_factor = rs.rand(4, 46)
    fig = F.factor_prediction_fig(rs.rand(4, 4), groups, groups, per_factor, names)
    width, height = fig.get_size_inches()
    assert width <= 12.0 and height <= 12.0  # fits a screen at 100 % without shrinking
    ax = fig.axes[1]
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    fig.canvas.draw()
    labels = ax.get_yticklabels()
    assert all(t.get_fontsize() >= 7 and t.get_rotation() == 0 for t in labels)
    boxes = sorted((t.get_window_extent() for t in labels), key=lambda bb: bb.y0)
    assert all(lo.y1 <= hi.y0 + 0.5 for lo, hi in zip(boxes, boxes[1:]))  # no overlap
    np.testing.assert_array_equal(ax.images[0].get_array(), per_factor.T)  # factors as rows
