"""Reconstruction losses of the inverse renderer, as pure functions (reference_behaviour.md §3).

- `photometric_l1`: masked L1, optionally confidence-weighted (Laplacian negative log-likelihood).
- `perceptual_loss`: masked squared difference of VGG16 relu3_3 features, optionally
  confidence-weighted (Gaussian negative log-likelihood); `PerceptualNet` holds the frozen VGG16
  layers up to relu3_3 and `load_perceptual_net` loads them from a local file (never downloads).
- `depth_smoothness`: mean absolute finite differences of the canonical depth.
- `reconstruction_loss`: the release's weighted sum of these terms.

Images compared by `photometric_l1` are in the model's [-1, 1] space, as in the release, so loss
values match the release's; `PerceptualNet` takes [0, 1] images (it applies the ImageNet
normalisation itself).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from unsup3d.errors import UserError
from unsup3d.schema import Settings, setting

EPS = 1e-7
VGG16_FILE = "vgg16-397923af.pth"  # torchvision's ImageNet VGG16 weights file name
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class LossWeights(Settings):
    """Weights of the reconstruction terms (``loss.*``; LOOCC has its own, `unsup3d.loocc`).

    ``lam_perc > 0`` needs the VGG16 weights file (see `load_perceptual_net`).
    """

    lam_perc: float = setting(
        1.0, "perceptual (VGG16 relu3_3) weight (release faces 1, cars 0.01; synthetic 0)", lo=0.0
    )
    lam_flip: float = setting(
        0.5, "flipped-reconstruction weight (release faces 0.5, cars 1)", lo=0.0
    )
    lam_flip_start_epoch: int = setting(
        0, "before this (0-based) epoch the flip weight is 1 (release: 0, never)", lo=0
    )
    lam_depth_sm: float = setting(
        0.0, "depth smoothness weight (release faces 0, cars 0.1)", lo=0.0
    )
    vgg_weights: str = setting(
        "", "torchvision's VGG16 state dict; empty: $TORCH_HOME/hub/checkpoints/vgg16-397923af.pth"
    )

    def flip_weight(self, epoch: int) -> float:
        """The flip weight at ``epoch`` (0-based): 1 before ``lam_flip_start_epoch``."""
        return 1.0 if epoch < self.lam_flip_start_epoch else self.lam_flip


def _masked_mean(loss: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return loss.mean()
    mask = mask.expand_as(loss)
    return (loss * mask).sum() / mask.sum().clamp(min=EPS)


def photometric_l1(
    recon: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    sigma: torch.Tensor | None = None,
) -> torch.Tensor:
    """Masked L1, confidence-weighted when ``sigma`` is given.

    Per pixel l = |recon - target|; with sigma: l * sqrt(2) / (sigma + eps) + log(sigma + eps)
    (Laplacian negative log-likelihood up to a constant). Returns sum(l * m) / sum(m) over
    channels and pixels (the mask broadcast over channels).

    Args:
        recon, target: (B, C, H, W) images (model space [-1, 1] in this project).
        mask: (B, H, W) or (B, 1, H, W) weights in [0, 1], or None (plain mean).
        sigma: (B, 1, H, W) positive uncertainty, or None.

    Returns:
        Scalar loss.
    """
    loss = (recon - target).abs()
    if sigma is not None:
        loss = loss * 2**0.5 / (sigma + EPS) + torch.log(sigma + EPS)
    if mask is not None and mask.dim() == 3:
        mask = mask[:, None]
    return _masked_mean(loss, mask)


def depth_smoothness(depth: torch.Tensor, min_depth: float, max_depth: float) -> torch.Tensor:
    """Mean |vertical difference| + mean |horizontal difference| of a depth map, per depth range.

    Args:
        depth: (B, H, W) canonical depth.
        min_depth, max_depth: the canonical depth range; differences are divided by its width.

    Returns:
        Scalar loss.
    """
    span = max_depth - min_depth
    dv = (depth[:, 1:, :] - depth[:, :-1, :]).abs().mean()
    dh = (depth[:, :, 1:] - depth[:, :, :-1]).abs().mean()
    return (dv + dh) / span


class PerceptualNet(nn.Module):
    """Frozen VGG16 layers up to relu3_3 (torchvision's ``features[:16]``, same key names).

    Input (B, 3, H, W) in [0, 1] (ImageNet-normalised inside); output (B, 256, H/4, W/4).
    Parameters have ``requires_grad=False``; gradients still flow to the input.
    """

    def __init__(self) -> None:
        super().__init__()
        cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256]
        layers: list[nn.Module] = []
        cin = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU()]
                cin = int(v)
        self.features = nn.Sequential(*layers)  # indices 0..15 as torchvision's vgg16.features
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN)[None, :, None, None], False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD)[None, :, None, None], False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> PerceptualNet:
        # Always in eval mode: it is a fixed feature extractor.
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> relu3_3 features (B, 256, H/4, W/4)."""
        return self.features((images - self.mean) / self.std)


def default_vgg_path() -> Path:
    """torchvision's cache file: ``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE


def load_perceptual_net(path: str | os.PathLike | None = None) -> PerceptualNet:
    """Build `PerceptualNet` from torchvision's VGG16 state dict in a local file.

    Only the ``features.0`` to ``features.14`` tensors are read (the file may hold the whole VGG16).
    Nothing is ever downloaded.

    Args:
        path: the state dict file; None or ``""``: `default_vgg_path`.

    Raises:
        UserError: the file does not exist, cannot be read, or lacks the VGG16 feature layers.
    """
    path = Path(path) if path else default_vgg_path()
    if not path.is_file():
        raise UserError(
            f"{path}: VGG16 weights not found; put torchvision's {VGG16_FILE} there "
            "or set loss.lam_perc: 0"
        )
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (non-zip) serialisation cannot be memory-mapped
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file is the same user error
        raise UserError(
            f"{path}: cannot read VGG16 weights ({exc}); put torchvision's {VGG16_FILE} there"
        ) from exc
    net = PerceptualNet()
    wanted = net.features.state_dict()
    if not isinstance(state, dict):
        raise UserError(f"{path}: not a state dict; put torchvision's {VGG16_FILE} there")
    missing = [k for k in wanted if f"features.{k}" not in state]
    wrong = [
        k
        for k in wanted
        if f"features.{k}" in state and tuple(state[f"features.{k}"].shape) != wanted[k].shape
    ]
    if missing or wrong:
        raise UserError(
            f"{path}: not torchvision's VGG16 state dict (missing {missing}, wrong shape {wrong}); "
            f"put torchvision's {VGG16_FILE} there"
        )
    net.features.load_state_dict({k: state[f"features.{k}"] for k in wanted})
    return net


def perceptual_loss(
    features_recon: torch.Tensor,
    features_target: torch.Tensor,
    mask: torch.Tensor | None = None,
    sigma: torch.Tensor | None = None,
) -> torch.Tensor:
    """Masked squared feature difference, confidence-weighted when ``sigma`` is given.

    Per feature l = (f1 - f2)^2; with sigma: l / (2 sigma^2 + eps) + log(sigma + eps). The image
    mask is average-pooled to the feature resolution and broadcast over channels.

    Args:
        features_recon, features_target: (B, C, h, w) features (e.g. `PerceptualNet` outputs).
        mask: (B, H, W) or (B, 1, H, W) image-resolution weights, or None.
        sigma: (B, 1, h, w) positive uncertainty at feature resolution, or None.

    Returns:
        Scalar loss.
    """
    loss = (features_recon - features_target) ** 2
    if sigma is not None:
        loss = loss / (2 * sigma**2 + EPS) + torch.log(sigma + EPS)
    if mask is not None:
        if mask.dim() == 3:
            mask = mask[:, None]
        mask = F.adaptive_avg_pool2d(mask, loss.shape[-2:])
    return _masked_mean(loss, mask)


def reconstruction_loss(
    *,
    image: torch.Tensor,
    recon: torch.Tensor,
    recon_flip: torch.Tensor,
    mask: torch.Tensor,
    canon_depth: torch.Tensor,
    depth_range: tuple[float, float],
    weights: LossWeights,
    epoch: int = 0,
    sigma_pixel: torch.Tensor | None = None,
    sigma_perc: torch.Tensor | None = None,
    perceptual: PerceptualNet | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The release's reconstruction objective.

    L = L1 + w_flip L1_flip + lam_perc (Perc + w_flip Perc_flip) + lam_depth_sm DepthSmooth,
    with w_flip = `LossWeights.flip_weight` (epoch). The flip terms compare the reconstruction
    of the mirrored canonical scene with the same input, using the second sigma channel.

    Args:
        image, recon, recon_flip: (B, 3, S, S) in [0, 1] (the L1 is taken in [-1, 1] units).
        mask: (B, S, S) pixels covered by both reconstructions (no gradient needed).
        canon_depth: (B, S, S) canonical depth for the smoothness term.
        depth_range: (min_depth, max_depth).
        weights: the term weights. epoch: 0-based epoch (flip schedule).
        sigma_pixel: (B, 2, S, S) or None. sigma_perc: (B, 2, S/4, S/4) or None.
        perceptual: needed when ``weights.lam_perc > 0``.

    Returns:
        (total, terms): the scalar loss and its detached terms ``l1``, ``l1_flip``, ``perc``,
        ``perc_flip``, ``depth_sm`` (the latter three only when their weight is > 0).
    """
    w_flip = weights.flip_weight(epoch)
    x, r, rf = image * 2 - 1, recon * 2 - 1, recon_flip * 2 - 1  # model space, as the release
    s0 = sigma_pixel[:, :1] if sigma_pixel is not None else None
    s1 = sigma_pixel[:, 1:] if sigma_pixel is not None else None
    l1 = photometric_l1(r, x, mask, s0)
    l1_flip = photometric_l1(rf, x, mask, s1)
    total = l1 + w_flip * l1_flip
    terms = {"l1": l1.detach(), "l1_flip": l1_flip.detach()}
    if weights.lam_perc > 0:
        if perceptual is None:
            raise ValueError("lam_perc > 0 needs a PerceptualNet (see load_perceptual_net)")
        # One VGG pass over the three batches: (3B, 256, S/4, S/4).
        f_x, f_r, f_rf = perceptual(torch.cat([image, recon, recon_flip])).chunk(3)
        p0 = sigma_perc[:, :1] if sigma_perc is not None else None
        p1 = sigma_perc[:, 1:] if sigma_perc is not None else None
        perc = perceptual_loss(f_r, f_x.detach(), mask, p0)
        perc_flip = perceptual_loss(f_rf, f_x.detach(), mask, p1)
        total = total + weights.lam_perc * (perc + w_flip * perc_flip)
        terms.update(perc=perc.detach(), perc_flip=perc_flip.detach())
    if weights.lam_depth_sm > 0:
        dsm = depth_smoothness(canon_depth, *depth_range)
        total = total + weights.lam_depth_sm * dsm
        terms["depth_sm"] = dsm.detach()
    return total, terms
