"""Encoders pre-trained by inverse rendering: read from a ``run.py`` checkpoint, loaded strictly.

The inverse renderer's ``depth_net``/``albedo_net`` with ``model.encoder: unet`` hold a
`UNetDownPath`: keys ``<net>.encoder.levels.{0..4}.*`` plus its own 4x4 feature conv
``<net>.encoder.bottleneck.weight``. The levels load into the segmentation U-Net's encoder with
strict matching (every key present, every shape equal); the bottleneck is the one key skipped,
and nothing else may be. A checkpoint with the plain conv encoder, of another model, or with
another U-Net width is refused before anything is trained.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from segmentation.unet import UNET_WIDTH, level_widths
from unsup3d.api import (
    UserError,
    clean_state_dict,
    config_from_dict,
    load_checkpoint,
    load_model_state,
)

log = logging.getLogger(__name__)

PRETRAIN_CONFIG = "experiments/pretrain_unet_synthetic_faces.yaml"
ENCODERS = {
    "depth": ("depth_net",),
    "albedo": ("albedo_net",),
    "joint": ("depth_net", "albedo_net"),
}
SKIPPED = ("bottleneck.weight",)  # the inverse renderer's 4x4 -> 1x1 feature conv


@dataclass
class EncoderState:
    """One pre-trained encoder: its network name and its state under ``<net>.encoder.``."""

    net: str
    state: dict[str, torch.Tensor]
    loaded: list[str] = field(default_factory=list)  # full checkpoint keys, once loaded
    skipped: list[str] = field(default_factory=list)


def read_encoders(path: str | os.PathLike, encoder: str) -> list[EncoderState]:
    """The U-Net encoder state(s) of an inverse-renderer checkpoint, checked before any training.

    Args:
        path: a checkpoint written by ``run.py``. encoder: ``depth``, ``albedo`` or ``joint``.

    Returns:
        One `EncoderState` per network (``joint``: depth then albedo).

    Raises:
        UserError: a missing, corrupt or foreign file (one line naming it); a model that is not
            the inverse renderer; the plain conv encoder (names ``model.encoder: unet`` and the
            pre-training config); a U-Net width other than the segmentation U-Net's.
    """
    ckpt = load_checkpoint(path, map_location="cpu")
    cfg = config_from_dict(ckpt["config"], source=f"{path} (saved config)")
    kind = getattr(cfg.model, "encoder", None)
    if kind is None:
        raise UserError(
            f"{path}: a '{cfg.model.name}' model, not the inverse renderer; pass a run.py "
            f"checkpoint trained with model.encoder: unet ({PRETRAIN_CONFIG})"
        )
    if kind != "unet":
        raise UserError(
            f"{path}: its depth/albedo networks use the plain conv encoder (model.encoder: "
            f"{kind}), which has no U-Net levels; pre-train with model.encoder: unet: "
            f"python run.py --config {PRETRAIN_CONFIG}"
        )
    state = clean_state_dict(ckpt["model"])
    out = []
    for net in ENCODERS[encoder]:
        prefix = f"{net}.encoder."
        sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        key = "levels.2.0.weight"  # the level whose width is the base width
        width = int(sub[key].shape[0]) if key in sub else None
        if width != UNET_WIDTH:
            want = "-".join(map(str, level_widths(UNET_WIDTH)))
            got = "-".join(map(str, level_widths(width))) if width else "none"
            raise UserError(
                f"{path}: {net}'s U-Net encoder has width {width} (levels {got}); the "
                f"segmentation U-Net has width {UNET_WIDTH} ({want}); pre-train with "
                f"model.unet_width: {UNET_WIDTH} ({PRETRAIN_CONFIG})"
            )
        out.append(EncoderState(net, sub))
    return out


def load_encoders(
    encoders: nn.ModuleList, states: list[EncoderState], source: str
) -> list[EncoderState]:
    """Load each state's levels into the matching U-Net encoder, strictly.

    Args:
        encoders: the U-Net's encoders (`SegmentationUNet.encoders`), one per state.
        states: from `read_encoders`. source: the checkpoint path, for messages.

    Returns:
        ``states`` with ``loaded`` (the checkpoint keys loaded) and ``skipped`` filled in.

    Raises:
        UserError: a key other than the bottleneck left over, a missing key or a shape mismatch.
    """
    for enc, st in zip(encoders, states, strict=True):
        levels = {k: v for k, v in st.state.items() if k.startswith("levels.")}
        extra = sorted(set(st.state) - set(levels))
        if extra != sorted(SKIPPED):
            raise UserError(
                f"{source}: {st.net}.encoder has keys {extra} besides its levels; expected only "
                f"{list(SKIPPED)} (the inverse renderer's bottleneck)"
            )
        try:
            load_model_state(enc, levels, f"{source} ({st.net}.encoder)")
        except RuntimeError as exc:  # a shape mismatch
            raise UserError(
                f"{source}: {st.net}.encoder does not fit the U-Net encoder "
                f"({str(exc).splitlines()[-1].strip()[:160]})"
            ) from None
        st.loaded = [f"{st.net}.encoder.{k}" for k in sorted(levels)]
        st.skipped = [f"{st.net}.encoder.{k}" for k in extra]
        log.info(
            "loaded %d tensors from %s: %s.encoder.levels.{0..4}.* into encoder %d; skipped %s",
            len(st.loaded),
            source,
            st.net,
            list(encoders).index(enc),
            ", ".join(st.skipped),
        )
    return states
