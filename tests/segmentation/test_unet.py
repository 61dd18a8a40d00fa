"""The U-Net: parameter counts pinned (reference §7.4), shapes, and model.unet_width."""

from __future__ import annotations

import pytest
import torch

from segmentation.unet import SegmentationUNet
from unsup3d.api import build_model, load_config


@pytest.mark.parametrize("size", [32, 64])
def test_supervised_unet_has_the_release_parameter_count_at_any_size(size):
    model = SegmentationUNet(19)
    counts = model.parameter_counts()
    assert counts["total"] == 1_944_355
    assert counts["encoders"] == 1_180_752 and counts["decoder"] == 763_603
    assert model(torch.randn(2, 3, size, size)).shape == (2, 19, size, size)


def test_joint_unet_parameter_count():
    model = SegmentationUNet(19, num_encoders=2)
    counts = model.parameter_counts()
    assert counts["total"] == 5_411_891
    assert counts["encoders"] == 2 * 1_180_752 and counts["decoder"] == 3_050_387
    model.encoders.requires_grad_(False)
    assert model.parameter_counts()["trainable"] == 3_050_387  # frozen joint: its decoder


def test_joint_uses_both_centres():
    torch.manual_seed(0)
    model = SegmentationUNet(3, num_encoders=2).eval()
    x = torch.randn(1, 3, 32, 32)
    before = model(x)
    with torch.no_grad():  # change only the albedo encoder's deepest level
        for p in model.encoders[1].levels[4].parameters():
            p.add_(1.0)
    assert not torch.allclose(model(x), before)


def test_image_size_must_be_a_multiple_of_16():
    with pytest.raises(ValueError, match="S % 16 == 0"):
        SegmentationUNet(19)(torch.randn(1, 3, 24, 24))


def test_unet_width_is_independent_of_the_preset():
    cfg = load_config(None, ["model.preset=small", "model.encoder=unet", "data.image_size=16"])
    levels = build_model(cfg).depth_net.encoder.levels
    assert [level[0].out_channels for level in levels] == [16, 32, 64, 128, 256]
    cfg = load_config(None, ["model.preset=small", "model.encoder=unet", "model.unet_width=16"])
    levels = build_model(cfg).albedo_net.encoder.levels
    assert [level[0].out_channels for level in levels] == [4, 8, 16, 32, 64]
