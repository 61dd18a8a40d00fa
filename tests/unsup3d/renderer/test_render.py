import math

import pytest
import torch
from torch.testing import assert_close

from unsup3d.renderer import (
    Renderer,
    depth_to_normals,
    depth_to_points,
    intrinsics,
    lambertian_shading,
    light_direction,
    rasterize_depth,
)


def test_identity_view_reconstructs_image_clean(depth_maker):
    r = Renderer(32)
    depth = depth_maker(2, 32)
    image = torch.rand(2, 3, 32, 32)
    rec = r.reconstruct(depth, image, torch.zeros(2, 6))
    assert rec.mask.all()
    assert_close(rec.depth, depth, atol=1e-6, rtol=0)
    assert_close(rec.image, image, atol=1e-4, rtol=0)


def test_nmr_compat_pins_release_facts():
    s = 16
    r = Renderer(s, convention="nmr_compat")
    # Depth linear in the column, d = 1 + 0.002 u: identity view renders it half a pixel right.
    u = torch.arange(s, dtype=torch.float64)
    depth = (1.0 + 0.002 * u).expand(1, s, s).contiguous()
    raw = r.warp_canon_depth(depth, torch.zeros(1, 6, dtype=torch.float64))
    # Last row and last column: no face there -> the far value 100.
    assert (raw[0, -1, :] == 100.0).all() and (raw[0, :, -1] == 100.0).all()
    inner = raw[0, :-1, :-1]
    # Perspective-correct interpolation is not exactly linear: 1e-5 covers it at this slope.
    assert_close(inner, (1.0 + 0.002 * (u[:-1] + 0.5)).expand(s - 1, s - 1), atol=1e-5, rtol=0)
    # Half a pixel shift, not an artefact of the ramp: clean samples at pixel centres.
    clean = Renderer(s).warp_canon_depth(depth, torch.zeros(1, 6, dtype=torch.float64))
    assert_close(clean, depth, atol=1e-9, rtol=0)
    # After reconstruct, background clamps to max + m = 1.2 and is masked.
    rec = r.reconstruct(depth.float(), torch.rand(1, 3, s, s), torch.zeros(1, 6))
    assert_close(rec.depth[0, -1], torch.full((s,), 1.2))
    assert not rec.mask[0, -1].any() and not rec.mask[0, :, -1].any()
    assert rec.mask[0, :-1, :-1].all()


def test_nmr_compat_edges_average_with_far():
    # A pixel half covered by the surface averages object depth with 100 -> above 1.2, masked.
    s = 8
    r = Renderer(s, convention="nmr_compat")
    depth = torch.ones(1, s, s)
    view = torch.tensor([[0.0, 0.0, 0.0, 0.01, 0.0, 0.0]])  # 0.4 px right (fx = 40 at 8 px)
    raw = r.warp_canon_depth(depth, view)
    assert raw[0, 3, 0] > 1.2  # left border pixel now partly uncovered


def test_normals_of_planes():
    K = intrinsics(16, 10.0, dtype=torch.float64)
    flat = torch.full((1, 16, 16), 1.3, dtype=torch.float64)
    n = depth_to_normals(flat, K)
    assert_close(
        n,
        torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(1, 16, 16, 3),
        atol=1e-7,
        rtol=0,
    )
    # A plane tilted by 30 deg about y (seen through the renderer) has normal (sin, 0, cos).
    r = Renderer(16)
    a = math.radians(30)
    tilted = r.warp_canon_depth(
        torch.ones(1, 16, 16, dtype=torch.float64),
        torch.tensor([[0.0, a, 0, 0, 0, 0]], dtype=torch.float64),
    )
    covered = tilted < 5
    n = depth_to_normals(tilted.where(covered, torch.ones_like(tilted)), K)
    # Interior: the pixel and its 4 neighbours covered (central differences stay on the plane).
    inner = torch.nn.functional.max_pool2d((~covered).double()[:, None], 3, 1, 1)[:, 0] == 0
    inner[:, [0, -1], :] = False
    inner[:, :, [0, -1]] = False
    expected = torch.tensor([math.sin(a), 0.0, math.cos(a)], dtype=torch.float64)
    assert inner.sum() > 20
    assert_close(n[inner], expected.expand(int(inner.sum()), 3), atol=1e-6, rtol=0)


def test_normals_are_the_cross_product_of_central_differences(depth_maker):
    depth = depth_maker(2, 16, dtype=torch.float64)
    K = intrinsics(16, 10.0, dtype=torch.float64)
    p = depth_to_points(depth, K)
    tu = p[:, 1:-1, 2:] - p[:, 1:-1, :-2]
    tv = p[:, 2:, 1:-1] - p[:, :-2, 1:-1]
    inner = torch.nn.functional.normalize(torch.linalg.cross(tu, tv, dim=-1), dim=-1)
    n = depth_to_normals(depth, K)
    assert_close(n[:, 1:-1, 1:-1], inner)
    border = torch.ones(16, 16, dtype=torch.bool)
    border[1:-1, 1:-1] = False
    assert (n[:, border] == torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)).all()


