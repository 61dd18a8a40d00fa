import math

import pytest
import torch
from torch.testing import assert_close

from unsup3d.renderer import (
    depth_to_planes,
    depth_to_points,
    euler_to_rotation,
    intrinsics,
    pixels_to_grid,
    project_planes,
    project_points,
    split_view,
    transform_planes,
    unwarp_points,
    warp_points,
)


def test_intrinsics_release_values():
    K = intrinsics(64, 10.0, dtype=torch.float64)
    assert K[0, 2] == 31.5 and K[1, 2] == 31.5
    assert_close(K[0, 0], torch.tensor(31.5 / math.tan(math.radians(5)), dtype=torch.float64))
    assert abs(K[0, 0].item() - 360.05) < 0.01


@pytest.mark.parametrize("fov", [0.0, -5.0, 180.0, float("nan")])
def test_intrinsics_rejects_bad_fov(fov):
    with pytest.raises(ValueError, match="fov_deg must be in"):
        intrinsics(64, fov)


def test_rotation_orthonormal_and_order():
    angles = torch.randn(50, 3, dtype=torch.float64)
    R = euler_to_rotation(angles)
    eye = torch.eye(3, dtype=torch.float64).expand(50, 3, 3)
    assert_close(R @ R.transpose(1, 2), eye)
    assert_close(torch.linalg.det(R), torch.ones(50, dtype=torch.float64))
    # R = Rz Ry Rx: composing single-axis rotations gives the same matrix.
    zeros = torch.zeros(50, dtype=torch.float64)
    rx = euler_to_rotation(torch.stack([angles[:, 0], zeros, zeros], 1))
    ry = euler_to_rotation(torch.stack([zeros, angles[:, 1], zeros], 1))
    rz = euler_to_rotation(torch.stack([zeros, zeros, angles[:, 2]], 1))
    assert_close(R, rz @ ry @ rx)
    # Standard right-handed Ry: [[c, 0, s], [0, 1, 0], [-s, 0, c]].
    a = 0.3
    assert_close(
        euler_to_rotation(torch.tensor([[0.0, a, 0.0]], dtype=torch.float64))[0],
        torch.tensor(
            [[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]],
            dtype=torch.float64,
        ),
    )


def test_warp_unwarp_inverse(view_maker):
    pts = torch.randn(4, 100, 3, dtype=torch.float64) + torch.tensor(
        [0, 0, 1.0], dtype=torch.float64
    )
    view = view_maker(4, max_deg=60, max_t=0.1, dtype=torch.float64)
    back = unwarp_points(warp_points(pts, view, 1.0), view, 1.0)
    assert_close(back, pts)
    # The rotation centre is a fixed point of a pure rotation.
    centre = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=torch.float64).expand(4, 1, 3)
    rot_only = torch.cat([view[:, :3], torch.zeros(4, 3, dtype=torch.float64)], 1)
    assert_close(warp_points(centre, rot_only, 1.0), centre)


def test_warp_is_the_documented_rigid_transform(view_maker):
    pts = torch.randn(3, 50, 3, dtype=torch.float64) + torch.tensor([0, 0, 1.0]).double()
    view = view_maker(3, max_deg=60, max_t=0.1, dtype=torch.float64)
    rot, trans = split_view(view)
    centre = torch.tensor([0.0, 0.0, 0.9], dtype=torch.float64)
    expected = torch.einsum("bij,bnj->bni", rot, pts - centre) + centre + trans[:, None]
    assert_close(warp_points(pts, view, 0.9), expected)
    expected_back = torch.einsum("bji,bnj->bni", rot, pts - trans[:, None] - centre) + centre
    assert_close(unwarp_points(pts, view, 0.9), expected_back)


def test_planes_match_interleaved_points(depth_maker, view_maker):
    # The planar forms take (x, y, z) of any (B, ...) shape and agree with the (B, N, 3) ones.
    depth = depth_maker(2, 12, dtype=torch.float64)
    K = intrinsics(12, 10.0, dtype=torch.float64)
    view = view_maker(2, max_deg=40, max_t=0.05, dtype=torch.float64)
    planes = depth_to_planes(depth, K)
    points = depth_to_points(depth, K)
    assert_close(torch.stack(planes, -1), points)
    for inverse, fn in ((False, warp_points), (True, unwarp_points)):
        moved = transform_planes(planes, view, 1.0, inverse=inverse)  # (B, H, W) planes
        assert all(p.shape == (2, 12, 12) for p in moved)
        assert_close(
            torch.stack(moved, -1).reshape(2, -1, 3), fn(points.reshape(2, -1, 3), view, 1.0)
        )
    assert_close(torch.stack(project_planes(planes, K), -1), project_points(points, K))


def test_view_forms():
    v6 = torch.tensor([[0.1, 0.2, 0.3, 0.01, 0.02, 0.0]])
    R6, t6 = split_view(v6)
    R5, t5 = split_view(v6[:, :5])
    R3, t3 = split_view(v6[:, :3])
    assert_close(R6, R5) and assert_close(R6, R3)
    assert_close(t6, t5) and assert_close(t3, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="view must be"):
        split_view(torch.zeros(2, 4))


def test_backproject_project_roundtrip(depth_maker):
    depth = depth_maker(2, 16, dtype=torch.float64)
    K = intrinsics(16, 10.0, dtype=torch.float64)
    uvz = project_points(depth_to_points(depth, K), K)
    v, u = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    assert_close(uvz[..., 0], u.double().expand(2, 16, 16))
    assert_close(uvz[..., 1], v.double().expand(2, 16, 16))
    assert_close(uvz[..., 2], depth)


def test_grid_align_corners():
    uv = torch.tensor([[0.0, 0.0], [15.0, 15.0], [7.5, 7.5]])
    assert_close(pixels_to_grid(uv, 16, 16), torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]))
