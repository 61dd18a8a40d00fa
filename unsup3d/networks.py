"""The inverse renderer's networks: one encoder(-decoder) per scene parameter, and the confidence net.

Layer by layer these are the release's networks (``reference_behaviour.md`` §1.1): bias-free
convolutions, affine GroupNorm with ``channels / 4`` groups, a 256-d bottleneck per scene
parameter. With the ``paper`` widths the parameter counts are exactly the paper's (see
`PRESETS` and ``docs/model.md``).

Deviations from the release, each deliberate (ARCHITECTURE.md §3):

- Light/view heads end with a tanh (bounded outputs, as in unsup3d); their feature is the trunk
  output after ReLU. The release moved the tanh onto the trunk and left the heads unbounded.
- Any image size S >= 16 with S % 4 == 0 works, with the same parameters: the last encoder
  stage is pooled (adaptive average pooling, or nearest replication below 4x4) to 4x4 before the
  final 4x4 convolution, so every feature is (B, zdim) (the release's is 1x1 only at S = 64), and
  the decoders' last upsampling step resizes to S instead of doubling. At S = 64 both are the
  identity, i.e. exactly the release's computation.
- The U-Net down path (for segmentation pre-training) ends with the same ReLU bottleneck as the
  convolutional one; the release L2-normalised that feature instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# Spatial size of the last encoder stage, reduced to 1x1 by the final 4x4 convolution.
BOTTLENECK_SIZE = 4


@dataclass(frozen=True)
class NetworkWidths:
    """Widths of one model preset.

    Attributes:
        nf_depth_albedo: base width of the depth and albedo encoder-decoders (release: 64).
        nf_light_view: base width of the light and view encoders (release: 32).
        nf_confidence: base width of the confidence network (release: 64).
        zdim: feature size of every scene parameter (release: 256; = 8 * nf_light_view there).
        zdim_confidence: bottleneck of the confidence network (release: 128).
    """

    nf_depth_albedo: int
    nf_light_view: int
    nf_confidence: int
    zdim: int
    zdim_confidence: int


PRESETS: dict[str, NetworkWidths] = {
    # The release's widths: 29,441,536 parameters in depth+albedo+light+view.
    "paper": NetworkWidths(64, 32, 64, 256, 128),
    # Quarter widths (features stay 256-d): about 3.7 M parameters, for CPU runs and tests.
    "small": NetworkWidths(16, 8, 16, 256, 32),
    # Eighth of small (features stay 256-d): 357,216 parameters, for fixtures and fast tests.
    "tiny": NetworkWidths(2, 1, 2, 256, 4),
}


def resize_to(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (B, C, h, w) feature maps to (B, C, size, size).

    Identity when the size already matches; adaptive average pooling when shrinking; nearest
    replication when enlarging (both parameter-free, so the networks' weights do not depend on
    the image size).
    """
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    if h >= size and w >= size:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=(size, size), mode="nearest")


def _groups(channels: int) -> int:
    # The release uses GroupNorm(16, 64), (32, 128), (64, 256): four channels per group.
    return max(1, channels // 4)


def _conv(cin: int, cout: int, k: int, stride: int = 1, pad: int = 0) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=k, stride=stride, padding=pad, bias=False)


def _deconv(cin: int, cout: int, k: int = 4, stride: int = 2, pad: int = 1) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, kernel_size=k, stride=stride, padding=pad, bias=False)


