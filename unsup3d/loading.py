"""Rebuild a model from a checkpoint alone: its saved config, the registry, strict weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from unsup3d.checkpoint import load_checkpoint, load_model_state
from unsup3d.config import Config, config_from_dict
from unsup3d.models import build_model


def load_model(path: str | Path, device: torch.device) -> tuple[Any, Config, dict[str, Any]]:
    """Rebuild a model from a checkpoint (its saved config) and load its weights strictly.

    Args:
        path: a checkpoint written by the trainer (``best.pt``, ``last.pt``, ...).
        device: where to put the model.

    Returns:
        (model in eval mode on ``device``, its `Config`, the checkpoint dict).

    Raises:
        UserError: a missing or corrupt file, a config the schema rejects, mismatched weights.
    """
    ckpt = load_checkpoint(path, map_location="cpu")
    cfg = config_from_dict(ckpt["config"], source=f"{path} (saved config)")
    net = build_model(cfg)
    load_model_state(net, ckpt["model"], str(path))
    return net.to(device).eval(), cfg, ckpt
