"""Vectorised z-buffer rasterisation of triangle meshes in screen space (pure PyTorch).

Visibility is decided without autograd over all (face, pixel) candidates at once: each face's
box corner, the rest of boxes up to 2x2 by broadcasting, larger faces row by row over their
column span in that row (ragged, so a long thin face costs its area, not its box's). An
inclusive edge test keeps pixel centres lying exactly on shared edges, and one
``scatter_reduce(amin)`` over an int64 key that packs the float32 depth bits above the face
index gives, per pixel, the nearest depth and a unique winner (ties:
smallest face index). Only the winners are then recomputed with autograd, so gradients w.r.t.
vertex positions flow through the barycentric interpolation with the face assignment held fixed
(exactly the neural mesh renderer's depth gradient), at a memory cost of O(B H W).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Inclusive edge test tolerance, in barycentric units: pixel centres exactly on an edge (every
# pixel under an identity view) must not fall between two faces through rounding.
_INSIDE_EPS = 1e-5
# Triangles whose doubled screen area is below this (pixels^2) are degenerate and skipped.
_MIN_AREA = 1e-10
_NO_HIT = torch.iinfo(torch.int64).max


@dataclass
class Fragments:
    """Per-pixel rasterisation result.

    Attributes:
        face_index: (B, H, W) int64 index of the visible face, -1 where none covers.
        bary: (B, H, W, 3) perspective-correct barycentric weights of the visible face's three
            vertices (0 where uncovered); differentiable w.r.t. the vertex positions.
        depth: (B, H, W) interpolated camera depth, ``background`` where uncovered;
            differentiable w.r.t. the vertex positions.
    """

    face_index: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor

    @property
    def covered(self) -> torch.Tensor:
        """(B, H, W) bool: a face covers the pixel."""
        return self.face_index >= 0


def _check_inputs(verts: torch.Tensor, faces: torch.Tensor, image_size) -> tuple[int, int]:
    if verts.dim() != 3 or verts.shape[-1] != 3:
        raise ValueError(f"verts must be (B, V, 3) holding (u, v, z), got {tuple(verts.shape)}")
    if not verts.is_floating_point():
        raise ValueError(f"verts must be floating point, got {verts.dtype}")
    if faces.dim() != 2 or faces.shape[-1] != 3:
        raise ValueError(f"faces must be (F, 3), got {tuple(faces.shape)}")
    if faces.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"faces must be int64 (or int32) vertex indices, got {faces.dtype}")
    if faces.numel() and (int(faces.min()) < 0 or int(faces.max()) >= verts.shape[1]):
        raise ValueError(f"faces index vertices outside [0, {verts.shape[1]})")
    if faces.shape[0] >= 2**31:
        raise ValueError("at most 2^31 - 1 faces are supported")
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if h < 1 or w < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if not torch.isfinite(verts).all():
        raise ValueError("verts contain NaN or inf (a NaN depth map?)")
    return int(h), int(w)


def _barycentric(
    tri: torch.Tensor, px: torch.Tensor, py: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Screen-space barycentrics of points w.r.t. triangles, in triangle-local coordinates.

    Args:
        tri: (N, 3, 2) triangle (u, v) corners.
        px, py: (N,) or broadcastable point coordinates.

    Returns:
        w (N, 3) unclamped screen barycentrics, and the doubled signed area (N,).
    """
    # Subtract the first corner: absolute pixel coordinates would cancel catastrophically.
    ax, ay = tri[..., 1, 0] - tri[..., 0, 0], tri[..., 1, 1] - tri[..., 0, 1]
    bx, by = tri[..., 2, 0] - tri[..., 0, 0], tri[..., 2, 1] - tri[..., 0, 1]
    qx, qy = px - tri[..., 0, 0], py - tri[..., 0, 1]
    area = ax * by - ay * bx
    w1 = (qx * by - qy * bx) / area
    w2 = (ax * qy - ay * qx) / area
    return torch.stack([1.0 - w1 - w2, w1, w2], dim=-1), area


