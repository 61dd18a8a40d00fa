import math

import pytest
import torch
from torch.testing import assert_close

from unsup3d.renderer import (
    depth_to_points,
    grid_faces,
    intrinsics,
    project_points,
    rasterize,
    rasterize_depth,
    warp_points,
)
from unsup3d.renderer.reference import reference_rasterize


def _screen_verts(depth, view=None, fov=10.0):
    K = intrinsics(depth.shape[-1], fov, dtype=depth.dtype)
    pts = depth_to_points(depth, K).reshape(depth.shape[0], -1, 3)
    if view is not None:
        pts = warp_points(pts, view, 1.0)
    return project_points(pts, K)


def test_grid_faces_layout():
    f = grid_faces(3, 3)
    assert f.shape == (8, 3) and f.dtype == torch.int64
    # First triangles (TL, BL, TR) before second ones (TR, BL, BR); vertex = row * W + col.
    assert f[0].tolist() == [0, 3, 1] and f[4].tolist() == [1, 3, 4]
    assert grid_faces(64, 64).shape[0] == 7938


def test_identity_view_reproduces_depth_at_pixel_centres(depth_maker):
    depth = depth_maker(3, 32)
    out = rasterize_depth(_screen_verts(depth), grid_faces(32, 32), 32, background=10.0)
    assert_close(out, depth, atol=1e-6, rtol=0)  # every pixel covered, none lost on shared edges


def test_tilted_plane_depth_and_coverage():
    # A fronto-parallel plane at z = 1 rotated by 25 deg about y through C = (0, 0, 1): its depth
    # along the ray of pixel (u, v) is n.C / n.r with r = K^-1 [u, v, 1], n = (sin a, 0, cos a).
    s, a = 32, math.radians(25)
    depth = torch.ones(1, s, s, dtype=torch.float64)
    view = torch.tensor([[0.0, a, 0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    verts = _screen_verts(depth, view)
    frags = rasterize(verts, grid_faces(s, s), s, background=0.0)
    K = intrinsics(s, 10.0, dtype=torch.float64)
    v, u = torch.meshgrid(
        torch.arange(s, dtype=torch.float64), torch.arange(s, dtype=torch.float64), indexing="ij"
    )
    rx, ry = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
    n = torch.tensor([math.sin(a), 0.0, math.cos(a)], dtype=torch.float64)  # Ry(a) @ (0, 0, 1)
    expected = (n[2] * 1.0) / (n[0] * rx + n[1] * ry + n[2])
    covered = frags.covered[0]
    # The rotated square shrinks horizontally: some columns are uncovered, rows all covered.
    assert covered.any(0).sum() < s and covered.any(1).all()
    assert_close(frags.depth[0][covered], expected[covered], atol=1e-9, rtol=0)


def _sphere_mesh(centre_z=3.0, radius=0.1, n_lat=48, n_lon=96):
    lat = torch.linspace(0, math.pi, n_lat, dtype=torch.float64)
    lon = torch.linspace(0, 2 * math.pi, n_lon + 1, dtype=torch.float64)[:-1]
    la, lo = torch.meshgrid(lat, lon, indexing="ij")
    pts = torch.stack([la.sin() * lo.cos(), la.cos(), la.sin() * lo.sin()], -1).reshape(-1, 3)
    pts = pts * radius + torch.tensor([0.0, 0.0, centre_z], dtype=torch.float64)
    faces = []
    for i in range(n_lat - 1):
        for j in range(n_lon):
            a, b = i * n_lon + j, i * n_lon + (j + 1) % n_lon
            c, d = a + n_lon, b + n_lon
            faces += [[a, c, b], [b, c, d]]
    return pts, torch.tensor(faces)


def test_sphere_silhouette_and_depth():
    s, cz, rad = 32, 3.0, 0.1
    pts, faces = _sphere_mesh(cz, rad)
    K = intrinsics(s, 10.0, dtype=torch.float64)
    frags = rasterize(project_points(pts, K)[None], faces, s, background=0.0)
    v, u = torch.meshgrid(
        torch.arange(s, dtype=torch.float64), torch.arange(s, dtype=torch.float64), indexing="ij"
    )
    r = torch.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], torch.ones_like(u)], -1)
    # Ray-sphere: |t r - c|^2 = rad^2 -> nearest t; depth = t (r_z = 1).
    rr, rc = (r * r).sum(-1), r[..., 2] * cz
    disc = rc**2 - rr * (cz**2 - rad**2)
    hit = disc > 0
    t = (rc - disc.clamp(min=0).sqrt()) / rr
    covered = frags.covered[0]
    # Silhouettes agree except on pixels whose ray grazes the sphere (tessellation error).
    margin = (disc.abs() / rr) < 2e-4
    assert (covered == hit)[~margin].all()
    assert hit.sum() > 100
    both = covered & hit & ~margin
    assert_close(frags.depth[0][both], t[both], atol=2e-3, rtol=0)


