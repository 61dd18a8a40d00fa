"""A slow, obviously-correct loop rasteriser: the reference the vectorised one is tested against.

Pure Python over faces and pixels in float64, written for clarity, not speed (seconds for a
16 x 16 raster). Same sampling and visibility rule as `unsup3d.renderer.rasterize`: pixel
(r, c) is sampled at (u, v) = (c, r); a face covers a pixel if the clamped screen barycentrics
are within ``tol`` of the triangle; among covering faces with depth in (near, far) the nearest
wins, and faces whose depths differ by at most ``tie_tol`` (relative) tie, won by the smallest
face index.
"""

from __future__ import annotations

import math

import torch


def reference_rasterize(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: int | tuple[int, int],
    background: float = 0.0,
    near: float = 1e-4,
    far: float = float("inf"),
    tol: float = 1e-5,
    tie_tol: float = 1e-6,
) -> tuple[torch.Tensor, torch.Tensor, list[list[list[list[int]]]]]:
    """Loop reference of `unsup3d.renderer.rasterize`.

    Args:
        verts: (B, V, 3) (u, v, z). faces: (F, 3). image_size: S or (H, W).
        tol: inclusive edge tolerance in barycentric units. tie_tol: relative depth tie width.

    Returns:
        depth (B, H, W) float64, face index (B, H, W) int64 (-1 uncovered), and for each pixel
        the list of faces tied for nearest (so a caller can accept any of them as a winner).
    """
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    vs = verts.detach().double().cpu().tolist()
    fs = faces.cpu().tolist()
    batch = len(vs)
    depth = torch.full((batch, h, w), float(background), dtype=torch.float64)
    index = torch.full((batch, h, w), -1, dtype=torch.int64)
    ties: list[list[list[list[int]]]] = [[[[] for _ in range(w)] for _ in range(h)] for _ in vs]
    for b in range(batch):
        hits: dict[tuple[int, int], list[tuple[float, int]]] = {}
        for f, (i0, i1, i2) in enumerate(fs):
            (u0, v0, z0), (u1, v1, z1), (u2, v2, z2) = vs[b][i0], vs[b][i1], vs[b][i2]
            area = (u1 - u0) * (v2 - v0) - (v1 - v0) * (u2 - u0)
            if abs(area) <= 1e-10 or min(z0, z1, z2) <= 0:
                continue
            for r in range(
                max(0, math.ceil(min(v0, v1, v2) - 1e-4)),
                min(h - 1, math.floor(max(v0, v1, v2) + 1e-4)) + 1,
            ):
                for c in range(
                    max(0, math.ceil(min(u0, u1, u2) - 1e-4)),
                    min(w - 1, math.floor(max(u0, u1, u2) + 1e-4)) + 1,
                ):
                    # Barycentrics as ratios of sub-triangle areas.
                    b1 = ((c - u0) * (v2 - v0) - (r - v0) * (u2 - u0)) / area
                    b2 = ((u1 - u0) * (r - v0) - (v1 - v0) * (c - u0)) / area
                    b0 = 1.0 - b1 - b2
                    if min(b0, b1, b2) < -tol:
                        continue
                    ws = [min(max(x, 0.0), 1.0) for x in (b0, b1, b2)]
                    total = sum(ws)
                    z = 1.0 / sum(wk / total / zk for wk, zk in zip(ws, (z0, z1, z2)))
                    if near < z < far:
                        hits.setdefault((r, c), []).append((z, f))
        for (r, c), cands in hits.items():
            zmin = min(z for z, _ in cands)
            tied = sorted(f for z, f in cands if z <= zmin * (1 + tie_tol))
            winner = tied[0]
            depth[b, r, c] = next(z for z, f in cands if f == winner)
            index[b, r, c] = winner
            ties[b][r][c] = tied
    return depth, index, ties
