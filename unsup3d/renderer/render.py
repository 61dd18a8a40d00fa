"""The renderer used by the inverse-rendering model: depth warping, reconstruction, RGB views.

A thin class over the pure functions of this package: it holds the camera (image size, field of
view, rotation centre), the visible depth range and the sampling convention, and caches the grid
mesh's faces per device. All tensors' device and dtype come from the inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from unsup3d.renderer.camera import (
    depth_to_planes,
    intrinsics,
    pixels_to_grid,
    project_planes,
    transform_planes,
)
from unsup3d.renderer.mesh import grid_faces
from unsup3d.renderer.rasterize import rasterize, rasterize_depth

CONVENTIONS = ("clean", "nmr_compat")
# The neural mesh renderer's render_depth ignores the configured near/far and uses its module
# defaults (reference_behaviour.md §2.4); nmr_compat reproduces that.
NMR_NEAR, NMR_FAR = 0.1, 100.0


@dataclass
class Reconstruction:
    """Output of `Renderer.reconstruct`.

    Attributes:
        depth: (B, H, W) depth of the warped canonical surface in the input view, clamped to
            the renderer's depth range [min - m, max + m] with m = (max - min) / 2.
        image: (B, C, H, W) canonical image resampled into the input view (not masked).
        mask: (B, H, W) bool, True where the surface covers the pixel (depth < max + m).
        grid: (B, H, W, 2) sampling grid into the canonical image (align_corners=True frame).
    """

    depth: torch.Tensor
    image: torch.Tensor
    mask: torch.Tensor
    grid: torch.Tensor


class Renderer:
    """Perspective renderer of canonical depth maps seen from a 6-DoF view.

    Args:
        image_size: S (square images, S x S pixels).
        fov_deg: full field of view in degrees (release: 10).
        rot_center_depth: depth of the view rotation centre C = (0, 0, c) (release: 1.0).
        min_depth, max_depth: range of canonical depth (release: 0.9, 1.1); reconstructed depth is
            clamped to [min - m, max + m], m = (max - min) / 2, and pixels at the upper bound are
            background.
        near, far: rasteriser depth range in the ``clean`` convention (release config: 0.1, 10).
        convention: ``clean`` samples at pixel centres (default); ``nmr_compat`` reproduces the
            release's neural mesh renderer: a half-pixel shift, 2x supersampling with 2x2 average
            pooling, near 0.1 and far/background 100 (so the last row and column are background).
    """

    def __init__(
        self,
        image_size: int,
        fov_deg: float = 10.0,
        rot_center_depth: float = 1.0,
        min_depth: float = 0.9,
        max_depth: float = 1.1,
        near: float = 0.1,
        far: float = 10.0,
        convention: str = "clean",
    ) -> None:
        if convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
        if not 0 < min_depth < max_depth:
            raise ValueError(f"need 0 < min_depth < max_depth, got {min_depth}, {max_depth}")
        if not 0 < near < far:
            raise ValueError(f"need 0 < near < far, got {near}, {far}")
        if not math.isfinite(rot_center_depth):
            raise ValueError(f"rot_center_depth must be finite, got {rot_center_depth}")
        self.image_size = int(image_size)
        self.fov_deg = float(fov_deg)
        self.K = intrinsics(self.image_size, self.fov_deg)  # validates size and fov
        self.rot_center_depth = float(rot_center_depth)
        self.min_depth, self.max_depth = float(min_depth), float(max_depth)
        self.near, self.far = float(near), float(far)
        self.convention = convention
        margin = (self.max_depth - self.min_depth) / 2
        self.depth_lo, self.depth_hi = self.min_depth - margin, self.max_depth + margin
        self._faces: dict[torch.device, torch.Tensor] = {}

    def __repr__(self) -> str:
        return (
            f"Renderer(image_size={self.image_size}, fov_deg={self.fov_deg}, "
            f"rot_center_depth={self.rot_center_depth}, depth=[{self.min_depth}, {self.max_depth}], "
            f"near={self.near}, far={self.far}, convention={self.convention!r})"
        )

    def intrinsics_like(self, t: torch.Tensor) -> torch.Tensor:
        """K (3, 3) on ``t``'s device and dtype."""
        return self.K.to(device=t.device, dtype=t.dtype)

    def faces(self, device: torch.device) -> torch.Tensor:
        """The grid mesh's faces (2 (S-1)^2, 3) int64 on ``device`` (cached)."""
        if device not in self._faces:
            self._faces[device] = grid_faces(self.image_size, self.image_size, device=device)
        return self._faces[device]

    def _check_depth(self, depth: torch.Tensor, name: str = "depth") -> None:
        s = self.image_size
        if depth.dim() != 3 or depth.shape[1:] != (s, s):
            raise ValueError(f"{name} must be (B, {s}, {s}), got {tuple(depth.shape)}")
        if not torch.isfinite(depth).all():
            raise ValueError(f"{name} contains NaN or inf")

    def _check_view(self, view: torch.Tensor, batch: int) -> None:
        if view.dim() != 2 or view.shape[0] != batch or view.shape[1] not in (3, 5, 6):
            raise ValueError(f"view must be ({batch}, 6), got {tuple(view.shape)}")
        if not torch.isfinite(view).all():
            raise ValueError("view contains NaN or inf")

    def project_canonical(
        self, canon_depth: torch.Tensor, view: torch.Tensor | None
    ) -> torch.Tensor:
        """Screen-space vertices (B, S*S, 3) = (u, v, z) of the canonical mesh seen from ``view``."""
        K = self.intrinsics_like(canon_depth)
        points = [p.reshape(canon_depth.shape[0], -1) for p in depth_to_planes(canon_depth, K)]
        if view is not None:
            points = transform_planes(points, view, self.rot_center_depth)
        return torch.stack(project_planes(points, K), dim=-1)

    def render_depth(self, verts: torch.Tensor) -> torch.Tensor:
        """Rasterise the grid mesh given its screen-space vertices, with this convention.

        Args:
            verts: (B, S*S, 3) (u, v, z) of the grid mesh's vertices.

        Returns:
            (B, S, S) depth; the background value is ``far`` (clean) or 100 (nmr_compat).
        """
        s = self.image_size
        faces = self.faces(verts.device)
        if self.convention == "clean":
            return rasterize_depth(
                verts, faces, s, background=self.far, near=self.near, far=self.far
            )
        # nmr_compat: the release's raster samples output pixel (r, c) at (c + 0.25/0.75,
        # r + 0.25/0.75): a 2S raster whose centre j sits at u = j/2 + 1/4, then 2x2 averaging.
        scale = verts.new_tensor([2.0, 2.0, 1.0])
        shift = verts.new_tensor([0.5, 0.5, 0.0])
        fine = rasterize_depth(
            verts * scale - shift, faces, 2 * s, background=NMR_FAR, near=NMR_NEAR, far=NMR_FAR
        )
        return F.avg_pool2d(fine[:, None], 2)[:, 0]

    def warp_canon_depth(self, canon_depth: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        """Depth of the canonical surface seen from ``view``, unclamped.

        Args:
            canon_depth: (B, S, S) canonical depth. view: (B, 6) (rx, ry, rz rad; tx, ty, tz).

        Returns:
            (B, S, S) raw rendered depth (background = ``far``, or 100 in nmr_compat).
        """
        self._check_depth(canon_depth, "canonical depth")
        self._check_view(view, canon_depth.shape[0])
        return self.render_depth(self.project_canonical(canon_depth, view))

    def inverse_warp_grid(self, depth: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        """Where each input-view pixel lands in the canonical image.

        Args:
            depth: (B, S, S) input-view depth. view: (B, 6).

        Returns:
            (B, S, S, 2) ``grid_sample`` grid (align_corners=True) into the canonical image.
        """
        s = self.image_size
        K = self.intrinsics_like(depth)
        points = transform_planes(
            depth_to_planes(depth, K), view, self.rot_center_depth, inverse=True
        )
        u, v, _ = project_planes(points, K)
        return pixels_to_grid(torch.stack([u, v], dim=-1), s, s)

    def reconstruct(
        self, canon_depth: torch.Tensor, canon_image: torch.Tensor, view: torch.Tensor
    ) -> Reconstruction:
        """Render the canonical image, lit and textured on the canonical depth, from ``view``.

        Steps: warp the canonical mesh into the view, z-buffer it, clamp the depth, back-project
        every pixel, inverse-warp to the canonical frame and ``grid_sample`` the canonical image
        there (bilinear, zero padding, align_corners=True).

        Args:
            canon_depth: (B, S, S) canonical depth.
            canon_image: (B, C, S, S) canonical (shaded) image.
            view: (B, 6) view vectors.

        Returns:
            `Reconstruction` (depth, image, mask, grid).
        """
        if canon_image.dim() != 4 or canon_image.shape[0] != canon_depth.shape[0]:
            raise ValueError(
                f"canonical image must be (B, C, S, S) with B = {canon_depth.shape[0]}, "
                f"got {tuple(canon_image.shape)}"
            )
        raw = self.warp_canon_depth(canon_depth, view)
        depth = raw.clamp(self.depth_lo, self.depth_hi)
        mask = (raw < self.depth_hi).detach()
        grid = self.inverse_warp_grid(depth, view)
        image = F.grid_sample(
            canon_image, grid, mode="bilinear", padding_mode="zeros", align_corners=True
        )
        return Reconstruction(depth=depth, image=image, mask=mask, grid=grid)

    def render_rgb(
        self,
        canon_depth: torch.Tensor,
        colors: torch.Tensor,
        view: torch.Tensor | None = None,
        view_before: torch.Tensor | None = None,
        background: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Render the canonical mesh with per-vertex colours (Gouraud, perspective-correct).

        For visualisation (novel views, yaw sweeps, relighting): each vertex takes the colour of
        its pixel in ``colors``; the mesh is first moved by the inverse of ``view_before`` (e.g. to
        undo a predicted view), then by ``view``.

        Args:
            canon_depth: (B, S, S). colors: (B, C, S, S). view, view_before: (B, 6) or None.
            background: value of uncovered pixels (release: white, 1).

        Returns:
            image (B, C, S, S) and coverage alpha (B, 1, S, S) in {0, 1}.
        """
        self._check_depth(canon_depth, "canonical depth")
        b, s = canon_depth.shape[0], self.image_size
        if colors.dim() != 4 or colors.shape[0] != b or colors.shape[2:] != (s, s):
            raise ValueError(f"colors must be ({b}, C, {s}, {s}), got {tuple(colors.shape)}")
        K = self.intrinsics_like(canon_depth)
        points = [p.reshape(b, -1) for p in depth_to_planes(canon_depth, K)]
        if view_before is not None:
            points = transform_planes(points, view_before, self.rot_center_depth, inverse=True)
        if view is not None:
            points = transform_planes(points, view, self.rot_center_depth)
        verts = torch.stack(project_planes(points, K), dim=-1)
        faces = self.faces(verts.device)
        frags = rasterize(verts, faces, s, background=self.far, near=self.near, far=self.far)
        vert_colors = colors.flatten(2).transpose(1, 2)  # (B, S*S, C)
        covered = frags.covered
        face = frags.face_index.clamp(min=0)  # (B, S, S)
        corner = faces[face]  # (B, S, S, 3) vertex indices
        bidx = torch.arange(b, device=verts.device)[:, None, None, None]
        corner_colors = vert_colors[bidx, corner]  # (B, S, S, 3, C)
        image = (frags.bary[..., None] * corner_colors).sum(-2)  # (B, S, S, C)
        image = torch.where(covered[..., None], image, torch.full_like(image, background))
        return image.permute(0, 3, 1, 2), covered[:, None].to(image.dtype)

    def render_yaw(
        self,
        canon_depth: torch.Tensor,
        colors: torch.Tensor,
        view_before: torch.Tensor | None = None,
        max_deg: float = 90.0,
        num: int = 9,
        background: float = 1.0,
    ) -> torch.Tensor:
        """A sweep of views rotating the surface about the vertical axis through C.

        Args:
            canon_depth: (B, S, S). colors: (B, C, S, S). view_before: (B, 6) or None (undone
                first). max_deg: the sweep spans [-max_deg, +max_deg]. num: number of views.

        Returns:
            (B, num, C, S, S) rendered views.
        """
        b = canon_depth.shape[0]
        frames = []
        for yaw in torch.linspace(-max_deg, max_deg, num).tolist():
            view = canon_depth.new_zeros(b, 6)
            view[:, 1] = math.radians(yaw)
            frames.append(self.render_rgb(canon_depth, colors, view, view_before, background)[0])
        return torch.stack(frames, dim=1)
