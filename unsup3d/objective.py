"""The training objective of the inverse renderer: reconstruction losses + w * LOOCC.

`compute_objective` is the one function a training (or validation) step calls; it wires the
model's forward pass (`unsup3d.model`) to the loss terms (`unsup3d.losses`) and the LOOCC term
(`unsup3d.loocc`), so neither of those modules imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from unsup3d.loocc import LooccSettings, loocc_loss
from unsup3d.losses import LossWeights, PerceptualNet, load_perceptual_net, reconstruction_loss
from unsup3d.model import InverseRenderer, InverseRendering

NO_LOOCC = LooccSettings()  # variant none: the deterministic validation signal


@dataclass
class Objective:
    """What `compute_objective` returns (also unpacks as ``total, terms, output``).

    Attributes:
        total: scalar loss to back-propagate.
        terms: detached scalar tensors: ``l1``, ``l1_flip``, [``perc``, ``perc_flip``],
            [``depth_sm``], ``recon`` (the reconstruction loss without LOOCC: the deterministic
            validation signal), [``loocc``] (unweighted), ``total``.
        output: the forward pass.
    """

    total: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    output: InverseRendering | None = None

    def __iter__(self):
        return iter((self.total, self.terms, self.output))


def compute_objective(
    model: InverseRenderer,
    images: torch.Tensor,
    weights: LossWeights,
    loocc: LooccSettings,
    generator: torch.Generator | None = None,
    *,
    epoch: int = 0,
    perceptual: PerceptualNet | None = None,
) -> Objective:
    """One training (or validation) step's objective: reconstruction losses + w * LOOCC.

    Args:
        model: the inverse renderer (its mode and device decide everything else).
        images: (B, 3, S, S) in [0, 1], on the model's device.
        weights: reconstruction term weights.
        loocc: LOOCC settings; inactive (variant none or weight 0) skips the term.
        generator: the source of LOOCC's randomness (required when LOOCC is active; on CPU or
            the model's device).
        epoch: 0-based epoch (flip weight schedule).
        perceptual: the frozen VGG (`unsup3d.losses.load_perceptual_net`), required when
            ``weights.lam_perc > 0``.

    Returns:
        `Objective` (``total, terms, output = compute_objective(...)`` works). For a
        deterministic validation loss use ``terms["recon"]``, which never includes LOOCC.
    """
    if loocc.active and generator is None:
        raise ValueError("LOOCC is active: pass an explicit torch.Generator")
    out = model(images)
    recon, terms = reconstruction_loss(
        image=images,
        recon=out.recon_image,
        recon_flip=out.recon_image_flip,
        mask=out.mask,
        canon_depth=out.canon_depth_no_border,
        depth_range=model.depth_range,
        weights=weights,
        epoch=epoch,
        sigma_pixel=out.conf_pixel,
        sigma_perc=out.conf_perc,
        perceptual=perceptual,
    )
    terms["recon"] = recon.detach()
    total = recon
    if loocc.active:
        result = loocc_loss(out, model.renderer, model.encode, loocc, generator)
        total = total + loocc.weight * result.loss
        terms["loocc"] = result.loss.detach()
    terms["total"] = total.detach()
    return Objective(total=total, terms=terms, output=out)


def validation_terms(
    model: InverseRenderer,
    images: torch.Tensor,
    weights: LossWeights,
    perceptual: PerceptualNet | None = None,
) -> dict[str, torch.Tensor]:
    """Deterministic validation terms: the reconstruction losses without LOOCC."""
    return compute_objective(model, images, weights, NO_LOOCC, None, perceptual=perceptual).terms


def perceptual_net(weights: LossWeights, device: torch.device) -> nn.Module | None:
    """The frozen VGG16 relu3_3 net when ``lam_perc > 0`` (else None); never downloads."""
    if weights.lam_perc <= 0:
        return None
    return load_perceptual_net(weights.vgg_weights or None).to(device)
