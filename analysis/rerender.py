"""Feature invariance by re-rendering (``invariance.py``): re-render each image's scene with a new
light or view and measure how far each encoder's features move.

Two sources of the re-rendered scene:

- ``render`` (`measure`, PDR only): the model's *predicted* scene, through the model's renderer.
- ``data`` (`measure_data`, any model): the synthetic generator's *ground-truth* scene of each
  image, re-rendered by the generator (`unsup3d.api.SyntheticDataset.render`) with the same
  perturbation draws (`unsup3d.api.perturb`, same ranges, same generator seeding); the original
  image is the reference, and only ``model.get_features`` of the model's ``feature_groups`` is
  used, so a model without a renderer is measured the same way.

Render mode in detail:

The predicted scene of each image is rendered twice with the model's renderer
(`unsup3d.api.render_perturbed`, pixels the surface does not cover set to the background, as
LOOCC does): unchanged (the *reference* re-render) and with the light or the view perturbed by
`unsup3d.api.perturb` (LOOCC's clean ranges). Both go through the encoders and
`analysis.robust.feature_invariance` measures the movement per group; comparing two re-renders
keeps the reconstruction error out, which is reported on its own (``reconstruction``: input
image vs reference re-render). Definitions: ``analysis/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from analysis.records import (
    InvarianceMetrics,
    InvarianceRow,
    PerturbationRanges,
    SceneChange,
)
from analysis.robust import feature_invariance
from unsup3d.api import (
    GROUPS,
    PERTURBABLE,
    LooccSettings,
    Perturbation,
    UserError,
    light_direction,
    perturb,
    render_perturbed,
)

KINDS = {"light": ("light",), "view": ("view",), "both": ("light", "view")}
RANGES = ("light_intensity_delta", "light_direction_deg", "view_pitch_deg", "view_yaw_deg")
MODES = ("render", "data")
# Smallest z of a light direction given to the synthetic generator (85 deg off the optical
# axis): its (dx, dy) light cannot point at or behind the image plane.
MIN_LIGHT_Z = math.cos(math.radians(85.0))


def feature_groups(model) -> tuple[str, ...]:
    """The model's feature group names (its ``feature_groups``; PDR's encoders by default)."""
    return tuple(getattr(model, "feature_groups", GROUPS))


def perturbation_settings(ranges: PerturbationRanges) -> LooccSettings:
    """LOOCC's settings with these perturbation ranges (`UserError` on a negative range)."""
    try:
        return LooccSettings(variant="LV", **vars(ranges))
    except ValueError as exc:
        raise UserError(f"perturbation ranges: {exc}; use values >= 0, e.g. the defaults") from None