def _interpolate(w: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Clamp screen barycentrics to the triangle, then perspective-correct them.

    Args:
        w: (N, 3) screen-space barycentrics; z: (N, 3) vertex depths (> 0).

    Returns:
        depth (N,) = 1 / sum_k (w_k / z_k) and perspective-correct weights (N, 3).
    """
    w = w.clamp(0.0, 1.0)
    w = w / w.sum(-1, keepdim=True)
    wz = w / z
    inv_depth = wz.sum(-1)
    return 1.0 / inv_depth, wz / inv_depth[..., None]


# Faces whose pixel bounding box fits in DENSE x DENSE are tested at all DENSE^2 offsets by
# broadcasting; larger ones are enumerated raggedly.
_DENSE = 2


def _candidate_keys(
    params: list[torch.Tensor], dx: torch.Tensor, dy: torch.Tensor, inv_near: float, inv_far: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inside test and depth for candidates at bounding-box offsets (dx, dy) of their face.

    Args:
        params: nine per-face plane coefficients (see `_face_planes`), broadcastable with dx/dy.
        dx, dy: candidate offsets from the face's bounding-box corner, in pixels.

    Returns:
        inside (bool) and depth (float32), shaped like the broadcast of a coefficient and dx.
    """
    qx0, qy0, a1, b1, a2, b2, c0, cx, cy = params
    qx = qx0 + dx
    qy = qy0 + dy
    w1 = a1 * qx + b1 * qy
    w2 = a2 * qx + b2 * qy
    inv_depth = c0 + cx * qx + cy * qy
    inside = (w1 >= -_INSIDE_EPS) & (w2 >= -_INSIDE_EPS) & (w1 + w2 <= 1.0 + _INSIDE_EPS)
    inside &= (inv_depth > inv_far) & (inv_depth < inv_near)
    return inside, 1.0 / inv_depth


def _face_planes(
    u: list[torch.Tensor],
    v: list[torch.Tensor],
    z: list[torch.Tensor],
    u_lo: torch.Tensor,
    v_lo: torch.Tensor,
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Affine barycentric and inverse-depth planes of each face, relative to its box corner.

    Screen barycentrics and 1/z are affine in screen space, so each candidate costs a few
    multiply-adds: w1 = a1 qx + b1 qy, w2 = a2 qx + b2 qy, 1/z = c0 + cx qx + cy qy, with
    q = pixel - first vertex = (box corner - first vertex) + box offset.

    Args:
        u, v, z: three (N,) tensors each, the faces' corners' (u, v, z); u_lo, v_lo: (N,)
            bounding-box corners.

    Returns:
        Nine (N,) tensors: q offset of the box corner (2), w1 plane (2), w2 plane (2), 1/z plane
        (3); and (N,) bool, the face is not degenerate (doubled area above _MIN_AREA).
    """
    ax, ay = u[1] - u[0], v[1] - v[0]
    bx, by = u[2] - u[0], v[2] - v[0]
    area = ax * by - ay * bx
    proper = area.abs() > _MIN_AREA
    area = torch.where(proper, area, torch.ones_like(area))
    a1, b1 = by / area, -bx / area
    a2, b2 = -ay / area, ax / area
    iz = [1.0 / zk.clamp(min=1e-12) for zk in z]
    d1, d2 = iz[1] - iz[0], iz[2] - iz[0]
    planes = [u_lo - u[0], v_lo - v[0], a1, b1, a2, b2, iz[0], a1 * d1 + a2 * d2, b1 * d1 + b2 * d2]
    return planes, proper


def _ragged(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Enumerate ``counts[i]`` items for each i: (owner i, index within i), both (sum,) int64."""
    total = int(counts.sum())
    owner = torch.repeat_interleave(
        torch.arange(len(counts), device=counts.device), counts, output_size=total
    )
    start = torch.cumsum(counts, 0) - counts
    return owner, torch.arange(total, device=counts.device) - start.index_select(0, owner)


# Margins (pixels) of a row's column span. An edge counts for a row within _ROW_MARGIN of its v
# range (the inclusive test reaches at most _INSIDE_EPS x the face's size, < 3e-3 px for faces
# up to 256 px). The span is widened by _COL_MARGIN: rounding of the crossing of an edge only
# becomes that large for edges flatter than 1:10^4, whose ends the other two edges' crossings
# already cover, and the inside test still decides every candidate.
_ROW_MARGIN = 1e-2
_COL_MARGIN = 1.0


def _row_span(
    u: torch.Tensor, v: torch.Tensor, row: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last pixel column (float, maybe empty) a face may cover in a pixel row.

    Args:
        u, v: (P, 3) faces' corner columns and rows; row: (P,) row coordinate (pixel centres' v).

    Returns:
        ceil(u_min - _COL_MARGIN), floor(u_max + _COL_MARGIN) of the face's intersection with
        the row: it contains every centre the inclusive edge test may accept (empty if none).
    """
    u_next, v_next = u.roll(-1, dims=1), v.roll(-1, dims=1)  # the edges (k, k+1)
    r = row[:, None]
    dv = v_next - v
    flat = dv.abs() < 1e-9
    t = ((r - v) / torch.where(flat, torch.ones_like(dv), dv)).clamp(0.0, 1.0)
    cross = u + t * (u_next - u)
    # An edge counts where the row passes within the margin of its v range; a horizontal edge
    # contributes both ends.
    near = (r >= torch.minimum(v, v_next) - _ROW_MARGIN) & (
        r <= torch.maximum(v, v_next) + _ROW_MARGIN
    )
    lo = torch.where(flat, torch.minimum(u, u_next), cross)
    hi = torch.where(flat, torch.maximum(u, u_next), cross)
    inf = torch.full_like(lo, float("inf"))
    u_min = torch.where(near, lo, inf).amin(1)
    u_max = torch.where(near, hi, -inf).amax(1)
    return torch.ceil(u_min - _COL_MARGIN), torch.floor(u_max + _COL_MARGIN)


@torch.no_grad()
def _visible_faces(
    verts: torch.Tensor, faces: torch.Tensor, height: int, width: int, near: float, far: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel winning face (B*H*W,) int64, -1 where no face covers the pixel centre, and its
    float32 depth there (B*H*W,) as the z-buffer computed it (plane interpolation; 0 if none)."""
    batch, num_verts = verts.shape[:2]
    num_faces = faces.shape[0]
    device = verts.device
    # Corners as nine contiguous (B*F,) tensors u[k], v[k], z[k] (k = the face's vertex): every
    # per-face op below is then a flat, vectorised element-wise op, with no stride-3 access.
    corner = faces.t()[:, None, :] + (torch.arange(batch, device=device) * num_verts)[:, None]
    corner = corner.reshape(3, -1)  # (3 vertices, B*F) rows of the flattened (B*V,) planes
    u, v, z = (
        [plane.reshape(-1).index_select(0, corner[k]) for k in range(3)]
        for plane in verts.unbind(-1)
    )
    eps = 1e-4  # pixels: widen boxes so centres on an edge are enumerated
    u_lo = torch.ceil(torch.minimum(torch.minimum(u[0], u[1]), u[2]) - eps).clamp(min=0)
    u_hi = torch.floor(torch.maximum(torch.maximum(u[0], u[1]), u[2]) + eps).clamp(max=width - 1)
    v_lo = torch.ceil(torch.minimum(torch.minimum(v[0], v[1]), v[2]) - eps).clamp(min=0)
    v_hi = torch.floor(torch.maximum(torch.maximum(v[0], v[1]), v[2]) + eps).clamp(max=height - 1)
    params, proper = _face_planes(u, v, z, u_lo, v_lo)
    usable = proper & (z[0] > 0) & (z[1] > 0) & (z[2] > 0)
    box_w = torch.where(usable, (u_hi - u_lo + 1).clamp(min=0), torch.zeros_like(u_lo)).long()
    box_h = torch.where(usable, (v_hi - v_lo + 1).clamp(min=0), torch.zeros_like(v_lo)).long()
    # Flat index of each face's box corner in the (B, H, W) raster (no int64 division).
    image_start = torch.arange(batch, device=device) * (height * width)
    base = (v_lo.long() * width + u_lo.long()).view(batch, num_faces) + image_start[:, None]
    base = base.reshape(-1)
    # Faces with an empty box (off-raster, degenerate) may have corners far outside the raster;
    # all their candidates are masked, but the indices must still be valid.
    nonempty = (box_w > 0) & (box_h > 0)
    base = torch.where(nonempty, base, torch.zeros_like(base))
    local_face = torch.arange(num_faces, device=device).repeat(batch)
    inv_near = 1.0 / near if near > 0 else float("inf")
    inv_far = 1.0 / far if far > 0 else 0.0

    num_pixels = batch * height * width
    # Padded by one row + 1 so masked-out dense candidates past the last pixel need no clamp.
    out = torch.full((num_pixels + width + _DENSE,), _NO_HIT, dtype=torch.int64, device=device)

    def scatter(inside, depth, pixel, face):
        # Positive float32 values order like their bit patterns: pack depth above the face index,
        # so one amin gives the nearest depth and, among equal depths, the smallest face index.
        # Non-inside candidates (possibly negative depth) are masked out below.
        key = (depth.float().view(torch.int32).long() << 32) | face
        key.masked_fill_(~inside, _NO_HIT)
        out.scatter_reduce_(0, pixel.reshape(-1), key.reshape(-1), reduce="amin")

    # Corner tier: every face's box corner, one candidate per face, no gathers. At the grid
    # mesh's density most boxes hold a single pixel centre, so this alone settles most faces.
    inside, depth = _candidate_keys(params, 0.0, 0.0, inv_near, inv_far)
    scatter(inside & nonempty, depth, base, local_face)

    # Dense tier: the other offsets of boxes up to DENSE x DENSE, by broadcasting over the
    # compacted faces that have them.
    small = (box_w <= _DENSE) & (box_h <= _DENSE)
    more = torch.nonzero(small & nonempty & ((box_w > 1) | (box_h > 1))).squeeze(1)

    def take(index: torch.Tensor) -> list[torch.Tensor]:  # the planes of the faces ``index``
        return [p.index_select(0, index.reshape(-1)).reshape(index.shape) for p in params]

    if more.numel():
        off = torch.arange(_DENSE, device=device)
        dy, dx = torch.meshgrid(off, off, indexing="ij")
        dx, dy = dx.reshape(1, -1)[:, 1:], dy.reshape(1, -1)[:, 1:]  # (1, DENSE^2 - 1): no corner
        inside, depth = _candidate_keys(
            take(more[:, None]), dx.to(verts.dtype), dy.to(verts.dtype), inv_near, inv_far
        )
        inside &= (dx < box_w[more, None]) & (dy < box_h[more, None])
        pixel = base[more, None] + (dy * width + dx)
        scatter(inside, depth, pixel, local_face[more, None].expand_as(pixel))

    # Ragged tier: larger boxes, enumerated row by row over the triangle's own column span in
    # that row (a superset of its pixels: long thin faces cost their area, not their box's).
    large = torch.nonzero(~small & nonempty).squeeze(1)
    if large.numel():
        pair, row_off = _ragged(box_h.index_select(0, large))  # (face, row) pairs
        face = large.index_select(0, pair)
        row = v_lo.index_select(0, face) + row_off.to(verts.dtype)
        c_lo, c_hi = _row_span(
            torch.stack([uk.index_select(0, face) for uk in u], 1),
            torch.stack([vk.index_select(0, face) for vk in v], 1),
            row,
        )
        c_lo = torch.maximum(c_lo, u_lo.index_select(0, face))
        c_hi = torch.minimum(c_hi, u_hi.index_select(0, face))
        count = (c_hi - c_lo + 1).clamp(min=0).long()
        which, col_off = _ragged(count)
        face = face.index_select(0, which)
        ddy = row_off.index_select(0, which)
        ddx = (c_lo.index_select(0, which) - u_lo.index_select(0, face)).long() + col_off
        inside, depth = _candidate_keys(
            take(face), ddx.to(verts.dtype), ddy.to(verts.dtype), inv_near, inv_far
        )
        scatter(inside, depth, base.index_select(0, face) + ddy * width + ddx, local_face[face])

    out = out[:num_pixels]
    hit = out != _NO_HIT
    winner = torch.where(hit, out & 0xFFFFFFFF, torch.full_like(out, -1))
    # The winner's depth, unpacked from the key's high 32 bits (float32 bit pattern).
    depth = torch.where(hit, out >> 32, torch.zeros_like(out)).int().view(torch.float32)
    return winner, depth


def rasterize(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: int | tuple[int, int],
    background: float = 0.0,
    near: float = 1e-4,
    far: float = float("inf"),
) -> Fragments:
    """Rasterise triangle meshes given in screen space; nearest surface wins.

    Pixel (r, c) is sampled at its centre (u, v) = (c, r). A pixel centre on an edge or vertex
    belongs to every face sharing it (inclusive test); among faces covering a pixel the one with
    the smallest perspective-correct depth wins, ties going to the smallest face index.

    Args:
        verts: (B, V, 3) vertices as (u, v, z): column and row in pixels, z the camera depth (> 0).
        faces: (F, 3) int64 vertex indices, shared by the batch; any winding.
        image_size: S or (H, W) of the output raster.
        background: depth written where no face covers the pixel.
        near, far: a face is visible at a pixel only if its interpolated depth is in (near, far).

    Returns:
        `Fragments` with face index, perspective-correct barycentrics and depth, differentiable
        w.r.t. ``verts`` through the barycentric interpolation (face assignment held fixed).
    """
    height, width = _check_inputs(verts, faces, image_size)
    faces = faces.long()
    batch = verts.shape[0]
    winner, _ = _visible_faces(verts.detach(), faces, height, width, near, far)  # (B*H*W,)
    depth = verts.new_full((batch * height * width,), float(background))
    bary = verts.new_zeros((batch * height * width, 3))
    pix = torch.nonzero(winner >= 0).squeeze(1)
    if pix.numel():
        b = torch.div(pix, height * width, rounding_mode="floor")
        rem = pix - b * height * width
        row = torch.div(rem, width, rounding_mode="floor")
        col = rem - row * width
        # (P, 3, 3) with grad; flat index_select is ~3x faster than advanced indexing on CPU.
        corner = faces.index_select(0, winner.index_select(0, pix)) + (b * verts.shape[1])[:, None]
        tri = verts.reshape(-1, 3).index_select(0, corner.reshape(-1)).reshape(-1, 3, 3)
        w, _ = _barycentric(tri[..., :2], col.to(verts.dtype), row.to(verts.dtype))
        d, wp = _interpolate(w, tri[..., 2])
        depth = depth.index_put((pix,), d)
        bary = bary.index_put((pix,), wp)
    return Fragments(
        face_index=winner.reshape(batch, height, width),
        bary=bary.reshape(batch, height, width, 3),
        depth=depth.reshape(batch, height, width),
    )


def rasterize_depth(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: int | tuple[int, int],
    background: float = 0.0,
    near: float = 1e-4,
    far: float = float("inf"),
) -> torch.Tensor:
    """Z-buffer depth of triangle meshes in screen space (see `rasterize`).

    Args:
        verts: (B, V, 3) (u, v, z): column, row (pixels; integer = pixel centre), camera depth.
        faces: (F, 3) int64.
        image_size: S or (H, W).
        background: value where no face covers the pixel.
        near, far: visible depth range (exclusive).

    Returns:
        (B, H, W) perspective-correct depth of the nearest face at each pixel centre. Without
        autograd (``verts`` not requiring grad, or grad mode off) and in float32 this is the
        z-buffer's own depth (1/z interpolated on the face's plane), which equals the
        differentiable path's within float32 rounding and skips recomputing the winners.
    """
    if verts.dtype == torch.float32 and not (torch.is_grad_enabled() and verts.requires_grad):
        height, width = _check_inputs(verts, faces, image_size)
        winner, depth = _visible_faces(verts, faces.long(), height, width, near, far)
        depth = torch.where(winner >= 0, depth, depth.new_tensor(float(background)))
        return depth.reshape(verts.shape[0], height, width)
    return rasterize(verts, faces, image_size, background=background, near=near, far=far).depth
