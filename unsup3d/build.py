"""Build the parts of a run from its `Config`: renderer, model, objective, datasets, visuals.

The single place where config sections are turned into the library's explicit settings
(`ModelSettings`, `LossWeights`, `LooccSettings`, `Renderer`), so the trainer, ``run.py test /
extract`` and the evaluation packages build models the same way, from a checkpoint alone.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unsup3d.config import Config
from unsup3d.loocc import LooccSettings
from unsup3d.losses import LossWeights, load_perceptual_net
from unsup3d.model import InverseRenderer, ModelSettings, compute_objective
from unsup3d.models import build_model, load_model
from unsup3d.renderer import Renderer


def renderer(cfg: Config) -> Renderer:
    r = cfg.renderer
    return Renderer(
        cfg.data.image_size,
        fov_deg=r.fov_deg,
        rot_center_depth=r.rot_center_depth,
        min_depth=r.min_depth,
        max_depth=r.max_depth,
        near=r.near,
        far=r.far,
        convention=r.convention,
    )


def model_settings(cfg: Config) -> ModelSettings:
    m = cfg.model
    return ModelSettings(
        preset=m.preset,
        image_size=cfg.data.image_size,
        encoder=m.encoder,
        use_conf_map=m.use_conf_map,
        border_depth=m.border_depth,
        border_width=m.border_width,
        xyz_rotation_range_deg=m.xyz_rotation_range_deg,
        xy_translation_range=m.xy_translation_range,
        z_translation_range=m.z_translation_range,
        min_ambient=m.min_ambient,
        max_ambient=m.max_ambient,
        min_diffuse=m.min_diffuse,
        max_diffuse=m.max_diffuse,
        light_dxy_range=m.light_dxy_range,
    )


def loss_weights(cfg: Config) -> LossWeights:
    w = cfg.loss
    return LossWeights(
        lam_perc=w.lam_perc,
        lam_flip=w.lam_flip,
        lam_flip_start_epoch=w.lam_flip_start_epoch,
        lam_depth_sm=w.lam_depth_sm,
        vgg_weights=w.vgg_weights,
    )


def loocc_settings(cfg: Config) -> LooccSettings:
    c = cfg.loocc
    return LooccSettings(
        variant=c.variant,
        weight=c.weight,
        temperature=c.temperature,
        compat=c.compat,
        light_intensity_delta=c.light_intensity_delta,
        light_direction_deg=c.light_direction_deg,
        view_pitch_deg=c.view_pitch_deg,
        view_yaw_deg=c.view_yaw_deg,
    )


def model(cfg: Config) -> InverseRenderer:
    """The model described by ``cfg`` (random initialisation, CPU)."""
    return build_model(cfg)


def perceptual(cfg: Config, device: torch.device) -> nn.Module | None:
    """The frozen VGG16 relu3_3 net when ``loss.lam_perc > 0`` (else None); never downloads."""
    if cfg.loss.lam_perc <= 0:
        return None
    return load_perceptual_net(cfg.loss.vgg_weights or None).to(device)


def objective(
    model: InverseRenderer,
    images: torch.Tensor,
    cfg: Config,
    generator: torch.Generator | None,
    epoch: int,
    perceptual_net: nn.Module | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The training loss and its detached terms (``recon`` excludes LOOCC)."""
    total, terms, _ = compute_objective(
        model,
        images,
        loss_weights(cfg),
        loocc_settings(cfg),
        generator,
        epoch=epoch,
        perceptual=perceptual_net,
    )
    return total, terms


def validation_terms(
    model: InverseRenderer,
    images: torch.Tensor,
    cfg: Config,
    perceptual_net: nn.Module | None = None,
) -> dict[str, torch.Tensor]:
    """Deterministic validation terms: the reconstruction losses without LOOCC."""
    no_loocc = LooccSettings(variant="none")
    _, terms, _ = compute_objective(
        model, images, loss_weights(cfg), no_loocc, None, perceptual=perceptual_net
    )
    return terms


