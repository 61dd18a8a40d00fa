"""Perspective camera, rigid view transforms and projections.

Conventions (see ``unsup3d/renderer/README.md``): camera at the origin looking down +z; pixel
column u grows right (+x), row v grows down (+y); integer (u, v) are pixel centres; angles are
radians; depth is the camera-space z. Normalised grid coordinates follow ``align_corners=True``:
-1 and +1 are the centres of the first and last pixels.
"""

from __future__ import annotations

import math

import torch


def _check_size(image_size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if h < 2 or w < 2:
        raise ValueError(f"image_size must be at least 2x2 pixels, got {h}x{w}")
    return int(h), int(w)


def intrinsics(
    image_size: int | tuple[int, int],
    fov_deg: float,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Pinhole intrinsics for a square-pixel camera with the given full field of view.

    Args:
        image_size: S or (H, W) in pixels.
        fov_deg: full field of view in degrees, in (0, 180); applies to both axes, so
            fx = (W-1)/2 / tan(fov/2) and fy = (H-1)/2 / tan(fov/2).

    Returns:
        K, (3, 3): [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with cx = (W-1)/2, cy = (H-1)/2.
    """
    h, w = _check_size(image_size)
    if not 0.0 < fov_deg < 180.0 or not math.isfinite(fov_deg):
        raise ValueError(f"fov_deg must be in (0, 180) degrees, got {fov_deg}")
    half = math.tan(math.radians(fov_deg) / 2)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    return torch.tensor(
        [[cx / half, 0.0, cx], [0.0, cy / half, cy], [0.0, 0.0, 1.0]], dtype=dtype, device=device
    )


def euler_to_rotation(angles: torch.Tensor) -> torch.Tensor:
    """Rotation matrices R = Rz(rz) @ Ry(ry) @ Rx(rx) from Euler angles.

    Args:
        angles: (..., 3) radians (rx, ry, rz): rotations about the camera x, y, z axes.

    Returns:
        (..., 3, 3) right-handed rotation matrices.
    """
    if angles.shape[-1] != 3:
        raise ValueError(
            f"angles must have a last dimension of 3 (rx, ry, rz), got {tuple(angles.shape)}"
        )
    rx, ry, rz = angles.unbind(-1)
    one, zero = torch.ones_like(rx), torch.zeros_like(rx)
    cx, sx, cy, sy, cz, sz = rx.cos(), rx.sin(), ry.cos(), ry.sin(), rz.cos(), rz.sin()
    mx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1)
    my = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1)
    mz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1)
    shape = (*angles.shape[:-1], 3, 3)
    return mz.reshape(shape) @ my.reshape(shape) @ mx.reshape(shape)


def split_view(view: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a view vector into a rotation matrix and a translation.

    Args:
        view: (B, 6) (rx, ry, rz, tx, ty, tz), radians and camera units; (B, 5) without tz and
            (B, 3) rotation only are accepted (missing translations are 0).

    Returns:
        R (B, 3, 3) and t (B, 3).
    """
    if view.dim() != 2 or view.shape[1] not in (3, 5, 6):
        raise ValueError(f"view must be (B, 6), (B, 5) or (B, 3), got {tuple(view.shape)}")
    rot = euler_to_rotation(view[:, :3])
    trans = torch.zeros(view.shape[0], 3, dtype=view.dtype, device=view.device)
    if view.shape[1] >= 5:
        trans = torch.cat([view[:, 3:], trans[:, view.shape[1] - 3 :]], dim=1)
    return rot, trans


def warp_points(points: torch.Tensor, view: torch.Tensor, rot_center_depth: float) -> torch.Tensor:
    """Forward warp canonical points into the input view: P' = R (P - C) + C + t.

    Args:
        points: (B, N, 3) camera-space points of the canonical frame.
        view: (B, 6|5|3) view vectors (see `split_view`).
        rot_center_depth: z of the rotation centre C = (0, 0, rot_center_depth).

    Returns:
        (B, N, 3) warped points.
    """
    rot, trans = split_view(view)
    centre = points.new_tensor([0.0, 0.0, rot_center_depth])
    # Row vectors: (P - C) R^T.
    return (points - centre) @ rot.transpose(1, 2) + centre + trans[:, None, :]


def unwarp_points(
    points: torch.Tensor, view: torch.Tensor, rot_center_depth: float
) -> torch.Tensor:
    """Inverse of `warp_points`: P = R^T (P' - t - C) + C.

    Args:
        points: (B, N, 3) points in the input view.
        view: (B, 6|5|3) view vectors.
        rot_center_depth: z of the rotation centre.

    Returns:
        (B, N, 3) points in the canonical frame.
    """
    rot, trans = split_view(view)
    centre = points.new_tensor([0.0, 0.0, rot_center_depth])
    return (points - trans[:, None, :] - centre) @ rot + centre


def pixel_grid(
    height: int, width: int, *, dtype: torch.dtype, device: torch.device | None
) -> torch.Tensor:
    """Integer pixel-centre coordinates (H, W, 2) holding (u, v) = (column, row)."""
    v, u = torch.meshgrid(
        torch.arange(height, dtype=dtype, device=device),
        torch.arange(width, dtype=dtype, device=device),
        indexing="ij",
    )
    return torch.stack([u, v], dim=-1)


def depth_to_points(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Back-project a depth map: P(u, v) = d(u, v) K^-1 [u, v, 1]^T.

    Args:
        depth: (B, H, W) camera-space depth (z), positive.
        K: (3, 3) intrinsics.

    Returns:
        (B, H, W, 3) camera-space points (x right, y down, z forward).
    """
    if depth.dim() != 3:
        raise ValueError(f"depth must be (B, H, W), got {tuple(depth.shape)}")
    _, h, w = depth.shape
    uv = pixel_grid(h, w, dtype=depth.dtype, device=depth.device)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    # The ray through each pixel centre at z = 1, then one broadcast product (no interleaving
    # stack): x = (u - cx) / fx * d, y = (v - cy) / fy * d, z = d.
    ray = torch.stack(
        [(uv[..., 0] - cx) / fx, (uv[..., 1] - cy) / fy, torch.ones_like(uv[..., 0])], dim=-1
    )
    return ray * depth[..., None]


def project_points(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Project camera-space points to pixel coordinates, keeping depth.

    Args:
        points: (..., 3) camera-space points with z > 0.
        K: (3, 3) intrinsics.

    Returns:
        (..., 3) (u, v, z): column, row (pixel units, integer = pixel centre) and depth.
    """
    z = points[..., 2]
    u = K[0, 0] * points[..., 0] / z + K[0, 2]
    v = K[1, 1] * points[..., 1] / z + K[1, 2]
    return torch.stack([u, v, z], dim=-1)


def pixels_to_grid(uv: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Map pixel coordinates to ``grid_sample``'s [-1, 1] frame with align_corners=True.

    Args:
        uv: (..., 2) (column, row) in pixels.

    Returns:
        (..., 2) normalised (x, y): u / (W-1) * 2 - 1, v / (H-1) * 2 - 1.
    """
    scale = uv.new_tensor([2.0 / (width - 1), 2.0 / (height - 1)])
    return uv * scale - 1.0
