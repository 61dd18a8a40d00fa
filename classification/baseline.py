"""The supervised baseline: a randomly initialised torchvision ResNet-18 trained on the labels.

It is a backbone like the inverse renderer (``get_features(images, groups)``, one group
``"resnet18"``: the 512-d global-average-pooled output of ``layer4``), so the baseline runs
through the same probe head and loop: torchvision's ``fc`` is replaced by the probe's linear
head, which is the same layer (Linear(512, K)) the ``num_classes=`` argument would build.

Small images: the ``"small"`` stem (default) replaces the 7x7 stride-2 ``conv1`` with a 3x3
stride-1 conv and drops the max-pool (the usual CIFAR adaptation), so a 64 px image reaches
``layer4`` at 8x8 instead of 2x2. It costs ~16x the FLOPs of the ``"standard"`` stem at the same
size (~2.2 GFLOPs per 64 px image forward). Weights are never downloaded (``weights=None``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from unsup3d.api import UserError

BASELINES = ("resnet18",)
STEMS = ("small", "standard")
GROUP = "resnet18"


class ResNet18Encoder(nn.Module):
    """ResNet-18 trunk with the backbone interface.

    Args:
        stem: ``"small"`` (3x3 stride-1 conv1, no max-pool) or ``"standard"`` (torchvision's).
    """

    def __init__(self, stem: str = "small") -> None:
        super().__init__()
        if stem not in STEMS:
            raise UserError(f"--resnet-stem {stem}: unknown; use one of {', '.join(STEMS)}")
        import torchvision  # lazily: it costs seconds to import and only the baseline needs it

        net = torchvision.models.resnet18(weights=None)
        if stem == "small":
            net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            net.maxpool = nn.Identity()
        net.fc = nn.Identity()  # the probe head is the classifier
        self.net = net

    def get_features(self, images: torch.Tensor, groups: Sequence[str]) -> dict[str, torch.Tensor]:
        """(B, 3, S, S) in [0, 1] -> {"resnet18": (B, 512)}; ``groups`` must be ["resnet18"]."""
        unknown = [g for g in groups if g != GROUP]
        if unknown:
            raise UserError(f"--groups: the ResNet-18 baseline has only the '{GROUP}' group")
        return {GROUP: self.net(images * 2.0 - 1.0)}  # same [-1, 1] input range as the renderer
