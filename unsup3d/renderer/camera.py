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


Planes = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def transform_planes(
    planes: Planes, view: torch.Tensor, rot_center_depth: float, *, inverse: bool = False
) -> Planes:
    """`warp_points` (or, with ``inverse``, `unwarp_points`) on coordinate planes.

    The points are given as three tensors x, y, z of one shape (B, ...), so every step is a
    contiguous element-wise op with per-image coefficients (a 3 x 3 matrix product on
    interleaved (B, N, 3) points is several times slower on CPU).

    Args:
        planes: (x, y, z), each (B, ...).
        view: (B, 6|5|3) view vectors (see `split_view`).
        rot_center_depth: z of the rotation centre C = (0, 0, rot_center_depth).
        inverse: apply P = R^T (P' - t - C) + C instead of P' = R (P - C) + C + t.

    Returns:
        The transformed (x, y, z), each shaped like the input.
    """
    x, y, z = planes
    rot, trans = split_view(view)
    tail = (1,) * (x.dim() - 1)
    r = rot.reshape(rot.shape[0], 9, *tail).unbind(1)  # r[3 i + j] = R[i, j], (B, 1, ...)
    t = trans.reshape(trans.shape[0], 3, *tail).unbind(1)
    if inverse:
        x, y, z = x - t[0], y - t[1], z - t[2] - rot_center_depth
        return (
            r[0] * x + r[3] * y + r[6] * z,
            r[1] * x + r[4] * y + r[7] * z,
            r[2] * x + r[5] * y + r[8] * z + rot_center_depth,
        )
    z = z - rot_center_depth
    return (
        r[0] * x + r[1] * y + r[2] * z + t[0],
        r[3] * x + r[4] * y + r[5] * z + t[1],
        r[6] * x + r[7] * y + r[8] * z + (t[2] + rot_center_depth),
    )


def warp_points(points: torch.Tensor, view: torch.Tensor, rot_center_depth: float) -> torch.Tensor:
    """Forward warp canonical points into the input view: P' = R (P - C) + C + t.

    Args:
        points: (B, N, 3) camera-space points of the canonical frame.
        view: (B, 6|5|3) view vectors (see `split_view`).
        rot_center_depth: z of the rotation centre C = (0, 0, rot_center_depth).

    Returns:
        (B, N, 3) warped points.
    """
    return torch.stack(transform_planes(points.unbind(-1), view, rot_center_depth), dim=-1)


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
    planes = transform_planes(points.unbind(-1), view, rot_center_depth, inverse=True)
    return torch.stack(planes, dim=-1)


def depth_to_planes(depth: torch.Tensor, K: torch.Tensor) -> Planes:
    """`depth_to_points` as coordinate planes: x = (u - cx) / fx * d, y = (v - cy) / fy * d,
    z = d, each (B, H, W)."""
    if depth.dim() != 3:
        raise ValueError(f"depth must be (B, H, W), got {tuple(depth.shape)}")
    _, h, w = depth.shape
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    ray_x = (torch.arange(w, dtype=depth.dtype, device=depth.device) - cx) / fx  # (W,)
    ray_y = (torch.arange(h, dtype=depth.dtype, device=depth.device) - cy) / fy  # (H,)
    return depth * ray_x, depth * ray_y[:, None], depth


def depth_to_points(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Back-project a depth map: P(u, v) = d(u, v) K^-1 [u, v, 1]^T.

    Args:
        depth: (B, H, W) camera-space depth (z), positive.
        K: (3, 3) intrinsics.

    Returns:
        (B, H, W, 3) camera-space points (x right, y down, z forward).
    """
    return torch.stack(depth_to_planes(depth, K), dim=-1)


def project_planes(planes: Planes, K: torch.Tensor) -> Planes:
    """`project_points` on coordinate planes: (x, y, z) -> (u, v, z), each of one shape."""
    x, y, z = planes
    return K[0, 0] * x / z + K[0, 2], K[1, 1] * y / z + K[1, 2], z


def project_points(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Project camera-space points to pixel coordinates, keeping depth.

    Args:
        points: (..., 3) camera-space points with z > 0.
        K: (3, 3) intrinsics.

    Returns:
        (..., 3) (u, v, z): column, row (pixel units, integer = pixel centre) and depth.
    """
    return torch.stack(project_planes(points.unbind(-1), K), dim=-1)


def pixels_to_grid(uv: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Map pixel coordinates to ``grid_sample``'s [-1, 1] frame with align_corners=True.

    Args:
        uv: (..., 2) (column, row) in pixels.

    Returns:
        (..., 2) normalised (x, y): u / (W-1) * 2 - 1, v / (H-1) * 2 - 1.
    """
    scale = uv.new_tensor([2.0 / (width - 1), 2.0 / (height - 1)])
    return uv * scale - 1.0