def _random_meshes(batch, n_faces, size, seed):
    """Overlapping random triangles at random depths: occlusions and interpenetration."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.rand(batch, n_faces, 1, 2, generator=gen, dtype=torch.float64) * (size + 4) - 2
    offsets = (
        (torch.rand(batch, n_faces, 3, 2, generator=gen, dtype=torch.float64) - 0.5) * size * 1.2
    )
    z = 0.5 + torch.rand(batch, n_faces, 3, 1, generator=gen, dtype=torch.float64) * 2
    verts = torch.cat([centres + offsets, z], -1).reshape(batch, n_faces * 3, 3)
    faces = torch.arange(n_faces * 3).reshape(n_faces, 3)
    return verts, faces


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_loop_reference_with_occlusions(seed):
    size = 12
    verts, faces = _random_meshes(2, 30, size, seed)
    ref_depth, ref_index, ties = reference_rasterize(
        verts, faces, size, background=-1.0, near=0.6, far=2.3
    )
    frags = rasterize(verts, faces, size, background=-1.0, near=0.6, far=2.3)
    assert_close(frags.covered, ref_index >= 0)
    assert_close(frags.depth, ref_depth, atol=1e-6, rtol=0)
    got = frags.face_index
    for b, r, c in (ref_index >= 0).nonzero().tolist():
        assert got[b, r, c].item() in ties[b][r][c], (b, r, c)
    # The test has teeth: many pixels are covered by several faces (occlusions to resolve).
    per_face = torch.stack(
        [
            rasterize(verts, faces[i : i + 1], size, near=0.6, far=2.3).covered
            for i in range(len(faces))
        ]
    )
    assert (per_face.sum(0) >= 2).float().mean() > 0.2


@pytest.mark.parametrize("seed", [0, 1])
def test_long_slivers_match_loop_reference(seed):
    # Long thin faces at every angle, including nearly row-parallel ones and ones whose edges
    # pass exactly through pixel centres: the ragged tier enumerates them row by row.
    size = 24
    gen = torch.Generator().manual_seed(seed)
    n = 40
    start = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size
    angle = torch.rand(n, generator=gen, dtype=torch.float64) * math.pi
    angle[:8] = torch.tensor([0.0, 1e-4, -1e-4, math.pi / 2, math.pi / 4, 1e-7, 0.5, 2.0])
    length = 6 + torch.rand(n, generator=gen, dtype=torch.float64) * size
    width = 0.05 + torch.rand(n, generator=gen, dtype=torch.float64) * 0.8
    start[:4] = start[:4].round()  # edges through pixel centres
    d = torch.stack([angle.cos(), angle.sin()], -1)
    normal = torch.stack([-d[:, 1], d[:, 0]], -1)
    uv = torch.stack([start, start + length[:, None] * d, start + width[:, None] * normal], 1)
    z = 1 + torch.rand(n, 3, 1, generator=gen, dtype=torch.float64)
    verts = torch.cat([uv, z], -1).reshape(1, 3 * n, 3)
    faces = torch.arange(3 * n).reshape(n, 3)
    ref_depth, ref_index, ties = reference_rasterize(verts, faces, size, background=-1.0)
    frags = rasterize(verts, faces, size, background=-1.0)
    assert_close(frags.covered, ref_index >= 0)
    assert_close(frags.depth, ref_depth, atol=1e-6, rtol=0)
    for b, r, c in (ref_index >= 0).nonzero().tolist():
        assert frags.face_index[b, r, c].item() in ties[b][r][c]
    assert (ref_index >= 0).sum() > 50


def test_matches_loop_reference_on_warped_grid(depth_maker, view_maker):
    size = 10
    depth = depth_maker(2, size, dtype=torch.float64, seed=3)
    verts = _screen_verts(depth, view_maker(2, seed=4, max_deg=30, dtype=torch.float64))
    faces = grid_faces(size, size)
    ref_depth, ref_index, ties = reference_rasterize(verts, faces, size, background=10.0)
    frags = rasterize(verts, faces, size, background=10.0)
    assert_close(frags.depth, ref_depth, atol=1e-6, rtol=0)
    for b, r, c in (ref_index >= 0).nonzero().tolist():
        assert frags.face_index[b, r, c].item() in ties[b][r][c]


@pytest.mark.parametrize("seed", [0, 1])
def test_no_grad_depth_equals_the_differentiable_path(seed, depth_maker, view_maker):
    # rasterize_depth without autograd returns the z-buffer's own float32 depth; it must agree
    # with the winners recomputed through autograd (and cover the same pixels).
    size = 16
    depth = depth_maker(3, size, dtype=torch.float32, seed=seed)
    verts = _screen_verts(depth, view_maker(3, seed=seed + 7, max_deg=30))
    faces = grid_faces(size, size)
    occl, occl_faces = _random_meshes(2, 30, size, seed)
    for v, f in [(verts, faces), (occl.float(), occl_faces)]:
        with torch.no_grad():
            fast = rasterize_depth(v, f, size, background=-1.0, near=0.6, far=2.3)
        grad = rasterize_depth(
            v.clone().requires_grad_(), f, size, background=-1.0, near=0.6, far=2.3
        )
        assert torch.equal(fast == -1.0, grad.detach() == -1.0)
        assert_close(fast, grad.detach(), atol=2e-6, rtol=0)
        assert (fast != -1.0).float().mean() > 0.3  # most pixels covered: the test has teeth


def test_tie_rule_smallest_index():
    # Two identical triangles: equal depth everywhere, the smaller index must win.
    tri = torch.tensor([[0.0, 0.0, 1.0], [7.0, 0.0, 1.0], [0.0, 7.0, 1.0]])
    verts = torch.cat([tri, tri])[None]
    faces = torch.tensor([[3, 4, 5], [0, 1, 2]])
    frags = rasterize(verts, faces, 8)
    assert set(frags.face_index[frags.covered].tolist()) == {0}


def test_near_far_and_background():
    tri = torch.tensor([[[0.0, 0.0, 5.0], [7.0, 0.0, 5.0], [0.0, 7.0, 5.0]]])
    faces = torch.tensor([[0, 1, 2]])
    assert (rasterize_depth(tri, faces, 8, background=-3.0, far=4.0) == -3.0).all()
    assert (rasterize_depth(tri, faces, 8, background=-3.0, near=6.0) == -3.0).all()
    d = rasterize_depth(tri, faces, 8, background=-3.0)
    assert d[0, 0, 0] == 5.0 and d[0, 7, 7] == -3.0


@pytest.mark.filterwarnings("ignore:Anomaly Detection")
def test_gradcheck_rasterize_depth(depth_maker, view_maker):
    # A generic view keeps every pixel centre away from edges, so the face assignment is fixed
    # under gradcheck's perturbations and the Jacobian is that of the barycentric interpolation.
    depth = depth_maker(1, 6, dtype=torch.float64, seed=5)
    verts = _screen_verts(depth, view_maker(1, seed=6, max_deg=10, dtype=torch.float64))
    verts = (verts + torch.tensor([0.31, 0.17, 0.0], dtype=torch.float64)).requires_grad_()
    faces = grid_faces(6, 6)
    with torch.autograd.detect_anomaly():
        rasterize_depth(verts, faces, 6, background=2.0).sum().backward()
    assert torch.isfinite(verts.grad).all() and verts.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(
        lambda v: rasterize_depth(v, faces, 6, background=2.0), (verts,)
    )
    assert torch.autograd.gradcheck(lambda v: rasterize(v, faces, 6).bary, (verts,))


def test_gradcheck_near_degenerate_triangle():
    # A sliver triangle (area ~1e-3 px^2) still has a finite, correct gradient.
    verts = torch.tensor(
        [[[0.2, 0.3, 1.0], [5.7, 0.31, 1.2], [2.9, 0.32 + 1e-3, 1.1], [0.2, 4.8, 1.3]]],
        dtype=torch.float64,
        requires_grad=True,
    )
    faces = torch.tensor([[0, 1, 2], [0, 1, 3]])
    assert torch.autograd.gradcheck(
        lambda v: rasterize_depth(v, faces, 6, background=3.0), (verts,)
    )


@pytest.mark.parametrize(
    ("verts", "faces", "message"),
    [
        (torch.zeros(2, 3), torch.zeros(1, 3, dtype=torch.long), "verts must be"),
        (torch.zeros(1, 3, 3), torch.zeros(1, 3), "faces must be int64"),
        (torch.zeros(1, 3, 3), torch.tensor([[0, 1, 3]]), "faces index vertices outside"),
        (torch.full((1, 3, 3), float("nan")), torch.tensor([[0, 1, 2]]), "NaN"),
    ],
)
def test_bad_inputs(verts, faces, message):
    with pytest.raises(ValueError, match=message):
        rasterize_depth(verts, faces, 8)
