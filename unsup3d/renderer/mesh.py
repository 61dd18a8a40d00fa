"""The regular grid mesh spanned by a depth map's pixels."""

from __future__ import annotations

import torch


def grid_faces(height: int, width: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Two triangles per pixel quad of an H x W vertex grid (vertex index = row * W + col).

    With TL = (r, c), TR = (r, c+1), BL = (r+1, c), BR = (r+1, c+1), the faces are (TL, BL, TR)
    and (TR, BL, BR); all first triangles are listed before all second ones (the release's order,
    so face indices match it). The rasteriser does no back-face culling, so both windings are
    visible.

    Returns:
        (2 (H-1) (W-1), 3) int64 vertex indices.
    """
    if height < 2 or width < 2:
        raise ValueError(f"a grid mesh needs at least 2x2 vertices, got {height}x{width}")
    idx = torch.arange(height * width, device=device).reshape(height, width)
    tl, tr = idx[:-1, :-1].reshape(-1), idx[:-1, 1:].reshape(-1)
    bl, br = idx[1:, :-1].reshape(-1), idx[1:, 1:].reshape(-1)
    first = torch.stack([tl, bl, tr], dim=1)
    second = torch.stack([tr, bl, br], dim=1)
    return torch.cat([first, second], dim=0)