def _normalise(depth: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return ((hi - depth) / (hi - lo)).clamp(0, 1)[:, None].expand(-1, 3, -1, -1)  # near = bright


@torch.no_grad()
def visuals(
    model: InverseRenderer, images: torch.Tensor, cfg: Config | None = None
) -> dict[str, Any]:
    """Image grids and histograms for TensorBoard and test outputs (all images in [0, 1]).

    Images: input, reconstruction (and flipped), canonical albedo / shading / image / depth /
    normals, the canonical image relit from the left and right, and side views at yaw +-45 deg.
    """
    out = model(images)
    r = model.renderer
    lo, hi = r.min_depth, r.max_depth
    normal = out.canon_normal.permute(0, 3, 1, 2)  # (B, 3, S, S)
    relit = {}
    for name, dx in (("relit_left", 1.0), ("relit_right", -1.0)):
        light_dir = torch.nn.functional.normalize(
            torch.tensor([dx, -0.3, 1.0], device=images.device), dim=0
        )
        cos = (out.canon_normal * light_dir).sum(-1).clamp(min=0)[:, None]
        relit[name] = out.albedo * (
            out.light[:, :1, None, None] + out.light[:, 1:2, None, None] * cos
        )
    side = {}
    for name, yaw in (("view_left", -45.0), ("view_right", 45.0)):
        view = torch.zeros_like(out.view)
        view[:, 1] = math.radians(yaw)
        side[name] = r.render_rgb(out.canon_depth, out.canon_image.clamp(0, 1), view)[0]
    return {
        "images": {
            "input": images,
            "recon": out.recon_image,
            "recon_flip": out.recon_image_flip,
            "canon_albedo": out.albedo,
            "canon_shading": out.canon_shading.expand(-1, 3, -1, -1),
            "canon_image": out.canon_image,
            "canon_depth": _normalise(out.canon_depth, lo, hi),
            "canon_normal": (
                normal * torch.tensor([1.0, -1.0, -1.0], device=normal.device)[:, None, None] + 1
            )
            / 2,
            "recon_depth": _normalise(out.recon_depth, lo, hi),
            **relit,
            **side,
        },
        "histograms": {
            "light_ambient": out.light[:, 0],
            "light_diffuse": out.light[:, 1],
            "light_dx": out.light[:, 2],
            "light_dy": out.light[:, 3],
            **{
                f"view_{n}": out.view[:, i]
                for i, n in enumerate(("rx", "ry", "rz", "tx", "ty", "tz"))
            },
            "canon_depth": out.canon_depth.flatten(),
        },
        "output": out,
    }


def dataset(cfg: Config, split: str, keys: tuple[str, ...] | None = None):
    """The dataset split named by ``cfg.data``: built-in synthetic data, or a registered loader.

    ``split`` is ``train``/``val``/``test`` (mapped through ``data.*_split``) or any other split
    the dataset has (synthetic: ``ood``, ``ood_light``, ``ood_view``, ``tracks``). ``keys``
    limits the synthetic data's items to those keys (training needs only ``image``); loaders
    of files return their own items.
    """
    d = cfg.data
    if d.name.startswith("synthetic"):
        from unsup3d.data.synthetic import build_synthetic

        counts = {"train": d.num_train, "val": d.num_val, "test": d.num_test}
        kwargs: dict[str, Any] = {"seed": d.dataset_seed, "keys": keys}
        if counts.get(split):
            kwargs["num_images"] = counts[split]
        return build_synthetic(d.name, split, d.image_size, **kwargs)
    from unsup3d.data.registry import build_dataset

    options: dict[str, Any] = {}
    if d.crop:
        options["crop"] = list(d.crop)
    # Training augmentation follows the split's role, whatever data.train_split is called.
    options["train"] = split == "train"
    if split == "train":
        options["hflip"] = d.hflip
        if d.fraction < 1:
            options["fraction"] = d.fraction
    split_name = {"train": d.train_split, "val": d.val_split, "test": d.test_split}.get(
        split, split
    )
    return build_dataset(d.name, d.root, split_name, d.image_size, **options)


def model_from_checkpoint(
    path: str | Path, device: torch.device
) -> tuple[InverseRenderer, Config, dict[str, Any]]:
    """Rebuild the model from a checkpoint alone (its saved config) and load its weights."""
    return load_model(path, device)