class DownPath(nn.Module):
    """Four stride-2 4x4 convolutions, then a 4x4 convolution to a (B, zdim) feature.

    ``norm=True`` is the depth/albedo/confidence encoder (GroupNorm on the first three stages,
    LeakyReLU 0.2); ``norm=False`` is the light/view trunk (plain ReLU, no normalisation). The
    feature is the final convolution's output after ReLU (>= 0).

    Args:
        cin: input channels. nf: base width (stages nf, 2nf, 4nf, 8nf). zdim: feature size.
    """

    def __init__(self, cin: int, nf: int, zdim: int, norm: bool) -> None:
        super().__init__()
        widths = [cin, nf, 2 * nf, 4 * nf, 8 * nf]
        layers: list[nn.Module] = []
        for i in range(4):
            layers.append(_conv(widths[i], widths[i + 1], 4, stride=2, pad=1))
            if norm and i < 3:
                layers.append(nn.GroupNorm(_groups(widths[i + 1]), widths[i + 1]))
            layers.append(nn.LeakyReLU(0.2) if norm else nn.ReLU())
        self.stages = nn.Sequential(*layers)
        self.bottleneck = _conv(8 * nf, zdim, BOTTLENECK_SIZE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, cin, S, S) -> (B, zdim) feature (after ReLU)."""
        h = resize_to(self.stages(x), BOTTLENECK_SIZE)  # (B, 8nf, 4, 4)
        return F.relu(self.bottleneck(h)).flatten(1)  # (B, zdim)


class UNetDownPath(nn.Module):
    """U-Net encoder (segmentation's layout) with the same (B, zdim) ReLU bottleneck.

    Five levels of two (3x3 conv + BatchNorm + ReLU) blocks with widths nf/4, nf/2, nf, 2nf, 4nf
    (nf = 64: 16, 32, 64, 128, 256, segmentation's U-Net with feature_scale 4), 2x2 max pooling
    between levels, then the centre is pooled to 4x4 and a bias-free 4x4 conv gives the feature.
    As in the release's U-Net variant, these convolutions have biases.
    """

    def __init__(self, cin: int, nf: int, zdim: int) -> None:
        super().__init__()
        widths = [max(1, nf // 4), max(1, nf // 2), nf, 2 * nf, 4 * nf]
        self.levels = nn.ModuleList()
        prev = cin
        for w in widths:
            self.levels.append(
                nn.Sequential(
                    nn.Conv2d(prev, w, 3, padding=1),
                    nn.BatchNorm2d(w),
                    nn.ReLU(),
                    nn.Conv2d(w, w, 3, padding=1),
                    nn.BatchNorm2d(w),
                    nn.ReLU(),
                )
            )
            prev = w
        self.bottleneck = _conv(widths[-1], zdim, BOTTLENECK_SIZE)

    def levels_forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five levels' outputs (skips for a segmentation decoder), finest first.

        At S = 64 with nf = 64: (B, 16, 64, 64), (B, 32, 32, 32), (B, 64, 16, 16),
        (B, 128, 8, 8), (B, 256, 4, 4).
        """
        outs = []
        h = x
        for i, level in enumerate(self.levels):
            if i > 0:
                h = F.max_pool2d(h, 2)
            h = level(h)
            outs.append(h)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, cin, S, S) -> (B, zdim) feature (after ReLU)."""
        centre = resize_to(self.levels_forward(x)[-1], BOTTLENECK_SIZE)  # (B, 4nf, 4, 4)
        return F.relu(self.bottleneck(centre)).flatten(1)  # (B, zdim)


class UpPath(nn.Module):
    """The depth/albedo decoder: (B, zdim) feature -> (B, cout, S, S) map.

    Stages 1 -> 4 -> 8 -> 16 -> 32 pixels by 4x4 transposed convolutions, each followed by a 3x3
    convolution; then a nearest resize to S (the release: x2 to 64), a 3x3 and two 5x5
    convolutions. The last layer has no normalisation and no activation (the model applies one).
    """

    def __init__(self, cout: int, nf: int, zdim: int, image_size: int) -> None:
        super().__init__()
        self.image_size = int(image_size)

        def gn(c: int) -> nn.GroupNorm:
            return nn.GroupNorm(_groups(c), c)

        layers: list[nn.Module] = [
            _deconv(zdim, 8 * nf, 4, stride=1, pad=0),  # 1 -> 4
            nn.ReLU(),
            _conv(8 * nf, 8 * nf, 3, pad=1),
            nn.ReLU(),
        ]
        for cin, c in ((8 * nf, 4 * nf), (4 * nf, 2 * nf), (2 * nf, nf)):  # 4 -> 8 -> 16 -> 32
            layers += [_deconv(cin, c), gn(c), nn.ReLU(), _conv(c, c, 3, pad=1), gn(c), nn.ReLU()]
        self.coarse = nn.Sequential(*layers)
        self.fine = nn.Sequential(
            _conv(nf, nf, 3, pad=1),
            gn(nf),
            nn.ReLU(),
            _conv(nf, nf, 5, pad=2),
            gn(nf),
            nn.ReLU(),
            _conv(nf, cout, 5, pad=2),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, zdim) -> (B, cout, S, S), no output activation."""
        h = self.coarse(z[:, :, None, None])  # (B, nf, 32, 32)
        return self.fine(resize_to(h, self.image_size))  # (B, cout, S, S)


class EncoderDecoder(nn.Module):
    """A depth or albedo network: down path to a (B, zdim) feature, up path to an S x S map.

    Args:
        cout: output channels (1 depth, 3 albedo).
        nf, zdim: widths (see `NetworkWidths`).
        image_size: S.
        encoder: ``"conv"`` (the release's down path) or ``"unet"`` (U-Net encoder, for
            segmentation pre-training).
        activation: ``"tanh"`` or ``None`` on the output (the release: tanh for albedo, none for
            the raw depth, which the model normalises itself).
        unet_nf: base width of the ``"unet"`` encoder (levels nf/4 ... 4nf), None: ``nf``.
    """

    def __init__(
        self,
        cout: int,
        nf: int,
        zdim: int,
        image_size: int,
        encoder: str,
        activation: str | None = None,
        unet_nf: int | None = None,
    ) -> None:
        super().__init__()
        if encoder == "conv":
            self.encoder: nn.Module = DownPath(3, nf, zdim, norm=True)
        elif encoder == "unet":
            self.encoder = UNetDownPath(3, unet_nf or nf, zdim)
        else:
            raise ValueError(f"encoder must be 'conv' or 'unet', got {encoder!r}")
        if activation not in (None, "tanh"):
            raise ValueError(f"activation must be None or 'tanh', got {activation!r}")
        self.decoder = UpPath(cout, nf, zdim, image_size)
        self.activation = activation

    def decode(self, feature: torch.Tensor) -> torch.Tensor:
        """(B, zdim) -> (B, cout, S, S)."""
        out = self.decoder(feature)
        return torch.tanh(out) if self.activation == "tanh" else out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) image in [-1, 1] -> (map (B, cout, S, S), feature (B, zdim))."""
        feature = self.encoder(x)
        return self.decode(feature), feature


class ParameterEncoder(nn.Module):
    """A light or view network: ReLU trunk to a (B, zdim) feature, 1x1 head, tanh.

    Args:
        cout: number of scene values (4 light, 6 view). nf, zdim: widths.
    """

    def __init__(self, cout: int, nf: int, zdim: int) -> None:
        super().__init__()
        self.encoder = DownPath(3, nf, zdim, norm=False)
        self.head = _conv(zdim, cout, 1)

    def decode(self, feature: torch.Tensor) -> torch.Tensor:
        """(B, zdim) -> (B, cout) in (-1, 1)."""
        return torch.tanh(self.head(feature[:, :, None, None]).flatten(1))  # (B, cout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) image in [-1, 1] -> (values (B, cout) in (-1, 1), feature (B, zdim))."""
        feature = self.encoder(x)
        return self.decode(feature), feature


