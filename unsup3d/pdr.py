"""PDR as a registered, trainable model: the inverse renderer plus its training objective.

`PDR` is the `unsup3d.model.InverseRenderer` (networks, scene decoding, rendering, features) with
the training half of the model interface of `unsup3d.trainable`: its objective is
`unsup3d.objective.compute_objective` with the config's ``loss`` and ``loocc`` sections, its grids
are `unsup3d.visuals.visuals`. ``model.name: pdr`` (the default) builds it.
"""

from __future__ import annotations

from typing import Any

import torch

from unsup3d import objective
from unsup3d.errors import UserError
from unsup3d.loocc import LooccSettings
from unsup3d.losses import LossWeights
from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.renderer import Renderer
from unsup3d.visuals import visuals


class PDR(InverseRenderer):
    """The inverse renderer trained with the reconstruction losses + w * LOOCC.

    Args:
        settings: `ModelSettings`. renderer: the `Renderer`.
        loss: reconstruction term weights (``loss.*``). loocc: LOOCC settings (``loocc.*``).
    """

    Settings = ModelSettings

    def __init__(
        self,
        settings: ModelSettings,
        renderer: Renderer,
        loss: LossWeights | None = None,
        loocc: LooccSettings | None = None,
    ) -> None:
        super().__init__(settings, renderer)
        self.loss_weights = loss or LossWeights()
        self.loocc_settings = loocc or LooccSettings()
        self._frozen: dict[str, torch.nn.Module] = {}  # not submodules: never in a checkpoint

    @classmethod
    def from_config(cls, cfg) -> PDR:
        """PDR of a resolved `unsup3d.config.Config` (random init, CPU)."""
        try:
            return cls(cfg.model, Renderer(cfg.data.image_size, cfg.renderer), cfg.loss, cfg.loocc)
        except ValueError as exc:  # a size the networks cannot take: name the config keys
            raise UserError(f"config: data.image_size / model: {exc}") from None

    def prepare_training(self, device: torch.device) -> None:
        """Load the frozen VGG16 when ``loss.lam_perc > 0`` (fails, saying where to put the
        file, when it is missing)."""
        net = objective.perceptual_net(self.loss_weights, device)
        self._frozen = {"perceptual": net} if net is not None else {}

    def training_terms(
        self, images: torch.Tensor, generator: torch.Generator, *, epoch: int, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        result = objective.compute_objective(
            self,
            images,
            self.loss_weights,
            self.loocc_settings,
            generator,
            epoch=epoch,
            perceptual=self._frozen.get("perceptual"),
        )
        return result.total, result.terms

    def validation_terms(
        self, images: torch.Tensor, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """The reconstruction losses without LOOCC (deterministic; the generator is unused)."""
        return objective.validation_terms(
            self, images, self.loss_weights, self._frozen.get("perceptual")
        )

    def image_grids(self, images: torch.Tensor) -> dict[str, Any]:
        return visuals(self, images)
