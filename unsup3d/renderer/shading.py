"""Normals from depth and Lambertian shading."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from unsup3d.renderer.camera import depth_to_points


def depth_to_normals(depth: torch.Tensor, K: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Surface normals of a depth map by central differences of its back-projected points.

    On interior pixels tu = P(r, c+1) - P(r, c-1), tv = P(r+1, c) - P(r-1, c), n = tu x tv,
    normalised by max(|n|, eps); border pixels get (0, 0, 1). A fronto-parallel plane gives
    n = (0, 0, 1), i.e. normals point away from the camera (+z), like the light vector.

    Deviation from the release, which divides by (|n| + 1e-7): |n| is only ~3e-5 at 64 px
    (|tu| ~ 2 d / fx), so its normals are ~0.3% short and its shading correspondingly dimmer.

    Args:
        depth: (B, H, W) camera depth.
        K: (3, 3) intrinsics.

    Returns:
        (B, H, W, 3) unit normals in camera coordinates.
    """
    points = depth_to_points(depth, K)  # (B, H, W, 3)
    tu = points[:, 1:-1, 2:] - points[:, 1:-1, :-2]
    tv = points[:, 2:, 1:-1] - points[:, :-2, 1:-1]
    normal = torch.linalg.cross(tu, tv, dim=-1)
    normal = normal / normal.norm(dim=-1, keepdim=True).clamp(min=eps)
    # Pad the border with (0, 0, 1): zeros for x, y and ones for z.
    normal = F.pad(normal.permute(0, 3, 1, 2), (1, 1, 1, 1), value=0.0)  # (B, 3, H, W)
    border = torch.ones_like(normal[:, 2])
    border[:, 1:-1, 1:-1] = 0.0
    normal = normal + torch.stack([torch.zeros_like(border), torch.zeros_like(border), border], 1)
    return normal.permute(0, 2, 3, 1)


def light_direction(dxy: torch.Tensor) -> torch.Tensor:
    """Unit light direction l = normalise(dx, dy, 1).

    Args:
        dxy: (B, 2) light direction offsets (dx, dy), camera frame (x right, y down).

    Returns:
        (B, 3) unit vectors in the +z convention of the normals:
        shading = max(0, n . l), so (0, 0, 1) lights a fronto-parallel surface head-on.
    """
    if dxy.dim() != 2 or dxy.shape[1] != 2:
        raise ValueError(f"light dxy must be (B, 2), got {tuple(dxy.shape)}")
    d = torch.cat([dxy, torch.ones_like(dxy[:, :1])], dim=1)
    return d / d.norm(dim=1, keepdim=True)


def lambertian_shading(
    normal: torch.Tensor, ambient: torch.Tensor, diffuse: torch.Tensor, light_dir: torch.Tensor
) -> torch.Tensor:
    """Ambient + diffuse Lambertian shading: s = ambient + diffuse * max(0, n . l).

    Args:
        normal: (B, H, W, 3) unit normals.
        ambient, diffuse: (B,) light intensities (>= 0).
        light_dir: (B, 3) unit light directions (see `light_direction`).

    Returns:
        shading (B, 1, H, W) and the diffuse term max(0, n . l) (B, 1, H, W).
    """
    cos = (normal * light_dir[:, None, None, :]).sum(-1).clamp(min=0)[:, None]  # (B, 1, H, W)
    return ambient[:, None, None, None] + diffuse[:, None, None, None] * cos, cos
