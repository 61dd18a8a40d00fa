"""analysis/rerender.py: the invariance record of a re-render measurement (no model needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.records import PerturbationRanges
from analysis.rerender import invariance_metrics, perturbation_settings
from unsup3d.api import UserError

RANGES = PerturbationRanges(0.5, 45.0, 22.5, 45.0)
CHANGE = {"ambient": 0.2, "diffuse": 0.1, "light_direction_deg": 30.0}
CHANGE |= {"view_pitch_deg": 0.0, "view_yaw_deg": 0.0}


def _measured(light_move: float, nan: bool = False) -> dict:
    rs = np.random.RandomState(0)
    ref = {g: rs.standard_normal((20, 4)) + 3 for g in ("depth", "albedo", "light", "view")}
    lit = dict(ref, light=ref["light"] + light_move * rs.standard_normal((20, 4)))
    inputs = {g: 2 * f for g, f in ref.items()}  # twice the spread of the re-renders
    if nan:
        lit["view"] = np.full((20, 4), np.nan)
    return {
        "features": {"input": inputs, "reference": ref, "light": lit},
        "scene_change": {"light": CHANGE},
        "image_change": {"light": 0.1},
    }


def test_the_moved_group_and_both_spreads():
    m = invariance_metrics(_measured(1.0), ["light"], "test", RANGES, "ck.pt")
    rows = m.invariance["light"]
    assert m.most_moved == {"light": "light"} and m.num_images == 20
    assert rows["depth"].relative_change == 0.0 and rows["depth"].change_vs_spread == 0.0
    # the input features are twice the re-renders' (up to their mean): half the ratio
    row = rows["light"]
    assert row.change_vs_input_spread == pytest.approx(row.change_vs_spread / 2)
    assert m.scene_change["light"].light_direction_deg == 30.0
    assert m.ranges == RANGES and "light: mean |pixel change| 0.1000" in m.table()


def test_nothing_moved_and_non_finite_features():
    m = invariance_metrics(_measured(0.0), ["light"], "test", RANGES, "ck.pt")
    assert m.most_moved == {"light": None}
    assert all(math.isfinite(r.change_vs_spread) for r in m.reconstruction.values())
    with pytest.raises(UserError, match="ck.pt: non-finite view features of the light images"):
        invariance_metrics(_measured(1.0, nan=True), ["light"], "test", RANGES, "ck.pt")


def test_perturbation_settings_reject_negative_ranges():
    assert perturbation_settings(RANGES).view_yaw_deg == 45.0
    with pytest.raises(UserError, match="perturbation ranges: .*use values >= 0"):
        perturbation_settings(PerturbationRanges(0.5, -1.0, 22.5, 45.0))
