"""analysis/model_access.py: Grad-CAM target layers, Grad-CAM of a probe, map summaries."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from analysis.attribution import grad_cam_maps
from analysis.model_access import cam_layers, cam_summary, probe_grad_cam, split_images
from evalkit import fit_linear_probe
from unsup3d.api import load_model
from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.renderer import Renderer


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
    model, _, _ = load_model(tiny_run[0], torch.device("cpu"))
    layers = cam_layers(model, ["depth", "light"])
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    w = torch.randn(256, generator=torch.Generator().manual_seed(1))

    def forward(x):  # a probe that gives the light feature zero weight
        f = model.get_features(x, ["depth", "light"])
        return f["depth"] @ w + f["light"] @ torch.zeros(256)

    maps = grad_cam_maps(forward, {g: v.module for g, v in layers.items()}, images)
    assert maps["depth"].shape == (2, 16, 16) and maps["depth"].abs().sum() > 0
    assert maps["light"].abs().max() == 0


def test_probe_grad_cam_explains_the_predicted_class_and_leaves_the_model(tiny_run):
    model, cfg, _ = load_model(tiny_run[0], torch.device("cpu"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images, ids = split_images(cfg, "test", 3, torch.device("cpu"))
    assert images.shape == (3, 3, 16, 16) and len(ids) == 3
    rs = np.random.RandomState(0)
    x, y = rs.standard_normal((40, 512)), np.repeat([3, 7], 20)
    head = fit_linear_probe(x, y, random_state=0).torch_head()
    r = probe_grad_cam(model, head, images, ["depth", "albedo"], n_steps=8)
    assert set(r.maps) == {"depth", "albedo"} and r.maps["depth"].shape == (3, 16, 16)
    assert set(r.predicted) <= {3, 7} and len(r.predicted) == 3
    assert sum(r.ig.shares.values()) == pytest.approx(1.0)
    assert r.layers["depth"].name == "depth_net.encoder.stages.3"
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_cam_summary_counts_all_zero_maps():
    maps = np.zeros((3, 4, 4), dtype=np.float32)
    maps[1, 2, 3] = 0.5  # one image with evidence, two all-zero maps
    s = cam_summary(maps)
    assert s.zero_images == 2 and s.nonzero_images == pytest.approx(1 / 3)
    assert s.max == 0.5 and s.finite


def test_load_pdr_model_refuses_another_models_checkpoint(tiny_run, relabelled_checkpoint):
    from analysis.model_access import load_pdr_model
    from unsup3d.api import UserError

    model, cfg, _ = load_pdr_model(tiny_run[0], torch.device("cpu"), "X", "Y")
    assert cfg.model.name == "pdr" and model.image_size == 16
    other = relabelled_checkpoint("model", "name", "vqvae")
    # Refused from the saved config, before the model is built (vqvae need not be registered).
    with pytest.raises(UserError) as exc:
        load_pdr_model(other, torch.device("cpu"), "invariance by re-rendering", "use --mode data")
    assert str(exc.value) == (
        f"{other}: a vqvae checkpoint; invariance by re-rendering needs a PDR (model.name: pdr) "
        "checkpoint; use --mode data"
    )