class ConfidenceNet(nn.Module):
    """Per-pixel uncertainty sigma (> 0) for the photometric and perceptual losses.

    Down path as the depth network's (bottleneck ``zdim``), a shared up path to S/4, then two
    Softplus heads: 2 channels at S x S (photometric loss; 2nd channel for the flipped
    reconstruction) and 2 channels at S/4 x S/4 (perceptual loss on VGG relu3_3). At S = 64 the
    shared trunk ends at 16 x 16 exactly as the release; otherwise it is resized to S/4.
    """

    def __init__(self, nf: int, zdim: int, image_size: int) -> None:
        super().__init__()
        self.image_size = int(image_size)

        def gn(c: int) -> nn.GroupNorm:
            return nn.GroupNorm(_groups(c), c)

        self.encoder = DownPath(3, nf, zdim, norm=True)
        self.trunk = nn.Sequential(
            _deconv(zdim, 8 * nf, 4, stride=1, pad=0),  # 1 -> 4
            nn.ReLU(),
            _deconv(8 * nf, 4 * nf),  # 4 -> 8
            gn(4 * nf),
            nn.ReLU(),
            _deconv(4 * nf, 2 * nf),  # 8 -> 16
            gn(2 * nf),
            nn.ReLU(),
        )
        self.pixel_head = nn.Sequential(
            _deconv(2 * nf, nf),  # S/4 -> S/2
            gn(nf),
            nn.ReLU(),
            _deconv(nf, nf),  # S/2 -> S
            gn(nf),
            nn.ReLU(),
            _conv(nf, 2, 5, pad=2),
            nn.Softplus(),
        )
        self.feature_head = nn.Sequential(_conv(2 * nf, 2, 3, pad=1), nn.Softplus())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) image in [-1, 1] -> (sigma_pixel (B, 2, S, S), sigma_perc (B, 2, S/4, S/4))."""
        h = self.trunk(self.encoder(x)[:, :, None, None])  # (B, 2nf, 16, 16)
        h = resize_to(h, self.image_size // 4)  # (B, 2nf, S/4, S/4)
        return self.pixel_head(h), self.feature_head(h)


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not) of ``module``; buffers are not counted."""
    return sum(p.numel() for p in module.parameters())
