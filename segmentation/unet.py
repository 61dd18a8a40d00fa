"""The segmentation U-Net (reference_behaviour.md §7.4) and its variants.

Encoder: `UNetDownPath`'s five levels (two conv3x3-BN-ReLU blocks each, widths 16-32-64-128-256,
2x2 max pooling between levels) without the inverse renderer's 4x4 feature conv: the same module,
so a pre-trained ``depth_net``/``albedo_net`` encoder loads into it key for key. Decoder: per level
a 2x2 stride-2 transposed conv, concatenation with the skip, two conv3x3-BN-ReLU blocks; a 1x1
conv to the classes. With 19 classes the supervised U-Net has 1,944,355 parameters (encoder
1,180,752 + decoder 763,603) at any image size.

``joint`` (``num_encoders=2``) runs two encoders on the same image and concatenates their outputs
level by level, centres included, so every decoder width doubles: 5,411,891 parameters
(2 x 1,180,752 + decoder 3,050,387). The release used the depth centre twice instead.
"""

from __future__ import annotations

import torch
from torch import nn

from unsup3d.api import UNetDownPath, count_parameters

UNET_WIDTH = 64  # `UNetDownPath` base width: levels 16, 32, 64, 128, 256 (feature_scale 4)
LEVELS = 5  # image size must be a multiple of 2 ** (LEVELS - 1)


def level_widths(width: int = UNET_WIDTH) -> list[int]:
    """Channels of the five encoder levels for a base width (64: 16, 32, 64, 128, 256)."""
    return [max(1, width // 4), max(1, width // 2), width, 2 * width, 4 * width]


def unet_encoder(width: int = UNET_WIDTH) -> UNetDownPath:
    """The U-Net's down path: a `UNetDownPath` whose 4x4 feature conv is removed.

    Only ``levels_forward`` is used; the state dict holds ``levels.{0..4}.*`` exactly as the
    inverse renderer's ``<net>.encoder.levels.*``.
    """
    down = UNetDownPath(3, width, 1)
    del down.bottleneck  # the decoder reads the levels; the 4x4 -> 1x1 feature is not used
    return down


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    """Two (conv3x3 + BatchNorm + ReLU), cin -> cout -> cout."""
    layers: list[nn.Module] = []
    for a, b in ((cin, cout), (cout, cout)):
        layers += [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU()]
    return nn.Sequential(*layers)


class UNetDecoder(nn.Module):
    """Up path from the centre to per-pixel class scores.

    Args:
        widths: channels of the (concatenated) encoder levels, finest first.
        num_classes: output channels.
    """

    def __init__(self, widths: list[int], num_classes: int) -> None:
        super().__init__()
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
            for i in range(len(widths) - 1)
        )
        self.blocks = nn.ModuleList(
            _conv_block(2 * widths[i], widths[i]) for i in range(len(widths) - 1)
        )
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        """Encoder levels (finest first, the last is the centre) -> (B, classes, S, S) logits."""
        h = skips[-1]
        for i in reversed(range(len(skips) - 1)):
            h = self.up[i](h)  # (B, w_i, S_i, S_i)
            h = self.blocks[i](torch.cat([skips[i], h], dim=1))  # (B, w_i, S_i, S_i)
        return self.head(h)


class SegmentationUNet(nn.Module):
    """U-Net with one encoder (supervised, depth, albedo) or two stacked ones (joint).

    Args:
        num_classes: output classes (CelebAMask-HQ: 19).
        num_encoders: 1, or 2 for the joint variant (depth and albedo encoders).
        width: `UNetDownPath` base width (64, the only one the paper's U-Net has).

    ``forward`` maps images in [-1, 1] (the inverse renderer's input space) to logits.
    """

    def __init__(self, num_classes: int, num_encoders: int = 1, width: int = UNET_WIDTH) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(unet_encoder(width) for _ in range(num_encoders))
        widths = [num_encoders * w for w in level_widths(width)]
        self.decoder = UNetDecoder(widths, num_classes)
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) in [-1, 1], S a multiple of 16 -> (B, classes, S, S) logits."""
        s = x.shape[-1]
        if x.dim() != 4 or x.shape[-2] != s or s % 2 ** (LEVELS - 1):
            raise ValueError(f"images must be (B, 3, S, S) with S % 16 == 0, got {tuple(x.shape)}")
        levels = [enc.levels_forward(x) for enc in self.encoders]
        skips = [torch.cat(per_level, dim=1) for per_level in zip(*levels)]  # joint: stacked
        return self.decoder(skips)

    def parameter_counts(self) -> dict[str, int]:
        """``total``, ``trainable`` (requires_grad), ``encoders`` and ``decoder`` parameters."""
        return {
            "total": count_parameters(self),
            "trainable": sum(p.numel() for p in self.parameters() if p.requires_grad),
            "encoders": count_parameters(self.encoders),
            "decoder": count_parameters(self.decoder),
        }
