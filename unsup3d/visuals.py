"""Image grids and histograms of the inverse renderer, for TensorBoard and test outputs."""

from __future__ import annotations

import math
from typing import Any

import torch

from unsup3d.model import InverseRenderer
from unsup3d.renderer import lambertian_shading

# Fixed lights of the relit views: direction offsets (dx, dy) of the light from the camera axis.
RELIGHT_DXY = {"relit_left": (1.0, -0.3), "relit_right": (-1.0, -0.3)}
SIDE_VIEW_YAW_DEG = {"view_left": -45.0, "view_right": 45.0}


def _normalise(depth: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return ((hi - depth) / (hi - lo)).clamp(0, 1)[:, None].expand(-1, 3, -1, -1)  # near = bright


@torch.no_grad()
def visuals(model: InverseRenderer, images: torch.Tensor) -> dict[str, Any]:
    """Image grids and histograms (maps in [0, 1]; shading and shaded images are not clamped).

    Images: input, reconstruction (and flipped), canonical albedo / shading / image / depth /
    normals, the canonical image relit from the left and right, and side views at yaw +-45 deg.

    Args:
        model: the inverse renderer (its mode is left as it is).
        images: (B, 3, S, S) in [0, 1] on the model's device.

    Returns:
        {"images": {name: (B, 3, S, S)}, "histograms": {name: values}, "output": the forward pass}.
    """
    out = model(images)
    r = model.renderer
    lo, hi = r.min_depth, r.max_depth
    normal = out.canon_normal.permute(0, 3, 1, 2)  # (B, 3, S, S)
    relit = {}
    for name, (dx, dy) in RELIGHT_DXY.items():
        direction = torch.nn.functional.normalize(
            torch.tensor([dx, dy, 1.0], device=images.device), dim=0
        ).expand(images.shape[0], 3)
        shading, _ = lambertian_shading(
            out.canon_normal, out.light[:, 0], out.light[:, 1], direction
        )
        relit[name] = out.albedo * shading
    side = {}
    for name, yaw in SIDE_VIEW_YAW_DEG.items():
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
