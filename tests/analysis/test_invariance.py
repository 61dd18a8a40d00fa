"""analysis/invariance.py end to end on a tiny trained checkpoint."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import invariance
from analysis.records import InvarianceMetrics
from unsup3d.errors import UserError
from unsup3d.features import load_features


def test_invariance_cli(tiny_run, capsys, read_back):
    ckpt, _, root = tiny_run
    out = root / "inv"
    args = ["--checkpoint", str(ckpt), "--num_images", "6", "--batch_size", "4"]
    assert invariance.main([*args, "--output_dir", str(out), "--save_features"]) == 0
    assert "vs spread" in capsys.readouterr().out
    m = read_back(InvarianceMetrics, out).metrics
    assert m.num_images == 6 and set(m.invariance) == {"light", "view"}
    for kind, table in [*m.invariance.items(), ("recon", m.reconstruction)]:
        assert set(table) == {"depth", "albedo", "light", "view"}
        for row in table.values():
            assert row.num_samples == 6
            for key in ("relative_change", "change_vs_spread", "change_vs_input_spread"):
                assert math.isfinite(getattr(row, key)) and getattr(row, key) > 0, (kind, key)
    # The draws follow the ranges: a light change moves the light, not the view, and back.
    light, view = m.scene_change["light"], m.scene_change["view"]
    assert 0 < light.light_direction_deg < 45 * math.sqrt(2)
    assert light.view_yaw_deg == 0 and view.ambient == 0 and 0 < view.view_yaw_deg < 45
    assert m.image_change["light"] > 0 and m.image_change["view"] > 0
    assert {"invariance_light.png", "invariance_view.png", "renders.png"} <= {
        p.name for p in out.iterdir()
    }
    ref, lit = load_features(out / "reference.npz"), load_features(out / "perturbed_light.npz")
    assert ref.features["light"].shape == (6, 256) and lit.features["light"].shape == (6, 256)
    assert not np.array_equal(ref.features["light"], lit.features["light"])
    assert lit.meta["render"] == "light" and lit.meta["ranges"] == vars(m.ranges)


def test_invariance_zero_range_moves_nothing(tiny_run, read_back):
    ckpt, _, root = tiny_run
    out = root / "inv0"
    zero = ["--light_intensity_delta", "0", "--light-direction-deg", "0"]
    zero += ["--view_pitch_deg", "0", "--view_yaw_deg", "0"]
    args = ["--checkpoint", str(ckpt), "--num_images", "4", "--no_figures", "--perturb", "view"]
    assert invariance.main([*args, *zero, "--output_dir", str(out)]) == 0
    m = read_back(InvarianceMetrics, out).metrics
    assert list(m.invariance) == ["view"]
    for table in m.invariance.values():
        for row in table.values():
            assert row.relative_change < 1e-5 and row.change_vs_spread < 1e-4
    assert max(m.image_change.values()) < 1e-6
    assert m.most_moved == {"view": None}
    # The reconstruction gap (input photo vs its re-render) is still measured.
    assert all(r.relative_change > 0 for r in m.reconstruction.values())


def test_invariance_errors(tiny_run):
    ckpt, _, root = tiny_run
    base = ["--checkpoint", str(ckpt), "--output_dir", str(root / "e2")]
    with pytest.raises(UserError, match="perturbation ranges"):
        invariance.main([*base, "--view_yaw_deg", "-1"])
    with pytest.raises(UserError, match="need >= 2"):
        invariance.main([*base, "--num_images", "1"])
    with pytest.raises(UserError, match="--batch_size 0: must be >= 1"):
        invariance.main([*base, "--batch-size", "0"])
