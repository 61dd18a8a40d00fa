"""Normals from depth and Lambertian shading."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from unsup3d.renderer.camera import depth_to_planes


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
    # The back-projected points as coordinate planes (B, H, W) each, so the differences and
    # the cross product below are contiguous element-wise ops rather than stride-3 ones.
    points = depth_to_planes(depth, K)
    tu = [p[:, 1:-1, 2:] - p[:, 1:-1, :-2] for p in points]
    tv = [p[:, 2:, 1:-1] - p[:, :-2, 1:-1] for p in points]
    nx = tu[1] * tv[2] - tu[2] * tv[1]
    ny = tu[2] * tv[0] - tu[0] * tv[2]
    nz = tu[0] * tv[1] - tu[1] * tv[0]
    # max(|n|, eps), clamped before the square root so that |n| = 0 has a finite gradient.
    norm = (nx * nx + ny * ny + nz * nz).clamp(min=eps * eps).sqrt()
    # Border pixels: (0, 0, 1).
    planes = [
        F.pad(n / norm, (1, 1, 1, 1), value=fill) for n, fill in ((nx, 0.0), (ny, 0.0), (nz, 1.0))
    ]
    return torch.stack(planes, dim=-1)


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
