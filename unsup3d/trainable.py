"""The model interface: what the `Trainer`, ``run.py test`` and ``run.py extract`` need of a model.

Every model in the registry (`unsup3d.models`: PDR, and the baselines in ``baselines/``) derives
from `TrainableModel`, so the one trainer trains any of them (early stopping, atomic checkpoints,
exact resume, DDP, AMP, TensorBoard, ``metrics.jsonl``) and the one extractor writes the same
feature files for all. A model provides:

- ``Settings``: the frozen settings class of its ``model`` config section (with a ``name``
  field), and ``from_config(cfg)``: the model with random weights for a resolved
  `unsup3d.config.Config` (the model may keep the config sections its objective needs, e.g.
  PDR's ``loss`` and ``loocc``: settings, not state);
- `TrainableModel.training_terms`: the training objective of one batch (total + named terms,
  ``recon`` among them);
- `TrainableModel.validation_terms`: the same terms computed deterministically (any noise drawn
  from the generator the trainer seeds per validation batch), so early stopping on ``recon`` is
  reproducible;
- `TrainableModel.make_optimizer`: the optimiser it wants (default: Adam with the trainer's lr,
  betas and weight decay);
- ``feature_groups`` and `TrainableModel.get_features`: named feature groups, each (B, D);
- `TrainableModel.image_grids`: image grids and histograms for TensorBoard and test outputs
  (``input`` and ``recon`` at least);
- `TrainableModel.prepare_training`: load what only training needs (e.g. the frozen VGG16 of a
  perceptual term), so loading a checkpoint for extraction never needs those files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from unsup3d.errors import UserError

__all__ = ["TrainableModel", "adam"]


def adam(params, trainer) -> torch.optim.Optimizer:
    """Adam over ``params`` with the trainer settings' ``lr``, ``betas`` and ``weight_decay``."""
    return torch.optim.Adam(
        params, lr=trainer.lr, betas=tuple(trainer.betas), weight_decay=trainer.weight_decay
    )


class TrainableModel(nn.Module):
    """Base class of every registered model (see the module docstring for the contract).

    Images given to every method are (B, 3, S, S) in [0, 1], S = ``data.image_size``
    (``self.image_size``).
    """

    image_size: int

    Settings: ClassVar[type]
    feature_groups: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_config(cls, cfg) -> TrainableModel:
        """Default: ``cls(cfg.model, cfg.data.image_size)``; a size or setting the networks
        cannot take becomes one line naming the config keys."""
        try:
            return cls(cfg.model, cfg.data.image_size)
        except ValueError as exc:
            raise UserError(f"config: data.image_size / model: {exc}") from None

    def prepare_training(self, device: torch.device) -> None:
        """Load what training needs besides the weights (default: nothing)."""

    def training_terms(
        self, images: torch.Tensor, generator: torch.Generator, *, epoch: int, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The objective of one training batch.

        Args:
            images: the batch. generator: the step's random source (seeded by the trainer from
                (seed, step), on the model's device). epoch, step: 0-based epoch and step (for
                schedules inside the objective).

        Returns:
            (total to back-propagate, detached scalar terms incl. ``recon`` and ``total``).
        """
        raise NotImplementedError

    def validation_terms(
        self, images: torch.Tensor, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """Detached scalar terms of a validation batch, ``recon`` among them (early stopping);
        deterministic: any noise comes from ``generator``, which the trainer seeds per batch.

        Default: the training terms at epoch 0, step 0, right for an objective that draws no
        noise and does not follow the step; override it otherwise."""
        return self.training_terms(images, generator, epoch=0, step=0)[1]

    def make_optimizer(self, trainer) -> torch.optim.Optimizer:
        """The optimiser over the trainable parameters (``trainer``: `TrainerSettings`)."""
        return adam([p for p in self.parameters() if p.requires_grad], trainer)

    def get_features(
        self, images: torch.Tensor, groups: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """{group: (B, D_group)} for ``groups`` (default: every one of ``feature_groups``)."""
        raise NotImplementedError

    def image_grids(self, images: torch.Tensor) -> dict[str, Any]:
        """{"images": {name: (B, 3, S, S) in [0, 1]}, "histograms": {name: values}}; the images
        include ``input`` and ``recon`` (the model's reconstruction of the input)."""
        raise NotImplementedError

    def _check_images(self, images: torch.Tensor) -> None:
        """Raise ValueError unless ``images`` is (B, 3, S, S) with S = ``self.image_size``."""
        s = self.image_size
        if images.dim() != 4 or images.shape[1:] != (3, s, s):
            raise ValueError(
                f"images must be (B, 3, {s}, {s}) in [0, 1], got {tuple(images.shape)}"
            )

    def _check_groups(self, groups: Sequence[str] | None) -> tuple[str, ...]:
        groups = tuple(self.feature_groups if groups is None else groups)
        unknown = [g for g in groups if g not in self.feature_groups]
        if unknown:
            raise ValueError(
                f"unknown feature groups {unknown}; {type(self).__name__} has {list(self.feature_groups)}"
            )
        return groups
