"""Integrated-gradients group shares (paper Fig. 4) and Grad-CAM per encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from analysis.attribution import grad_cam_maps, group_slices, integrated_gradients_shares

SLICES = group_slices({"depth": 4, "albedo": 4, "light": 3, "view": 3})


def test_group_slices_are_consecutive():
    assert SLICES["albedo"] == slice(4, 8) and SLICES["view"] == slice(11, 14)


@pytest.mark.parametrize("target", [2, "per_sample"])
def test_ig_completeness_on_a_nonlinear_head(target):
    torch.manual_seed(0)
    head = nn.Sequential(nn.Linear(14, 32), nn.Tanh(), nn.Linear(32, 3)).double()
    x = torch.randn(6, 14, dtype=torch.float64)
    t = torch.tensor([0, 1, 2, 0, 1, 2]) if target == "per_sample" else target
    r = integrated_gradients_shares(head, x, SLICES, target=t, n_steps=64)
    # sum of attributions = F(x) - F(baseline)
    np.testing.assert_allclose(r.attributions.sum(axis=1), r.output_difference, atol=1e-6)
    assert np.abs(r.delta).max() < 1e-6
    assert np.abs(r.output_difference).min() > 1e-3  # the test is not vacuous
    np.testing.assert_allclose(r.per_sample.sum(axis=1), 1.0)
    assert sum(r.shares.values()) == pytest.approx(1.0)
    assert sum(r.pooled_shares.values()) == pytest.approx(1.0)


def test_ig_of_a_linear_head_is_weight_times_input_and_shares_follow_the_formula():
    head = nn.Linear(14, 1, bias=True).double()
    with torch.no_grad():
        head.weight.copy_(torch.arange(1, 15, dtype=torch.float64)[None] / 10)
    x = torch.rand(3, 14, dtype=torch.float64) + 0.5
    base = torch.full((14,), 0.25, dtype=torch.float64)
    r = integrated_gradients_shares(head, x, SLICES, baseline=base, n_steps=8)
    want = (head.weight[0] * (x - base)).detach().numpy()
    np.testing.assert_allclose(r.attributions, want, atol=1e-10)
    mags = np.stack([np.abs(want[:, s]).sum(1) for s in SLICES.values()], 1)
    np.testing.assert_allclose(r.per_sample, mags / mags.sum(1, keepdims=True), atol=1e-10)


def test_a_head_that_reads_one_group_gives_it_the_whole_share():
    head = nn.Linear(14, 2).double()
    with torch.no_grad():
        head.weight.zero_()
        head.weight[:, SLICES["light"]] = torch.randn(2, 3, dtype=torch.float64)
    r = integrated_gradients_shares(head, torch.randn(5, 14, dtype=torch.float64), SLICES, target=1)
    assert r.shares["light"] == pytest.approx(1.0)
    assert r.shares["depth"] == r.shares["albedo"] == r.shares["view"] == 0.0


def test_ig_input_checks():
    head = nn.Linear(14, 1)
    with pytest.raises(ValueError, match="exactly once"):
        integrated_gradients_shares(head, torch.randn(2, 14), group_slices({"a": 4, "b": 4}))
    with pytest.raises(ValueError, match="target"):
        integrated_gradients_shares(nn.Linear(14, 3), torch.randn(2, 14), SLICES)


class TwoEncoderNet(nn.Module):
    """Two tiny conv encoders -> pooled features -> linear probe; the probe ignores encoder b."""

    def __init__(self):
        super().__init__()
        self.enc_a = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU())
        self.enc_b = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU())
        self.head = nn.Linear(8, 2)
        with torch.no_grad():
            self.enc_a[0].weight.fill_(0.1)  # positive kernel: activation follows the image
            self.head.weight.zero_()
            self.head.weight[0, :4] = 1.0  # output 0 = sum of encoder a's pooled features

    def forward(self, x):
        fa = self.enc_a(x).mean(dim=(2, 3))  # (B, 4)
        fb = self.enc_b(x).mean(dim=(2, 3))
        return self.head(torch.cat([fa, fb], dim=1))


def test_grad_cam_per_encoder_known_answers():
    net = TwoEncoderNet()
    img = torch.zeros(2, 1, 16, 16)
    img[:, :, 2:7, 9:14] = 1.0  # a bright patch in the top-right; zero elsewhere
    maps = grad_cam_maps(net, {"a": net.enc_a[0], "b": net.enc_b[0]}, img, target=0)
    assert maps["a"].shape == (2, 16, 16)
    assert torch.count_nonzero(maps["b"]) == 0  # the probe does not use encoder b
    inside = maps["a"][:, 1:8, 8:15].sum()
    assert inside / maps["a"].sum() > 0.95  # evidence sits on the patch
    assert maps["a"].min() >= 0


def test_grad_cam_rejects_a_non_conv_layer():
    net = TwoEncoderNet()
    with pytest.raises(ValueError, match="conv"):
        grad_cam_maps(net, {"head": net.head}, torch.rand(1, 1, 8, 8), target=0)


def test_grad_cam_and_attribution_figures_are_written(tmp_path):
    from analysis.figures import attribution_bars, grad_cam_grid

    net = TwoEncoderNet()
    img = torch.zeros(2, 1, 16, 16)
    img[:, :, 2:7, 9:14] = 1.0
    maps = grad_cam_maps(net, {"a": net.enc_a[0], "b": net.enc_b[0]}, img, target=0)
    p = grad_cam_grid(
        img[:, 0].numpy(), {k: v.numpy() for k, v in maps.items()}, tmp_path / "cam.png"
    )
    q = attribution_bars({"attr": {"a": 0.7, "b": 0.3}}, tmp_path / "bars.png")
    for path in (p, q):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