def _angle_deg(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N,) angle between unit vectors (N, 3), degrees (atan2: accurate near 0, unlike arccos)."""
    return torch.rad2deg(torch.atan2(torch.linalg.cross(a, b).norm(dim=1), (a * b).sum(1)))


@torch.no_grad()
def measure(
    model,
    images: torch.Tensor,
    kinds: Sequence[str],
    settings: LooccSettings,
    seed: int,
    batch_size: int,
) -> dict[str, Any]:
    """Encode the input images, their reference re-render and each kind's perturbed re-render.

    Args:
        model: `unsup3d.model.InverseRenderer` in eval mode.
        images: (N, 3, S, S) in [0, 1].
        kinds: scene parameters to perturb, each separately (``light``, ``view``).
        settings: the perturbation ranges (``compat: clean``).
        seed: seed of the CPU ``torch.Generator``; re-seeded per kind, so every kind sees the
            same uniform draws for row i.

    Returns:
        ``features`` {``input``, ``reference``, <kind>: {group: (N, D) float32 array}},
        ``scene_change`` {kind: mean absolute parameter changes}, ``image_change`` {kind: mean
        |pixel difference| in [0, 1] units}, ``renders`` {``reference``, <kind>: (N, 3, S, S)}.
    """
    groups = feature_groups(model)
    feats: dict[str, dict[str, list[torch.Tensor]]] = {
        k: {g: [] for g in groups} for k in ("input", "reference", *kinds)
    }
    renders: dict[str, list[torch.Tensor]] = {k: [] for k in ("reference", *kinds)}
    changes: dict[str, dict[str, list[torch.Tensor]]] = {k: {} for k in kinds}
    generators = {k: torch.Generator(device="cpu").manual_seed(seed) for k in kinds}
    renderer = model.renderer

    def encode(name: str, x: torch.Tensor) -> None:
        for g, f in model.get_features(x, groups).items():
            feats[name][g].append(f.float().cpu())

    def render(pert: Perturbation, out) -> torch.Tensor:
        img, mask = render_perturbed(renderer, out.canon_depth, out.albedo, pert, out.canon_normal)
        img = img * mask[:, None].to(img.dtype)  # uncovered pixels: background 0 in [-1, 1]
        return ((img + 1) / 2).clamp(0, 1)  # (B, 3, S, S) in [0, 1]

    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        out = model(x)
        b = x.shape[0]
        encode("input", x)
        ref = Perturbation(
            choice=torch.full((b,), PERTURBABLE.index("light"), dtype=torch.long),
            ambient=out.light[:, 0],
            diffuse=out.light[:, 1],
            light_dir=out.light_dir,
            view=out.view,
        )
        ref_img = render(ref, out)
        encode("reference", ref_img)
        renders["reference"].append(ref_img.cpu())
        for kind in kinds:
            choice = torch.full((b,), PERTURBABLE.index(kind), dtype=torch.long)
            pert = perturb(out.light, out.view, choice, settings, generators[kind])
            img = render(pert, out)
            encode(kind, img)
            renders[kind].append(img.cpu())
            _record_step(changes[kind], pert, ref, img, ref_img)
    return _result(feats, changes, renders)


def _synthetic_light(pert: Perturbation) -> tuple[torch.Tensor, torch.Tensor]:
    """The synthetic generator's light (ambient, diffuse, dx, dy) for a perturbed light.

    The generator's direction is normalise(dx, dy, 1), which cannot point 90 deg or more off the
    optical axis; a perturbed direction more than 85 deg off it (possible when a light already
    far to the side is turned further) is pulled back to 85 deg, keeping its azimuth.

    Returns:
        light (B, 4), and the unit direction actually rendered (B, 3).
    """
    d = pert.light_dir
    z = d[:, 2].clamp(min=MIN_LIGHT_Z)  # (B,)
    xy = d[:, :2] / d[:, :2].norm(dim=1, keepdim=True).clamp(min=1e-12)  # (B, 2) azimuth
    xy = xy * torch.sqrt(1 - z**2)[:, None]
    xy = torch.where((d[:, 2] >= MIN_LIGHT_Z)[:, None], d[:, :2], xy)
    direction = torch.cat([xy, z[:, None]], dim=1)  # (B, 3) unit
    dxy = direction[:, :2] / direction[:, 2:]  # (B, 2)
    light = torch.cat([torch.stack([pert.ambient, pert.diffuse], dim=1), dxy], dim=1)
    return light, direction


def _record_step(
    into: dict[str, list[torch.Tensor]],
    pert: Perturbation,
    ref: Perturbation,
    img: torch.Tensor,
    ref_img: torch.Tensor,
) -> None:
    """Append the per-row absolute parameter changes and mean |pixel change| to ``into``."""
    step = {
        "ambient": (pert.ambient - ref.ambient).abs(),
        "diffuse": (pert.diffuse - ref.diffuse).abs(),
        "light_direction_deg": _angle_deg(pert.light_dir, ref.light_dir),
        "view_pitch_deg": torch.rad2deg((pert.view[:, 0] - ref.view[:, 0]).abs()),
        "view_yaw_deg": torch.rad2deg((pert.view[:, 1] - ref.view[:, 1]).abs()),
        "pixels": (img - ref_img).abs().mean(dim=(1, 2, 3)),
    }
    for key, v in step.items():
        into.setdefault(key, []).append(v.float().cpu())


def _result(feats, changes, renders, **extra) -> dict[str, Any]:
    """`measure`'s return value from the per-batch lists."""
    return {
        "features": {
            name: {g: torch.cat(v).numpy() for g, v in groups.items()}
            for name, groups in feats.items()
        },
        "scene_change": {
            k: {key: float(torch.cat(v).mean()) for key, v in c.items() if key != "pixels"}
            for k, c in changes.items()
        },
        "image_change": {k: float(torch.cat(c["pixels"]).mean()) for k, c in changes.items()},
        "renders": {k: torch.cat(v).numpy() for k, v in renders.items()},
        **extra,
    }


