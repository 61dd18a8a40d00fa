"""The model registry: ``model.name`` in a config -> the model class, resolved lazily.

Each entry is a ``"module:Class"`` path, imported only when that model is built, so the core never
imports a model package (``baselines/``) it does not need (and never imports one at all: the
paths are strings). A registered class derives from `unsup3d.trainable.TrainableModel`:

- ``Settings``: the frozen settings dataclass of its ``model`` config section (with a ``name``
  field), defined once beside the class (`unsup3d.schema`);
- ``from_config(cfg)``: the model with random weights for a resolved `unsup3d.config.Config`;
- the training, validation, optimiser, feature and image-grid methods the trainer and
  ``run.py test`` / ``extract`` call.

Register another model with `register_model`.
"""

from __future__ import annotations

import importlib
from typing import Any

from unsup3d.errors import UserError

MODELS: dict[str, str] = {
    "pdr": "unsup3d.pdr:PDR",
    "vqvae": "baselines.vqvae:VQVAE",
    "betavae": "baselines.betavae:BetaVAE",
    "ae": "baselines.autoencoder:RendererFreeAE",
    "gdrae": "baselines.gdrae:GDRAE",
    "fdae": "baselines.fdae:FDAE",
}


def register_model(name: str, path: str) -> None:
    """Register ``"module:Class"`` under ``model.name: <name>``.

    Raises:
        ValueError: the name is taken by another path (a programming error, not user input).
    """
    if MODELS.get(name, path) != path:
        raise ValueError(f"model name {name!r} is already registered to {MODELS[name]!r}")
    if ":" not in path:
        raise ValueError(f"model path {path!r} must be 'module:Class'")
    MODELS[name] = path


def model_class(name: str) -> type:
    """The class registered as ``name``.

    Raises:
        UserError: an unknown name (repeating it and listing the registered ones).
    """
    if name not in MODELS:
        raise UserError(
            f"model.name '{name}': unknown model; registered models: {', '.join(sorted(MODELS))}"
        )
    module, attr = MODELS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def build_model(cfg) -> Any:
    """The model described by ``cfg`` (a resolved `unsup3d.config.Config`), random weights, CPU."""
    return model_class(cfg.model.name).from_config(cfg)
