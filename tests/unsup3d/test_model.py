import math

import pytest
import torch

from unsup3d.loocc import LooccSettings
from unsup3d.losses import LossWeights
from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.objective import compute_objective
from unsup3d.renderer import Renderer

NO_PERC = LossWeights(lam_perc=0.0)


def _model(size=32, **kw):
    torch.manual_seed(0)
    return InverseRenderer(ModelSettings(preset="small", **kw), Renderer(size))


def test_paper_preset_counts_via_model():
    counts = InverseRenderer(ModelSettings(preset="paper"), Renderer(64)).parameter_counts()
    assert counts["paper_total"] == 29_441_536
    assert counts["depth"] == 12_979_648  # the paper's "geometry and albedo" figure: depth alone
    assert counts["confidence"] == 7_678_208
    assert counts["total"] == 37_119_744  # trained with use_conf_map (the release's faces)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_forward_shapes_and_ranges(size):
    model = _model(size)
    out = model(torch.rand(2, 3, size, size))
    assert set(out.features) == {"depth", "albedo", "light", "view"}
    for f in out.features.values():
        assert f.shape == (2, 256)
    assert out.canon_depth.shape == (2, size, size)
    assert out.albedo.shape == out.canon_image.shape == (2, 3, size, size)
    assert out.recon_image.shape == out.recon_image_flip.shape == (2, 3, size, size)
    assert out.recon_depth.shape == out.mask.shape == (2, size, size)
    assert out.canon_normal.shape == (2, size, size, 3)
    assert out.conf_pixel.shape == (2, 2, size, size)
    assert out.conf_perc.shape == (2, 2, size // 4, size // 4)
    assert out.light.shape == (2, 4) and out.view.shape == (2, 6)
    # Physical units.
    assert out.canon_depth.min() >= 0.9 and out.canon_depth.max() <= 1.1
    torch.testing.assert_close(out.canon_depth[:, :, :2], torch.full((2, size, 2), 1.04))
    torch.testing.assert_close(out.canon_depth[:, :, -2:], torch.full((2, size, 2), 1.04))
    assert out.albedo.min() >= 0 and out.albedo.max() <= 1
    assert ((out.light[:, :2] >= 0) & (out.light[:, :2] <= 1)).all()
    assert out.light[:, 2:].abs().max() < 1
    assert out.view[:, :3].abs().max() < math.radians(60)
    assert out.view[:, 3:5].abs().max() < 0.1 and (out.view[:, 5] == 0).all()
    assert set(out.mask.unique().tolist()) <= {0.0, 1.0} and not out.mask.requires_grad


def test_settings_ranges_scale_outputs():
    model = _model(32, xyz_rotation_range_deg=10, min_diffuse=0.5, light_dxy_range=2.0)
    out = model(torch.rand(2, 3, 32, 32))
    assert out.view[:, :3].abs().max() < math.radians(10)
    assert out.light[:, 1].min() >= 0.5
    unit = model.light_net(torch.rand(2, 3, 32, 32) * 2 - 1)[0]
    torch.testing.assert_close(model._light(unit)[:, 2:], unit[:, 2:] * 2.0)


def test_masked_pixels_are_mid_grey_and_canonical_image_is_albedo_times_shading():
    model = _model(32)
    out = model(torch.rand(2, 3, 32, 32))
    outside = out.mask == 0
    if outside.any():
        assert (out.recon_image.permute(0, 2, 3, 1)[outside] == 0.5).all()
    torch.testing.assert_close(out.canon_image, out.albedo * out.canon_shading)


def test_features_are_exactly_get_features():
    model = _model(32).eval()
    images = torch.rand(3, 3, 32, 32)
    out = model(images)
    feats = model.get_features(images)
    for group in ("depth", "albedo", "light", "view"):
        assert torch.equal(out.features[group], feats[group])
    sub = model.get_features(images, ["albedo", "view"])
    assert set(sub) == {"albedo", "view"}
    assert torch.equal(sub["view"], out.features["view"])
    with pytest.raises(ValueError, match="unknown feature groups"):
        model.get_features(images, ["shape"])


def test_forward_keeps_no_state():
    model = _model(32)
    images = torch.rand(2, 3, 32, 32)
    before = set(vars(model))
    a = model(images)
    model(torch.rand(2, 3, 32, 32))
    b = model(images)
    assert set(vars(model)) == before
    assert torch.equal(a.recon_image, b.recon_image)


def test_bad_inputs():
    model = _model(32)
    with pytest.raises(ValueError, match=r"images must be \(B, 3, 32, 32\)"):
        model(torch.rand(2, 3, 64, 64))
    with pytest.raises(ValueError, match="'preset': 'huge' is not one of 'paper', 'small'"):
        ModelSettings(preset="huge")
    with pytest.raises(ValueError, match="image_size must be >= 16 and a multiple of 4"):
        InverseRenderer(ModelSettings(), Renderer(30))
    with pytest.raises(ValueError, match=r"border_width must be in \[0, image_size / 2\)"):
        InverseRenderer(ModelSettings(border_width=8), Renderer(16))


def test_unet_encoder_and_no_confidence_variant():
    model = _model(32, encoder="unet", use_conf_map=False)
    assert model.conf_net is None and "confidence" not in model.parameter_counts()
    total, terms, out = compute_objective(model, torch.rand(2, 3, 32, 32), NO_PERC, LooccSettings())
    assert out.conf_pixel is None and torch.isfinite(total)
    total.backward()
