"""Encoders under a probe: loading, freezing, norm layers, and the "did it change?" check.

A backbone is any ``nn.Module`` with ``get_features(images, groups) -> dict[str, Tensor]`` that
maps images (B, 3, S, S) in [0, 1] to one (B, D_g) feature per requested group, e.g.
``{"depth": (B, 256), "albedo": (B, 256)}`` — the interface of the inverse renderer's
``get_features``. `load_backbone` builds one from a training checkpoint; the supervised
baseline (`classification.baseline`) has the same interface.

Frozen probes follow MoCo's ``main_lincls.py``: every parameter gets ``requires_grad=False``, the
whole backbone stays in ``eval()`` (norm statistics untouched), and after training
`check_unchanged` compares every parameter and buffer bit for bit against a snapshot.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from unsup3d.api import UserError, load_model


def load_backbone(checkpoint_path: str | os.PathLike, device: torch.device) -> nn.Module:
    """Build the model of a ``run.py`` checkpoint (`unsup3d.api.load_model`), weights loaded
    strictly.

    Args:
        checkpoint_path: a ``.pt`` written by ``run.py`` (config + model state dict).
        device: where the model goes.

    Returns:
        The model, on ``device``, with ``get_features(images, groups)``.

    Raises:
        UserError: missing file; the model code (``unsup3d.model``) not in this build; a
            checkpoint that does not load (wrong format, mismatched keys).
    """
    path = Path(checkpoint_path)
    if not path.is_file():
        raise UserError(
            f"{path}: checkpoint not found; pass a .pt written by run.py (e.g. <run>/best.pt)"
        )
    if importlib.util.find_spec("unsup3d.model") is None:
        raise UserError(
            f"{path}: finetuning needs the inverse-renderer model (unsup3d.model), which this build "
            "does not have yet; probe frozen features instead: extract them with `run.py extract`, "
            "then pass --features train.npz --eval-features test.npz"
        )
    # The model is rebuilt from the checkpoint's own config (STYLE.md §2) and loaded strictly.
    model, _, _ = load_model(path, device)
    if not callable(getattr(model, "get_features", None)):
        raise UserError(f"{path}: the model built from this checkpoint has no get_features()")
    return model


def backbone_image_size(model: nn.Module) -> int | None:
    """The image size S a backbone was built for (``model.settings.image_size``), if it says."""
    size = getattr(getattr(model, "settings", None), "image_size", None)
    return int(size) if size is not None else None


def encode(encoder: nn.Module, images: torch.Tensor, groups: Sequence[str]) -> torch.Tensor:
    """Concatenated group features.

    Args:
        encoder: a backbone (module docstring).
        images: (B, 3, S, S) float in [0, 1].
        groups: feature groups, concatenated in this order.

    Returns:
        (B, sum of the groups' widths).
    """
    feats = encoder.get_features(images, list(groups))
    missing = [g for g in groups if g not in feats]
    if missing:
        raise UserError(
            f"--groups: the backbone has no feature group(s) {missing}; it has {', '.join(feats)}"
        )
    return torch.cat([feats[g].flatten(1) for g in groups], dim=1)  # (B, D)


def stat_norm_layers(module: nn.Module) -> list[nn.Module]:
    """Norm layers with running statistics (BatchNorm, SyncBatchNorm, tracking InstanceNorm).

    GroupNorm and LayerNorm have none: their behaviour does not depend on train/eval mode.
    """
    return [
        m
        for m in module.modules()
        if isinstance(m, (_BatchNorm, _InstanceNorm)) and m.track_running_stats
    ]


def freeze(module: nn.Module) -> nn.Module:
    """``requires_grad=False`` on every parameter and ``eval()`` (norm statistics fixed)."""
    module.requires_grad_(False)
    return module.eval()


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of every parameter and buffer (running statistics and counters included)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def changed_entries(module: nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    """Names of state entries that differ bit for bit from ``before`` (or were added/removed)."""
    now = module.state_dict()
    changed = sorted(set(now) ^ set(before))
    for key in sorted(set(now) & set(before)):
        a, b = now[key].detach().cpu(), before[key]
        if a.shape != b.shape or a.dtype != b.dtype or not torch.equal(a, b):
            changed.append(key)
    return changed


def check_unchanged(module: nn.Module, before: dict[str, torch.Tensor]) -> None:
    """Raise if a frozen backbone changed during training (MoCo's ``sanity_check``).

    Raises:
        RuntimeError: naming up to five changed tensors; this is a bug in the probe, not bad input.
    """
    changed = changed_entries(module, before)
    if changed:
        raise RuntimeError(
            f"frozen backbone changed during training: {len(changed)} tensor(s), e.g. {changed[:5]}"
        )
