"""The renderer-free autoencoder (``model.name: ae``): PDR's encoders without the renderer.

The control none of the papers ran: does PDR's downstream performance come from the physical
decomposition and the renderer, or from the architecture? It keeps PDR's four encoders exactly
(the ``preset``'s widths: depth and albedo `DownPath` with GroupNorm, light and view the plain
ReLU trunk; four 256-d ReLU features named ``depth``, ``albedo``, ``light``, ``view``), and
replaces the decoders, the scene and the renderer by one convolutional decoder from the four
features' concatenation (1024-d) straight to the image: PDR's depth/albedo `UpPath` widened at its
input, with a tanh. The loss is PDR's photometric L1 in [-1, 1] units, plus
``loss.lam_perc`` x the perceptual term when its weights are given; no flip term, no confidence
map, no physical parameters. The group names are the scene parameters' only so that the same
``--groups depth,albedo`` selects the same encoders; nothing makes them mean depth or albedo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from unsup3d.api import (
    GROUPS,
    PRESETS,
    DownPath,
    LossWeights,
    Settings,
    TrainableModel,
    UpPath,
    UserError,
    perceptual_loss,
    perceptual_net,
    photometric_l1,
    setting,
)


@dataclass(frozen=True)
class AESettings(Settings):
    """Settings of the renderer-free autoencoder (``model.*`` with ``model.name: ae``)."""

    name: str = setting("ae", "model registry name")
    preset: Literal["paper", "small", "tiny"] = setting(
        "paper", "PDR's network widths (unsup3d.networks.PRESETS); match the PDR run compared"
    )


class RendererFreeAE(TrainableModel):
    """PDR's four encoders -> one decoder -> the image.

    Args:
        settings: `AESettings`. image_size: S (>= 16, a multiple of 4, as PDR).
        loss: PDR's loss weights (only ``lam_perc`` and ``vgg_weights`` apply).
    """

    Settings = AESettings
    feature_groups = GROUPS

    def __init__(
        self, settings: AESettings, image_size: int, loss: LossWeights | None = None
    ) -> None:
        super().__init__()
        if image_size < 16 or image_size % 4:
            raise ValueError(f"image_size must be >= 16 and a multiple of 4, got {image_size}")
        self.settings, self.image_size = settings, image_size
        self.loss_weights = loss or LossWeights()
        w = PRESETS[settings.preset]
        self.encoders = nn.ModuleDict(
            {
                "depth": DownPath(3, w.nf_depth_albedo, w.zdim, norm=True),
                "albedo": DownPath(3, w.nf_depth_albedo, w.zdim, norm=True),
                "light": DownPath(3, w.nf_light_view, w.zdim, norm=False),
                "view": DownPath(3, w.nf_light_view, w.zdim, norm=False),
            }
        )
        self.decoder = UpPath(3, w.nf_depth_albedo, len(GROUPS) * w.zdim, image_size)
        self._frozen: dict[str, nn.Module] = {}  # not submodules: never in a checkpoint

    @classmethod
    def from_config(cls, cfg) -> RendererFreeAE:
        try:
            return cls(cfg.model, cfg.data.image_size, cfg.loss)
        except ValueError as exc:
            raise UserError(f"config: data.image_size: {exc}") from None

    def prepare_training(self, device: torch.device) -> None:
        """The frozen VGG16 when ``loss.lam_perc > 0`` (an error says where to put it)."""
        net = perceptual_net(self.loss_weights, device)
        self._frozen = {"perceptual": net} if net is not None else {}

    def get_features(
        self, images: torch.Tensor, groups: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        groups = self._check_groups(groups)
        self._check_images(images)
        x = images * 2 - 1
        return {g: self.encoders[g](x) for g in groups}

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) in [0, 1]."""
        features = self.get_features(images)
        z = torch.cat([features[g] for g in GROUPS], dim=1)
        return (torch.tanh(self.decoder(z)) + 1) / 2

    def training_terms(
        self, images: torch.Tensor, generator: torch.Generator, *, epoch: int, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L1 (+ perceptual); no noise, no schedule: validation uses the same terms."""
        recon = self.reconstruct(images)
        l1 = photometric_l1(recon * 2 - 1, images * 2 - 1)
        total, terms = l1, {"l1": l1}
        if self.loss_weights.lam_perc > 0:
            if "perceptual" not in self._frozen:
                raise ValueError("loss.lam_perc > 0: call prepare_training first (loads VGG16)")
            f_x, f_r = self._frozen["perceptual"](torch.cat([images, recon])).chunk(2)
            perc = perceptual_loss(f_r, f_x.detach())
            total = total + self.loss_weights.lam_perc * perc
            terms["perc"] = perc
        terms |= {"recon": total, "total": total}
        return total, {k: v.detach() for k, v in terms.items()}

    def image_grids(self, images: torch.Tensor) -> dict[str, Any]:
        return {"images": {"input": images, "recon": self.reconstruct(images)}, "histograms": {}}
