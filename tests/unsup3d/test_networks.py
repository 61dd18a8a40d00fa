import pytest
import torch

from unsup3d.networks import (
    PRESETS,
    ConfidenceNet,
    DownPath,
    EncoderDecoder,
    ParameterEncoder,
    UNetDownPath,
    count_parameters,
    resize_to,
)


def _nets(preset: str, size: int = 64, encoder: str = "conv"):
    w = PRESETS[preset]
    return {
        "depth": EncoderDecoder(1, w.nf_depth_albedo, w.zdim, size, encoder),
        "albedo": EncoderDecoder(3, w.nf_depth_albedo, w.zdim, size, encoder, activation="tanh"),
        "light": ParameterEncoder(4, w.nf_light_view, w.zdim),
        "view": ParameterEncoder(6, w.nf_light_view, w.zdim),
        "confidence": ConfidenceNet(w.nf_confidence, w.zdim_confidence, size),
    }


def test_paper_preset_parameter_counts():
    counts = {k: count_parameters(m) for k, m in _nets("paper").items()}
    # The paper's total: depth + albedo + light + view (confidence net and VGG excluded).
    assert counts["depth"] + counts["albedo"] + counts["light"] + counts["view"] == 29_441_536
    # The paper's "12,979,648 for the encoder-decoders embedding geometry and albedo" is the
    # depth (geometry) network alone in the release; depth + albedo is 25,962,496.
    assert counts["depth"] == 12_979_648
    assert counts["albedo"] == 12_982_848
    assert counts["depth"] + counts["albedo"] == 25_962_496
    assert counts["light"] == 1_739_264
    assert counts["view"] == 1_739_776
    assert counts["confidence"] == 7_678_208
    # Down paths as in reference_behaviour.md §1.3.
    assert count_parameters(_nets("paper")["depth"].encoder) == 4_853_632


def test_unet_variant_parameter_count_matches_release():
    w = PRESETS["paper"]
    net = EncoderDecoder(1, w.nf_depth_albedo, w.zdim, 64, "unet")
    assert count_parameters(net) == 10_355_344
    # segmentation's U-Net encoder (feature_scale 4) + a bias-free 4x4 conv 256 -> 256
    assert count_parameters(net.encoder) == 1_180_752 + 256 * 256 * 16


def test_parameter_counts_do_not_depend_on_image_size():
    for preset in PRESETS:
        a = {k: count_parameters(m) for k, m in _nets(preset, 32).items()}
        b = {k: count_parameters(m) for k, m in _nets(preset, 128).items()}
        assert a == b


def test_small_preset_is_smaller_with_same_feature_size():
    small = {k: count_parameters(m) for k, m in _nets("small").items()}
    assert sum(small[g] for g in ("depth", "albedo", "light", "view")) == 3_812_608
    assert PRESETS["small"].zdim == PRESETS["paper"].zdim == 256


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("encoder", ["conv", "unet"])
def test_encoder_decoder_shapes(size, encoder):
    w = PRESETS["small"]
    net = EncoderDecoder(3, w.nf_depth_albedo, w.zdim, size, encoder, activation="tanh")
    out, feat = net(torch.rand(2, 3, size, size) * 2 - 1)
    assert out.shape == (2, 3, size, size)
    assert feat.shape == (2, 256)
    assert (feat >= 0).all()  # bottleneck after ReLU
    assert out.abs().max() <= 1  # tanh


@pytest.mark.parametrize("size", [32, 64, 128])
def test_parameter_encoder_and_confidence_shapes(size):
    w = PRESETS["small"]
    values, feat = ParameterEncoder(6, w.nf_light_view, w.zdim)(torch.randn(2, 3, size, size))
    assert values.shape == (2, 6) and feat.shape == (2, 256)
    assert values.abs().max() < 1 and (feat >= 0).all()
    sigma_pixel, sigma_perc = ConfidenceNet(w.nf_confidence, w.zdim_confidence, size)(
        torch.randn(2, 3, size, size)
    )
    assert sigma_pixel.shape == (2, 2, size, size)
    assert sigma_perc.shape == (2, 2, size // 4, size // 4)
    assert (sigma_pixel > 0).all() and (sigma_perc > 0).all()


def test_down_path_at_64_is_the_release_computation():
    # At S = 64 the last stage is already 4x4: no pooling, the final conv sees it directly.
    torch.manual_seed(0)
    net = DownPath(3, 8, 16, norm=True)
    x = torch.randn(2, 3, 64, 64)
    h = net.stages(x)
    assert h.shape == (2, 64, 4, 4)
    expected = torch.relu(torch.nn.functional.conv2d(h, net.bottleneck.weight)).flatten(1)
    torch.testing.assert_close(net(x), expected, rtol=0, atol=0)


def test_resize_to():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert resize_to(x, 4) is x
    torch.testing.assert_close(resize_to(x, 2), torch.nn.functional.avg_pool2d(x, 2))
    up = resize_to(x[..., :2, :2], 4)
    torch.testing.assert_close(up, x[..., :2, :2].repeat_interleave(2, 2).repeat_interleave(2, 3))


def test_unet_levels_shapes():
    levels = UNetDownPath(3, 64, 256).levels_forward(torch.randn(1, 3, 64, 64))
    assert [tuple(t.shape[1:]) for t in levels] == [
        (16, 64, 64),
        (32, 32, 32),
        (64, 16, 16),
        (128, 8, 8),
        (256, 4, 4),
    ]


def test_bad_encoder_name():
    with pytest.raises(ValueError, match="encoder must be 'conv' or 'unet'"):
        EncoderDecoder(1, 8, 16, 32, encoder="resnet")
