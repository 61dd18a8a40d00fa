"""What the model-level analyses (``gradcam.py``, ``invariance.py``) share: the one check that a
checkpoint is a PDR model where an analysis needs PDR's renderer or encoders (`load_pdr_model`),
test images from a checkpoint's dataset, the Grad-CAM target layer of each encoder, and Grad-CAM
of a probe through the whole image -> encoders -> probe pipeline (`probe_grad_cam`).

Target layer (ARCHITECTURE.md §3; reference_behaviour.md §7.3): the release's ``test_trainer.py``
took Grad-CAM on the depth/albedo down path's conv at index -4, the stride-2 conv from 8 x 8 to
4 x 4 at S = 64. Here, for every encoder (the depth/albedo ``DownPath`` or U-Net, and the
light/view trunks, which have the same stride-2 stages), the target is the **last convolution
before the bottleneck whose output is at least 4 x 4**: at S = 64 exactly the release's layer;
at S = 16 or 32 the conv that also maps 8 x 8 to 4 x 4 (later ones there give 2 x 2 or 1 x 1
maps, which Grad-CAM cannot localise with).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from analysis.attribution import (
    IGShares,
    grad_cam_maps,
    group_slices,
    integrated_gradients_shares,
    predicted_index,
)
from analysis.records import CamSummary
from evalkit import StandardizedLinear
from unsup3d.api import (
    BOTTLENECK_SIZE,
    GROUPS,
    FeatureSet,
    UserError,
    atomic_path,
    load_checkpoint,
    load_model,
    sha256_file,
)

log = logging.getLogger(__name__)

PDR = "pdr"  # model.name of the inverse renderer (the registry's default)


def checkpoint_model_name(ckpt: dict) -> str:
    """``model.name`` of a checkpoint's saved config (``pdr`` when the config predates it)."""
    model = ckpt.get("config", {}).get("model") or {}
    return str(model.get("name", PDR)) if isinstance(model, dict) else PDR


def load_pdr_model(path: str | Path, device: torch.device, analysis: str, fix: str):
    """A PDR checkpoint's model, config and checkpoint dict; any other model is refused.

    The analyses that re-render through PDR's renderer or explain its physical encoders
    (``invariance.py --mode render``, ``gradcam.py``) call this, so the refusal is the same
    everywhere. The saved config is read before the model is built, so a checkpoint of a model
    this code does not register is refused by the same line.

    Args:
        path: the checkpoint. device: where to put the model.
        analysis: what needs PDR, for the message (``"invariance by re-rendering"``).
        fix: what to do instead (``"use --mode data for any model"``).

    Returns:
        (model in eval mode, `Config`, checkpoint dict), as `unsup3d.api.load_model`.

    Raises:
        UserError: ``<path>: a <name> checkpoint; <analysis> needs a PDR (model.name: pdr)
            checkpoint; <fix>``, or `load_model`'s errors.
    """
    name = checkpoint_model_name(load_checkpoint(path, map_location="cpu"))
    if name != PDR:
        raise UserError(
            f"{path}: a {name} checkpoint; {analysis} needs a PDR (model.name: {PDR}) "
            f"checkpoint; {fix}"
        )
    return load_model(path, device)


@dataclass(frozen=True)
class CamLayer:
    """A Grad-CAM target layer.

    Attributes:
        module: the conv module inside the encoder.
        name: its qualified name inside the model (e.g. ``depth_net.encoder.stages.3``).
        output_size: (h, w) of its output for the model's image size.
    """

    module: nn.Module
    name: str
    output_size: tuple[int, int]


