"""The supervised ResNet-18 baseline as a backbone."""

import torch

from classification.baseline import ResNet18Encoder


def test_resnet18_stems():
    x = torch.rand(2, 3, 32, 32)
    for stem in ("small", "standard"):
        feats = ResNet18Encoder(stem).eval().get_features(x, ["resnet18"])
        assert feats["resnet18"].shape == (2, 512)
    net = ResNet18Encoder("small").net
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (1, 1)
    assert isinstance(net.maxpool, torch.nn.Identity)