@torch.no_grad()
def measure_data(
    model,
    dataset,
    num_images: int,
    kinds: Sequence[str],
    settings: LooccSettings,
    seed: int,
    batch_size: int,
    device: torch.device,
) -> dict[str, Any]:
    """Encode synthetic images and their ground-truth scenes re-rendered with a new light or view.

    For items ``0 .. num_images - 1`` of ``dataset``, the scene parameters
    (``dataset.sample_params``) are perturbed by `unsup3d.api.perturb` exactly as `measure`
    perturbs a predicted scene (the same ranges, the same per-kind generator seeded with
    ``seed``, so row i gets the same uniform draws), and the generator renders the scene again
    (``dataset.render``: same identity, expression, background and noise; only the light or the
    view differs). The unperturbed render is the dataset's own image, the reference.

    Args:
        model: any registered model in eval mode: ``model.get_features(images, groups)`` with
            images (B, 3, S, S) in [0, 1], and ``feature_groups`` (default PDR's `GROUPS`).
        dataset: a `unsup3d.api.SyntheticDataset` split.
        num_images: how many items (the split may have fewer: all are then used).
        kinds, settings, seed, batch_size: as `measure`. device: the model's device.

    Returns:
        As `measure`, without ``reference`` (the input is the reference): ``features``
        {``input``, <kind>: {group: (N, D)}}, ``scene_change``, ``image_change``, ``renders``
        {<kind>: (N, 3, S, S)}, plus ``images`` (N, 3, S, S) and ``image_ids``.

    A perturbed light more than 85 deg off the optical axis is pulled back to 85 deg
    (`_synthetic_light`); ``scene_change`` measures the direction actually rendered.
    """
    groups = feature_groups(model)
    n = min(int(num_images), len(dataset))
    feats: dict[str, dict[str, list[torch.Tensor]]] = {
        k: {g: [] for g in groups} for k in ("input", *kinds)
    }
    renders: dict[str, list[torch.Tensor]] = {k: [] for k in ("input", *kinds)}
    changes: dict[str, dict[str, list[torch.Tensor]]] = {k: {} for k in kinds}
    generators = {k: torch.Generator(device="cpu").manual_seed(seed) for k in kinds}

    def encode(name: str, x: torch.Tensor) -> None:
        for g, f in model.get_features(x.to(device), groups).items():
            feats[name][g].append(f.float().cpu())
        renders[name].append(x.cpu())

    for start in range(0, n, batch_size):
        idx = list(range(start, min(start + batch_size, n)))
        p = dataset.sample_params(idx)
        x = dataset.render(p)["image"]  # (B, 3, S, S) in [0, 1]: the dataset's image
        encode("input", x)
        ref = Perturbation(
            choice=torch.full((len(idx),), PERTURBABLE.index("light"), dtype=torch.long),
            ambient=p.light[:, 0],
            diffuse=p.light[:, 1],
            light_dir=light_direction(p.light[:, 2:4]),
            view=p.view,
        )
        for kind in kinds:
            choice = torch.full((len(idx),), PERTURBABLE.index(kind), dtype=torch.long)
            pert = perturb(p.light, p.view, choice, settings, generators[kind])
            edited = p.clone()
            if kind == "light":
                edited.light, rendered = _synthetic_light(pert)
                pert = replace(pert, light_dir=rendered)
            else:
                edited.view = pert.view
            img = dataset.render(edited)["image"]
            encode(kind, img)
            _record_step(changes[kind], pert, ref, img, x)
    out = _result(feats, changes, renders)
    out["images"] = out["renders"].pop("input")
    out["image_ids"] = [dataset.image_id(i) for i in range(n)]
    return out


def invariance_metrics(
    m: dict[str, Any],
    kinds: Sequence[str],
    split: str,
    ranges: PerturbationRanges,
    source: str,
    mode: str = "render",
) -> InvarianceMetrics:
    """The record of a `measure` or `measure_data` result: movement per kind and group
    (reference vs perturbed re-render; in ``data`` mode the reference is the input image), the
    reconstruction gap (input vs reference; ``render`` mode only), the drawn changes and the
    group that moved most per kind (None when nothing moved beyond float32 rounding).

    Raises:
        UserError: non-finite features (``source``: the checkpoint, named in the message).
    """
    feats = m["features"]
    for name, groups in feats.items():
        for g, f in groups.items():
            if not np.isfinite(f).all():
                raise UserError(
                    f"{source}: non-finite {g} features of the {name} images; "
                    "the checkpoint is broken (check its training log)"
                )

    def table(before, after) -> dict[str, InvarianceRow]:
        return {
            # The same movement relative to the spread of the *input* images' features: a
            # normaliser that does not depend on how varied the re-renders are.
            g: InvarianceRow(
                **vars(v), change_vs_input_spread=_vs_spread(before[g], after[g], feats["input"][g])
            )
            for g, v in feature_invariance(before, after).items()
        }

    reference = feats.get("reference", feats["input"])
    invariance = {k: table(reference, feats[k]) for k in kinds}
    return InvarianceMetrics(
        split=split,
        num_images=len(next(iter(feats["input"].values()))),
        ranges=ranges,
        mode=mode,
        invariance=invariance,
        reconstruction=table(feats["input"], reference) if "reference" in feats else None,
        scene_change={k: SceneChange(**v) for k, v in m["scene_change"].items()},
        image_change=m["image_change"],
        # The group that moved most, relative to its spread (ideal: the kind itself).
        most_moved={
            k: max(v, key=lambda g: _finite(v[g].change_vs_spread))
            if max(_finite(r.relative_change) for r in v.values()) > 1e-5
            else None  # no movement beyond float32 rounding (e.g. zero ranges)
            for k, v in invariance.items()
        },
    )


def _vs_spread(before: np.ndarray, after: np.ndarray, population: np.ndarray) -> float:
    """RMS_i ||after_i - before_i|| / sqrt(2 tr Cov(population))."""
    move = np.linalg.norm(after.astype(np.float64) - before, axis=1)
    spread = math.sqrt(2.0 * float(np.sum(np.var(population.astype(np.float64), axis=0, ddof=1))))
    return float(np.sqrt(np.mean(move**2)) / spread) if spread > 0 else float("nan")


def _finite(x: float) -> float:
    return x if math.isfinite(x) else -math.inf
