"""analysis/gradcam.py and analysis/invariance.py end to end on a tiny trained checkpoint."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

import run
from analysis import gradcam, invariance
from analysis.attribution import grad_cam_maps
from analysis.model_access import cam_layers
from unsup3d.errors import UserError
from unsup3d.features import load_features
from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.renderer import Renderer

TINY = """
run:
  output_dir: {out}
  seed: 3
data:
  name: synthetic_faces
  image_size: 16
  num_train: 24
  num_val: 4
  num_test: 8
model:
  preset: small
loss:
  lam_perc: 0.0
loocc:
  variant: LV
trainer:
  num_epochs: 1
  batch_size: 4
  lr: 1.0e-3
  checkpoint_every: 1
  keep_checkpoints: 1
  log_freq: 1
  tensorboard: false
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 1-step 16-px checkpoint and its train feature file (24 images, 3 identities)."""
    root = tmp_path_factory.mktemp("model_analysis")
    cfg = root / "cfg.yaml"
    cfg.write_text(TINY.format(out=root / "run"))
    argv = ["--config", str(cfg), "--num_workers", "0", "--set", "trainer.max_steps=1"]
    assert run.main(argv) == 0
    ckpt = root / "run" / "last.pt"
    feats = root / "train.npz"
    argv = ["extract", "--checkpoint", str(ckpt), "--split", "train", "--output", str(feats)]
    assert run.main([*argv, "--num_workers", "0"]) == 0
    return ckpt, feats, root


def test_cam_layers_are_the_8_to_4_down_convs():
    # S = 64: the release's layer (its down path's index -4), i.e. stages.9 of a normed
    # DownPath and stages.6 of a light/view trunk; at S = 16 the conv that also maps 8 -> 4.
    for size, names in (
        (64, ("stages.9", "stages.9", "stages.6", "stages.6")),
        (16, ("stages.3", "stages.3", "stages.2", "stages.2")),
    ):
        model = InverseRenderer(ModelSettings(preset="small", use_conf_map=False), Renderer(size))
        layers = cam_layers(model, ["depth", "albedo", "light", "view"])
        for (g, layer), suffix in zip(layers.items(), names, strict=True):
            assert layer.name == f"{g}_net.encoder.{suffix}"
            assert isinstance(layer.module, nn.Conv2d) and layer.module.stride == (2, 2)
            assert layer.output_size == (4, 4)


def test_grad_cam_of_unused_encoder_is_zero(tiny_run):
    from unsup3d.loading import load_model

    model, cfg, _ = load_model(tiny_run[0], torch.device("cpu"))
    layers = cam_layers(model, ["depth", "light"])
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    w = torch.randn(256, generator=torch.Generator().manual_seed(1))

    def forward(x):  # a probe that gives the light feature zero weight
        f = model.get_features(x, ["depth", "light"])
        return f["depth"] @ w + f["light"] @ torch.zeros(256)

    maps = grad_cam_maps(forward, {g: v.module for g, v in layers.items()}, images)
    assert maps["depth"].shape == (2, 16, 16) and maps["depth"].abs().sum() > 0
    assert maps["light"].abs().max() == 0


def test_gradcam_cli(tiny_run, capsys):
    ckpt, feats, root = tiny_run
    out = root / "gradcam"
    args = ["--checkpoint", str(ckpt), "--features", str(feats), "--num_images", "4"]
    assert gradcam.main([*args, "--output_dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "depth_net.encoder.stages.3" in printed and "zero maps" in printed
    m = json.loads((out / "gradcam.json").read_text())["metrics"]
    assert m["groups"] == ["depth", "albedo"] and m["label"] == "identity"
    assert m["num_images"] == 4 and len(m["predicted"]) == 4
    assert m["layers"]["albedo"] == {"module": "albedo_net.encoder.stages.3", "output_size": [4, 4]}
    assert math.isclose(sum(m["ig"]["shares"].values()), 1.0, rel_tol=1e-6)
    assert all(c["finite"] for c in m["cam"].values())
    with np.load(out / "gradcam_maps.npz", allow_pickle=False) as z:
        assert z["images"].shape == (4, 3, 16, 16)
        for g in ("depth", "albedo"):
            cam = z[f"cam_{g}"]
            assert cam.shape == (4, 16, 16) and np.isfinite(cam).all() and cam.min() >= 0
            zero = int(np.sum(cam.reshape(4, -1).max(axis=1) == 0))
            assert m["cam"][g]["zero_images"] == zero
            assert f"{zero}/4" in printed.splitlines()[1 + ("depth", "albedo").index(g)]
    assert (out / "gradcam.png").stat().st_size > 0

    # A binary attribute over all four encoders; an existing output folder needs --overwrite.
    fs = load_features(feats)
    binary = next(
        n
        for i, n in enumerate(fs.label_names)
        if n != "identity" and len(np.unique(fs.labels[:, i])) == 2
    )
    with pytest.raises(UserError, match="not empty"):
        gradcam.main([*args, "--output_dir", str(out)])
    more = ["--label", binary, "--groups", "all", "--output_dir", str(out), "--overwrite"]
    assert gradcam.main([*args, *more, "--num_images", "2"]) == 0
    m = json.loads((out / "gradcam.json").read_text())["metrics"]
    assert list(m["cam"]) == ["depth", "albedo", "light", "view"] and m["label"] == binary


def test_cam_summary_counts_all_zero_maps():
    maps = np.zeros((3, 4, 4), dtype=np.float32)
    maps[1, 2, 3] = 0.5  # one image with evidence, two all-zero maps
    s = gradcam._cam_summary(maps)
    assert s["zero_images"] == 2 and s["nonzero_images"] == pytest.approx(1 / 3)
    assert s["max"] == 0.5 and s["finite"]


def test_gradcam_errors(tiny_run):
    ckpt, feats, root = tiny_run
    base = ["--checkpoint", str(ckpt), "--features", str(feats), "--output_dir", str(root / "e")]
    with pytest.raises(UserError, match="--label nope: not in"):
        gradcam.main([*base, "--label", "nope"])
    with pytest.raises(UserError, match="checkpoint not found"):
        gradcam.main([*base[:1], str(root / "missing.pt"), *base[2:]])


def test_invariance_cli(tiny_run, capsys):
    ckpt, _, root = tiny_run
    out = root / "inv"
    args = ["--checkpoint", str(ckpt), "--num_images", "6", "--batch_size", "4"]
    assert invariance.main([*args, "--output_dir", str(out), "--save_features"]) == 0
    assert "vs spread" in capsys.readouterr().out
    m = json.loads((out / "invariance.json").read_text())["metrics"]
    assert m["num_images"] == 6 and set(m["invariance"]) == {"light", "view"}
    for kind, table in [*m["invariance"].items(), ("recon", m["reconstruction"])]:
        assert set(table) == {"depth", "albedo", "light", "view"}
        for row in table.values():
            assert row["num_samples"] == 6
            for key in ("relative_change", "change_vs_spread", "change_vs_input_spread"):
                assert math.isfinite(row[key]) and row[key] > 0, (kind, key)
    # The draws follow the ranges: a light change moves the light, not the view, and back.
    light, view = m["scene_change"]["light"], m["scene_change"]["view"]
    assert 0 < light["light_direction_deg"] < 45 * math.sqrt(2)
    assert light["view_yaw_deg"] == 0 and view["ambient"] == 0 and 0 < view["view_yaw_deg"] < 45
    assert m["image_change"]["light"] > 0 and m["image_change"]["view"] > 0
    assert {"invariance_light.png", "invariance_view.png", "renders.png"} <= {
        p.name for p in out.iterdir()
    }
    ref, lit = load_features(out / "reference.npz"), load_features(out / "perturbed_light.npz")
    assert ref.features["light"].shape == (6, 256) and lit.features["light"].shape == (6, 256)
    assert not np.array_equal(ref.features["light"], lit.features["light"])


def test_invariance_zero_range_moves_nothing(tiny_run):
    ckpt, _, root = tiny_run
    out = root / "inv0"
    zero = ["--light_intensity_delta", "0", "--light_direction_deg", "0"]
    zero += ["--view_pitch_deg", "0", "--view_yaw_deg", "0"]
    args = ["--checkpoint", str(ckpt), "--num_images", "4", "--no_figures"]
    assert invariance.main([*args, *zero, "--output_dir", str(out)]) == 0
    m = json.loads((out / "invariance.json").read_text())["metrics"]
    for table in m["invariance"].values():
        for row in table.values():
            assert row["relative_change"] < 1e-5 and row["change_vs_spread"] < 1e-4
    assert max(m["image_change"].values()) < 1e-6
    assert m["most_moved"] == {"light": None, "view": None}
    # The reconstruction gap (input photo vs its re-render) is still measured.
    assert all(r["relative_change"] > 0 for r in m["reconstruction"].values())


def test_invariance_errors(tiny_run):
    ckpt, _, root = tiny_run
    base = ["--checkpoint", str(ckpt), "--output_dir", str(root / "e2")]
    with pytest.raises(UserError, match="perturbation ranges"):
        invariance.main([*base, "--view_yaw_deg", "-1"])
    with pytest.raises(UserError, match="need >= 2"):
        invariance.main([*base, "--num_images", "1"])
