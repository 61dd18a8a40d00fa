"""analysis/invariance.py end to end on a tiny trained checkpoint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

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


def test_render_mode_refuses_another_models_checkpoint(relabelled_checkpoint, tmp_path):
    other = relabelled_checkpoint("model", "name", "vqvae")
    argv = ["--checkpoint", str(other), "--output_dir", str(tmp_path / "o")]
    with pytest.raises(UserError) as exc:
        invariance.main(argv)
    assert str(exc.value) == (
        f"{other}: a vqvae checkpoint; invariance by re-rendering needs a PDR (model.name: pdr) "
        "checkpoint; use --mode data for any model"
    )
    assert not (tmp_path / "o").exists()


def test_data_mode_rerenders_the_ground_truth_scene(tiny_run, read_back):
    ckpt, _, root = tiny_run
    out = root / "inv_data"
    args = ["--checkpoint", str(ckpt), "--mode", "data", "--num_images", "6", "--batch_size", "4"]
    assert invariance.main([*args, "--output_dir", str(out), "--save_features"]) == 0
    m = read_back(InvarianceMetrics, out).metrics
    assert m.mode == "data" and m.reconstruction is None and m.num_images == 6
    assert set(m.invariance) == {"light", "view"}
    for table in m.invariance.values():
        assert set(table) == {"depth", "albedo", "light", "view"}
        for row in table.values():
            assert math.isfinite(row.relative_change) and row.relative_change > 0
            # the reference is the input image: both spreads are the same
            assert row.change_vs_input_spread == pytest.approx(row.change_vs_spread)
    light, view = m.scene_change["light"], m.scene_change["view"]
    assert 0 < light.light_direction_deg < 45 * math.sqrt(2) and light.view_yaw_deg == 0
    assert view.ambient == 0 and view.light_direction_deg < 1e-3 and 0 < view.view_yaw_deg < 45
    assert m.image_change["light"] > 0 and m.image_change["view"] > 0
    ref = load_features(out / "reference.npz")
    assert ref.meta["mode"] == "data" and ref.meta["render"] == "input"
    assert list(ref.image_ids) == [f"faces_test_{i:06d}" for i in range(6)]
    assert "renders.png" in {p.name for p in out.iterdir()}


def test_data_mode_images_are_the_dataset_images_and_zero_ranges_move_nothing(tiny_run):
    from analysis.model_access import split_images
    from analysis.records import PerturbationRanges
    from analysis.rerender import measure_data, perturbation_settings
    from unsup3d.api import dataset_from_config, load_model

    model, cfg, _ = load_model(tiny_run[0], torch.device("cpu"))
    dataset = dataset_from_config(cfg, "test")
    settings = perturbation_settings(PerturbationRanges(0.0, 0.0, 0.0, 0.0))
    m = measure_data(model, dataset, 5, ["light", "view"], settings, 0, 2, torch.device("cpu"))
    images, _ = split_images(cfg, "test", 5, torch.device("cpu"))
    np.testing.assert_array_equal(m["images"], images.numpy())
    for kind in ("light", "view"):
        np.testing.assert_allclose(m["renders"][kind], m["images"], atol=1e-5)
        for g, f in m["features"][kind].items():
            np.testing.assert_allclose(f, m["features"]["input"][g], atol=1e-4)


class _PixelModel(torch.nn.Module):
    """Not PDR: one feature group, a fixed random projection of the pixels."""

    feature_groups = ("latent",)

    def __init__(self, size: int):
        super().__init__()
        self.proj = torch.nn.Linear(3 * size * size, 8)

    def get_features(self, images, groups):
        assert tuple(groups) == self.feature_groups
        return {"latent": self.proj(images.flatten(1))}  # (B, 8)


def test_data_mode_works_for_a_model_without_renderer():
    from analysis.records import PerturbationRanges
    from analysis.rerender import invariance_metrics, measure_data, perturbation_settings
    from unsup3d.api import synthetic_faces

    dataset = synthetic_faces("test", 16, num_images=6)
    ranges = PerturbationRanges(0.5, 45.0, 22.5, 45.0)
    model = _PixelModel(16).eval()
    m = measure_data(
        model, dataset, 6, ["light"], perturbation_settings(ranges), 0, 4, torch.device("cpu")
    )
    record = invariance_metrics(m, ["light"], "test", ranges, "pixels", mode="data")
    assert list(record.invariance["light"]) == ["latent"] and record.reconstruction is None
    assert record.invariance["light"]["latent"].relative_change > 0
    assert record.most_moved == {"light": "latent"}


def test_data_mode_errors(relabelled_checkpoint, tiny_run, tmp_path):
    other = relabelled_checkpoint("data", "name", "image_folder")
    argv = ["--checkpoint", str(other), "--mode", "data", "--output_dir", str(tmp_path / "d")]
    with pytest.raises(
        UserError, match="trained on image_folder, which has no ground-truth scenes"
    ):
        invariance.main(argv)


def test_synthetic_light_keeps_directions_the_generator_can_render():
    from analysis.rerender import MIN_LIGHT_Z, _synthetic_light
    from unsup3d.api import Perturbation, light_direction

    dxy = torch.tensor([[0.3, -0.2], [40.0, 30.0]])  # 22 deg and 88.6 deg off the axis
    pert = Perturbation(
        choice=torch.zeros(2, dtype=torch.long),
        ambient=torch.tensor([0.2, 0.3]),
        diffuse=torch.tensor([0.6, 0.7]),
        light_dir=light_direction(dxy),
        view=torch.zeros(2, 6),
    )
    light, direction = _synthetic_light(pert)
    torch.testing.assert_close(light[0], torch.tensor([0.2, 0.6, 0.3, -0.2]))
    torch.testing.assert_close(light_direction(light[:, 2:]), direction)
    assert direction[1, 2] == pytest.approx(MIN_LIGHT_Z)  # pulled back to 85 deg
    assert light[1, 2] / light[1, 3] == pytest.approx(40.0 / 30.0)  # same azimuth