def cam_layers(
    model: nn.Module, groups: Sequence[str], min_size: int = BOTTLENECK_SIZE
) -> dict[str, CamLayer]:
    """The Grad-CAM target layer of each group's encoder (module docstring).

    Args:
        model: an `unsup3d.model.InverseRenderer` (its ``nets()`` and ``image_size``).
        groups: encoder names (``depth``, ``albedo``, ``light``, ``view``).
        min_size: smallest output side accepted (4: the release's 8 -> 4 conv at S = 64).

    Returns:
        group -> `CamLayer`.
    """
    s = model.image_size
    nets = model.nets()
    names = {m: n for n, m in model.named_modules()}
    out: dict[str, CamLayer] = {}
    sizes: dict[nn.Module, tuple[int, int]] = {}  # conv -> output (h, w), filled by the hooks

    def record(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        sizes[module] = tuple(output.shape[-2:])

    for g in groups:
        encoder = nets[g].encoder
        bottleneck = getattr(encoder, "bottleneck", None)
        convs = [m for m in encoder.modules() if isinstance(m, nn.Conv2d) and m is not bottleneck]
        hooks = [m.register_forward_hook(record) for m in convs]
        try:
            param = next(encoder.parameters())
            with torch.no_grad():
                encoder(torch.zeros(1, 3, s, s, device=param.device, dtype=param.dtype))
        finally:
            for h in hooks:
                h.remove()
        ok = [m for m in convs if min(sizes[m]) >= min_size]
        if not ok:
            raise UserError(
                f"{g} encoder: no conv output is >= {min_size}x{min_size} at image size {s}; "
                "Grad-CAM needs a spatial map (use a model with image_size >= 16)"
            )
        layer = ok[-1]
        out[g] = CamLayer(layer, names[layer], sizes[layer])
    return out


def split_images(cfg, split: str, num_images: int, device: torch.device):
    """The first ``num_images`` images of a split of the checkpoint's dataset, in order.

    Args:
        cfg: the checkpoint's `Config`. split: ``test``, ``ood``, ... (`unsup3d.api.dataset_from_config`).
        num_images: how many (the split may have fewer: all are then used).

    Returns:
        images (N, 3, S, S) float32 in [0, 1] on ``device``, and their ids (list of str).
    """
    from unsup3d.api import dataset_from_config

    dataset = dataset_from_config(cfg, split)
    n = min(int(num_images), len(dataset))
    if n == 0:
        raise UserError(f"{cfg.data.name} split {split!r}: no images; check data.root and --split")
    items = [dataset[i] for i in range(n)]
    images = torch.stack([torch.as_tensor(it["image"], dtype=torch.float32) for it in items])
    ids = [str(it.get("image_id", i)) for i, it in enumerate(items)]
    return images.to(device), ids


def encoder_groups(fs: FeatureSet, spec: str, source: str) -> list[str]:
    """``--groups`` resolved in the feature file; each must be an encoder of the model."""
    groups = fs.resolve_groups(spec, source)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise UserError(
            f"--groups: {unknown} are not encoders of the model; use depth,albedo,light,view"
        )
    return groups


def check_feature_file(
    fs: FeatureSet, source: str, checkpoint: str, model: nn.Module, groups: Sequence[str]
) -> None:
    """The feature file must come from ``checkpoint`` and hold the model's encoders' features.

    Raises:
        UserError: the file names another checkpoint, or a group's width is not the model's.
    """
    feat_sha = fs.meta.get("checkpoint_sha256")
    if feat_sha is not None and feat_sha != sha256_file(checkpoint):
        raise UserError(
            f"{source}: extracted from another checkpoint ({fs.meta.get('checkpoint')}); "
            f"re-extract: python run.py extract --checkpoint {checkpoint} --split train"
        )
    for g in groups:
        if fs.features[g].shape[1] != model.zdim:
            raise UserError(
                f"{source}: group {g} is {fs.features[g].shape[1]}-d, the model's "
                f"{model.zdim}-d; extract the features from this checkpoint"
            )


@dataclass
class ProbeGradCam:
    """Grad-CAM and IG of a probe's predicted class on a batch of images.

    Attributes:
        maps: group -> (B, S, S) Grad-CAM at the group's `CamLayer`, upsampled to the image.
        ig: IG shares of the same logit on the images' features.
        predicted: the probe's predicted class per image.
        layers: group -> its target `CamLayer`.
    """

    maps: dict[str, np.ndarray]
    ig: IGShares
    predicted: list[int | str]
    layers: dict[str, CamLayer]


def probe_grad_cam(
    model: nn.Module,
    head: StandardizedLinear,
    images: torch.Tensor,
    groups: Sequence[str],
    n_steps: int = 64,
) -> ProbeGradCam:
    """Grad-CAM per encoder of the probe's predicted-class logit (``gradcam.py``).

    The pipeline image -> ``model.get_features(images, groups)`` -> concatenation -> ``head``
    is differentiated; a binary head's logit z is presented as (-z, z), so a "no" prediction is
    explained too. The model is frozen (``requires_grad_(False)``, ``eval()``) and checked to
    be unchanged afterwards.

    Args:
        model: an `unsup3d.api.InverseRenderer`. head: a probe on the concatenated groups
            (`evalkit.LinearProbe.torch_head`).
        images: (B, 3, S, S) in [0, 1], on the model's device.
    """
    model.eval().requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def features(x: torch.Tensor) -> torch.Tensor:
        f = model.get_features(x, groups)
        return torch.cat([f[g] for g in groups], dim=1)  # (B, sum D)

    with torch.no_grad():
        z = features(images).double()  # (B, F)
    pred_index = predicted_index(head, z)
    predicted = head.classes_[pred_index.cpu().numpy()]
    binary = len(head.classes_) == 2

    def forward(x: torch.Tensor) -> torch.Tensor:
        s = head(features(x))
        return torch.stack([-s, s], dim=1) if binary else s  # (B, C)

    layers = cam_layers(model, groups)
    maps = grad_cam_maps(
        forward, {g: layer.module for g, layer in layers.items()}, images, target=pred_index
    )
    ig = integrated_gradients_shares(
        head,
        z,
        group_slices({g: model.zdim for g in groups}),
        target=None if binary else pred_index,
        n_steps=n_steps,
    )
    for k, v in model.state_dict().items():
        if not torch.equal(v, before[k]):
            raise RuntimeError(f"model weight {k} changed during Grad-CAM")  # a bug, not user input
    return ProbeGradCam(
        maps={g: m.cpu().numpy() for g, m in maps.items()},
        ig=ig,
        predicted=[p.item() if hasattr(p, "item") else p for p in predicted],
        layers=layers,
    )


def cam_summary(m: np.ndarray) -> CamSummary:
    """Mean, max, share of images with a non-zero map and count of all-zero maps (a zero map:
    no positive evidence), for (B, H, W) maps."""
    flat = m.reshape(m.shape[0], -1)  # (B, H * W)
    nonzero = flat.max(axis=1) > 0
    return CamSummary(
        mean=float(flat.mean()),
        max=float(flat.max()),
        nonzero_images=float(np.mean(nonzero)),
        zero_images=int(np.sum(~nonzero)),
        finite=bool(np.isfinite(flat).all()),
    )


def save_maps(path, images: torch.Tensor, ids: Sequence[str], maps: dict[str, np.ndarray]):
    """``gradcam_maps.npz``: ``images`` (B, 3, S, S), ``image_ids``, ``cam_<group>`` (B, S, S)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            images=images.cpu().numpy(),
            image_ids=np.asarray(ids, dtype=np.str_),
            **{f"cam_{g}": m for g, m in maps.items()},
        )
    return path
