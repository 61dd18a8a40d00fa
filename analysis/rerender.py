"""Feature invariance by re-rendering (``invariance.py``): re-render a model's predicted scenes
with a new light or view and measure how far each encoder's features move.

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
    perturb,
    render_perturbed,
)

KINDS = {"light": ("light",), "view": ("view",), "both": ("light", "view")}
RANGES = ("light_intensity_delta", "light_direction_deg", "view_pitch_deg", "view_yaw_deg")


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
    feats: dict[str, dict[str, list[torch.Tensor]]] = {
        k: {g: [] for g in GROUPS} for k in ("input", "reference", *kinds)
    }
    renders: dict[str, list[torch.Tensor]] = {k: [] for k in ("reference", *kinds)}
    changes: dict[str, dict[str, list[torch.Tensor]]] = {k: {} for k in kinds}
    generators = {k: torch.Generator(device="cpu").manual_seed(seed) for k in kinds}
    renderer = model.renderer

    def encode(name: str, x: torch.Tensor) -> None:
        for g, f in model.get_features(x, GROUPS).items():
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
            c = changes[kind]
            step = {
                "ambient": (pert.ambient - ref.ambient).abs(),
                "diffuse": (pert.diffuse - ref.diffuse).abs(),
                "light_direction_deg": _angle_deg(pert.light_dir, ref.light_dir),
                "view_pitch_deg": torch.rad2deg((pert.view[:, 0] - ref.view[:, 0]).abs()),
                "view_yaw_deg": torch.rad2deg((pert.view[:, 1] - ref.view[:, 1]).abs()),
                "pixels": (img - ref_img).abs().mean(dim=(1, 2, 3)),
            }
            for key, v in step.items():
                c.setdefault(key, []).append(v.float().cpu())
    cat = {k: torch.cat(v).numpy() for k, v in renders.items()}
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
        "renders": cat,
    }


def invariance_metrics(
    m: dict[str, Any], kinds: Sequence[str], split: str, ranges: PerturbationRanges, source: str
) -> InvarianceMetrics:
    """The record of a `measure` result: movement per kind and group (reference vs perturbed
    re-render), the reconstruction gap (input vs reference), the drawn changes and the group
    that moved most per kind (None when nothing moved beyond float32 rounding).

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

    invariance = {k: table(feats["reference"], feats[k]) for k in kinds}
    return InvarianceMetrics(
        split=split,
        num_images=len(next(iter(feats["input"].values()))),
        ranges=ranges,
        invariance=invariance,
        reconstruction=table(feats["input"], feats["reference"]),
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