def test_lambertian_shading():
    n = torch.tensor([0.0, 0.0, 1.0]).expand(2, 4, 4, 3)
    light = light_direction(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    assert_close(light[1], torch.tensor([1.0, 0.0, 1.0]) / math.sqrt(2))
    shading, cos = lambertian_shading(n, torch.tensor([0.2, 0.2]), torch.tensor([0.8, 0.8]), light)
    assert_close(shading[0], torch.full((1, 4, 4), 1.0))
    assert_close(shading[1], torch.full((1, 4, 4), 0.2 + 0.8 / math.sqrt(2)))
    # Light from behind the surface contributes nothing (clamped at 0).
    back = torch.tensor([[0.0, 0.0, -1.0]])
    assert (
        lambertian_shading(n[:1], torch.tensor([0.1]), torch.tensor([1.0]), back)[0] == 0.1
    ).all()


def test_render_rgb_identity_and_yaw(depth_maker):
    r = Renderer(16)
    depth = depth_maker(1, 16)
    colors = torch.rand(1, 3, 16, 16)
    img, alpha = r.render_rgb(depth, colors)
    assert alpha.all()
    # float32 round trip through projection: barycentrics at vertices are exact to ~1e-4.
    assert_close(img, colors, atol=5e-4, rtol=0)
    sweep = r.render_yaw(depth, colors, num=5, max_deg=60)
    assert sweep.shape == (1, 5, 3, 16, 16)
    assert_close(sweep[:, 2], colors, atol=5e-4, rtol=0)  # the middle view is yaw 0
    # Turned 60 deg, part of the raster shows the white background.
    assert (sweep[:, 0] == 1.0).all(1).any()


def test_view_moves_surface_the_documented_way():
    # +tx moves the surface right (+u, by tx * fx / z pixels); +ry brings its right side closer.
    r = Renderer(32)
    depth = torch.ones(1, 32, 32)
    shifted = r.warp_canon_depth(depth, torch.tensor([[0.0, 0.0, 0.0, 0.02, 0.0, 0.0]])) < 5
    first_col = shifted[0].any(0).float().argmax().item()
    assert first_col == math.ceil(0.02 * r.K[0, 0].item())  # 3.54 px -> column 4
    turned = r.warp_canon_depth(depth, torch.tensor([[0.0, math.radians(10), 0.0, 0.0, 0.0, 0.0]]))
    row = turned[0, 16]
    visible = row < 5
    assert row[visible][-1] < 1.0 < row[visible][0]


@pytest.mark.filterwarnings("ignore:Anomaly Detection")
def test_gradcheck_full_reconstruction(depth_maker, view_maker):
    s = 6
    r = Renderer(s)
    depth = depth_maker(1, s, dtype=torch.float64, seed=7, amplitude=0.05).requires_grad_()
    image = torch.rand(1, 2, s, s, dtype=torch.float64, requires_grad=True)
    view = (
        view_maker(1, seed=8, max_deg=6, max_t=0.01, dtype=torch.float64) + 0.003
    ).requires_grad_()

    def f(d, im, v):
        rec = r.reconstruct(d, im, v)
        return rec.image * rec.mask[:, None]

    with torch.autograd.detect_anomaly():
        out = f(depth, image, view)
        out.sum().backward()
    for t in (depth, image, view):
        assert torch.isfinite(t.grad).all()
    assert view.grad.abs().sum() > 0 and depth.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(f, (depth, image, view))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda r: r.reconstruct(torch.ones(1, 8, 9), torch.rand(1, 3, 8, 8), torch.zeros(1, 6)),
            "must be",
        ),
        (
            lambda r: r.reconstruct(
                torch.full((1, 8, 8), float("nan")), torch.rand(1, 3, 8, 8), torch.zeros(1, 6)
            ),
            "NaN",
        ),
        (
            lambda r: r.reconstruct(torch.ones(1, 8, 8), torch.rand(1, 3, 8, 8), torch.zeros(2, 6)),
            "view must be",
        ),
        (
            lambda r: r.reconstruct(torch.ones(1, 8, 8), torch.rand(3, 8, 8), torch.zeros(1, 6)),
            "canonical image",
        ),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call(Renderer(8))


def test_bad_construction():
    with pytest.raises(ValueError, match="fov_deg"):
        Renderer(16, fov_deg=0)
    with pytest.raises(ValueError, match="convention"):
        Renderer(16, convention="nmr")
    with pytest.raises(ValueError, match="min_depth"):
        Renderer(16, min_depth=1.2, max_depth=1.1)


@pytest.mark.cuda
@pytest.mark.parametrize("convention", ["clean", "nmr_compat"])
def test_cuda_matches_cpu(convention, depth_maker, view_maker):
    r = Renderer(32, convention=convention)
    depth = depth_maker(4, 32).requires_grad_()
    image = torch.rand(4, 3, 32, 32)
    view = view_maker(4, max_deg=20)
    rec = r.reconstruct(depth, image, view)
    (rec.image * rec.mask[:, None]).sum().backward()
    depth_cuda = depth.detach().cuda().requires_grad_()
    rec_cuda = r.reconstruct(depth_cuda, image.cuda(), view.cuda())
    (rec_cuda.image * rec_cuda.mask[:, None]).sum().backward()
    assert (rec.mask == rec_cuda.mask.cpu()).float().mean() > 0.999
    both = rec.mask & rec_cuda.mask.cpu()
    assert_close(rec_cuda.depth.cpu()[both], rec.depth[both], atol=1e-5, rtol=0)
    assert_close(
        rec_cuda.image.cpu()[both[:, None].expand_as(rec.image)],
        rec.image[both[:, None].expand_as(rec.image)],
        atol=1e-4,
        rtol=0,
    )
    assert_close(depth_cuda.grad.cpu(), depth.grad, atol=1e-3, rtol=1e-3)
    # rasterize_depth itself, on the same vertices
    verts = r.project_canonical(depth.detach(), view)
    assert_close(
        rasterize_depth(verts.cuda(), r.faces(torch.device("cuda")), 32).cpu(),
        rasterize_depth(verts, r.faces(verts.device), 32),
        atol=1e-5,
        rtol=0,
    )
