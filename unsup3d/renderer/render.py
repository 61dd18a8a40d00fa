"""The renderer used by the inverse-rendering model: depth warping, reconstruction, RGB views.

A thin class over the pure functions of this package: it holds the camera (image size, field of
view, rotation centre), the visible depth range and the sampling convention (`RendererSettings`,
the ``renderer`` config section), and caches the grid mesh's faces per device. All tensors'
device and dtype come from the inputs. `Renderer.render_scene` is the one place a scene (depth,
albedo, light, view) is turned into an image: normals, shading, albedo x shading, reconstruction.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Literal

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
from unsup3d.renderer.shading import depth_to_normals, lambertian_shading
from unsup3d.schema import SettingError, Settings, setting

Convention = Literal["clean", "nmr_compat"]
CONVENTIONS = typing.get_args(Convention)  # the sampling conventions, as RendererSettings takes
# The neural mesh renderer's render_depth ignores the configured near/far and uses its module
# defaults (reference_behaviour.md §2.4); nmr_compat reproduces that.
NMR_NEAR, NMR_FAR = 0.1, 100.0


@dataclass(frozen=True)
class RendererSettings(Settings):
    """The camera, the canonical depth range and the sampling convention (``renderer.*``).

    Reconstructed depth is clamped to [min - m, max + m], m = (max - min) / 2, and pixels at the
    upper bound are background. ``nmr_compat`` reproduces the release's neural mesh renderer: a
    half-pixel shift, 2x supersampling with 2x2 average pooling, near 0.1 and far/background 100
    (so the last row and column are background).
    """

    fov_deg: float = setting(
        10.0,
        "full field of view, degrees (release: 10)",
        lo=0.0,
        hi=180.0,
        lo_open=True,
        hi_open=True,
    )
    rot_center_depth: float = setting(1.0, "depth of the view rotation centre C = (0, 0, c)")
    min_depth: float = setting(0.9, "lower end of the canonical depth range", lo=0.0, lo_open=True)
    max_depth: float = setting(1.1, "upper end of the canonical depth range", lo=0.0, lo_open=True)
    near: float = setting(0.1, "rasteriser near plane (clean convention)", lo=0.0, lo_open=True)
    far: float = setting(10.0, "rasteriser far plane and background depth", lo=0.0, lo_open=True)
    convention: Convention = setting(
        "clean", "clean: sample at pixel centres; nmr_compat: the release's sampling"
    )

    def validate(self) -> None:
        if self.min_depth >= self.max_depth:
            raise SettingError(
                "min_depth",
                f"{self.min_depth} must be < 'max_depth' ({self.max_depth})",
                related=("max_depth",),
            )
        if self.near >= self.far:
            raise SettingError(
                "near", f"{self.near} must be < 'far' ({self.far})", related=("far",)
            )
        if not math.isfinite(self.rot_center_depth):
            raise SettingError("rot_center_depth", f"must be finite, got {self.rot_center_depth}")


@dataclass
class Geometry:
    """Where a canonical surface lands in a view (`Renderer.view_geometry`).

    Attributes:
        depth: (B, H, W) depth of the warped canonical surface in the view, clamped to the
            renderer's depth range [min - m, max + m] with m = (max - min) / 2.
        mask: (B, H, W) bool, True where the surface covers the pixel (depth < max + m).
        grid: (B, H, W, 2) sampling grid into the canonical image (align_corners=True frame).
    """

    depth: torch.Tensor
    mask: torch.Tensor
    grid: torch.Tensor

    def rows(self, index: torch.Tensor) -> Geometry:
        """The geometry of the rows ``index`` (1-D int64)."""
        return Geometry(self.depth[index], self.mask[index], self.grid[index])


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


@dataclass
class Scene:
    """A rendered scene (`Renderer.render_scene`).

    Attributes:
        normal: (B, S, S, 3) canonical surface normals.
        shading: (B, 1, S, S) ambient + diffuse max(0, n . l).
        canon_image: (B, 3, S, S) albedo x shading, in the albedo's range (not clamped).
        recon: the canonical image seen from the view (`Reconstruction`); its ``image`` is in
            [-1, 1] when rendered with ``signed=True``.
    """

    normal: torch.Tensor
    shading: torch.Tensor
    canon_image: torch.Tensor
    recon: Reconstruction


class Renderer:
    """Perspective renderer of canonical depth maps seen from a 6-DoF view.

    Args:
        image_size: S (square images, S x S pixels).
        settings: camera, depth range and convention (`RendererSettings`; its defaults are the
            release's: fov 10, depth 0.9-1.1, near 0.1, far 10, clean sampling).
        **overrides: fields of `RendererSettings` to change, e.g. ``Renderer(32, fov_deg=20)``.
    """

    def __init__(
        self, image_size: int, settings: RendererSettings | None = None, **overrides
    ) -> None:
        settings = settings or RendererSettings()
        if overrides:
            settings = dataclasses.replace(settings, **overrides)
        self.settings = settings
        self.image_size = int(image_size)
        self.fov_deg = settings.fov_deg
        self.K = intrinsics(self.image_size, self.fov_deg)  # validates size and fov
        self.rot_center_depth = settings.rot_center_depth
        self.min_depth, self.max_depth = settings.min_depth, settings.max_depth
        self.near, self.far = settings.near, settings.far
        self.convention = settings.convention
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

    def view_geometry(self, canon_depth: torch.Tensor, view: torch.Tensor) -> Geometry:
        """Where the canonical surface lands in ``view``: warp the canonical mesh into the view,
        z-buffer it, clamp the depth, back-project every pixel and inverse-warp it to the
        canonical frame.

        Args:
            canon_depth: (B, S, S) canonical depth. view: (B, 6) view vectors.

        Returns:
            `Geometry` (depth, mask, grid).
        """
        raw = self.warp_canon_depth(canon_depth, view)
        depth = raw.clamp(self.depth_lo, self.depth_hi)
        mask = (raw < self.depth_hi).detach()
        return Geometry(depth, mask, self.inverse_warp_grid(depth, view))

    @staticmethod
    def sample(canon_image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        """``grid_sample`` the canonical image at a view's grid (bilinear, zero padding,
        align_corners=True): (B, C, S, S) -> (B, C, S, S), not masked."""
        return F.grid_sample(
            canon_image, grid, mode="bilinear", padding_mode="zeros", align_corners=True
        )

    def reconstruct(
        self,
        canon_depth: torch.Tensor,
        canon_image: torch.Tensor,
        view: torch.Tensor,
        max_pixels: int | None = None,
    ) -> Reconstruction:
        """Render the canonical image, lit and textured on the canonical depth, from ``view``.

        `view_geometry`, then `sample` the canonical image at its grid.

        Args:
            canon_depth: (B, S, S) canonical depth.
            canon_image: (B, C, S, S) canonical (shaded) image.
            view: (B, 6) view vectors.
            max_pixels: render at most this many pixels per call (sub-batches; cache-friendly
                on CPU). The result does not depend on it: every op is per item.

        Returns:
            `Reconstruction` (depth, image, mask, grid).
        """
        if canon_image.dim() != 4 or canon_image.shape[0] != canon_depth.shape[0]:
            raise ValueError(
                f"canonical image must be (B, C, S, S) with B = {canon_depth.shape[0]}, "
                f"got {tuple(canon_image.shape)}"
            )
        self._check_view(view, canon_depth.shape[0])
        step = canon_depth.shape[0]
        if max_pixels is not None:
            step = max(1, max_pixels // (self.image_size * self.image_size))
        parts = []
        for a in range(0, canon_depth.shape[0], step):
            geo = self.view_geometry(canon_depth[a : a + step], view[a : a + step])
            image = self.sample(canon_image[a : a + step], geo.grid)
            parts.append(Reconstruction(depth=geo.depth, image=image, mask=geo.mask, grid=geo.grid))
        if len(parts) == 1:
            return parts[0]
        return Reconstruction(
            *(
                torch.cat([getattr(r, f.name) for r in parts])
                for f in dataclasses.fields(Reconstruction)
            )
        )

    def render_scene(
        self,
        depth: torch.Tensor,
        albedo: torch.Tensor,
        ambient: torch.Tensor,
        diffuse: torch.Tensor,
        light_dir: torch.Tensor,
        view: torch.Tensor | None,
        *,
        normal: torch.Tensor | None = None,
        signed: bool = False,
        geometry: Geometry | None = None,
        reuse: torch.Tensor | None = None,
        max_pixels: int | None = None,
    ) -> Scene:
        """Render a scene: normals of the depth, Lambertian shading, albedo x shading, and that
        canonical image seen from the view.

        The one function that turns a scene into an image: the model's reconstruction, LOOCC's
        re-render, the synthetic data and the renderer demo all call it.

        Args:
            depth: (B, S, S) canonical depth.
            albedo: (B, 3, S, S) canonical albedo in [0, 1].
            ambient, diffuse: (B,) light intensities.
            light_dir: (B, 3) unit light directions (`light_direction` of (dx, dy)).
            view: (B, 6) view vectors (None when every row reuses ``geometry``).
            normal: (B, S, S, 3) normals of ``depth`` if already computed.
            signed: sample the canonical image in [-1, 1] (2 x image - 1, the model's space:
                uncovered and edge pixels blend towards mid-grey) instead of as is (towards 0).
            geometry: where this depth lands in a view already rendered (`view_geometry`, or a
                previous render's). Rows in ``reuse`` (all rows when ``reuse`` is None) are
                re-lit on it instead of rasterised again: a light-only change does not move the
                surface, so this *is* the re-render (same values, same gradients), at the cost
                of one ``grid_sample``.
            reuse: (B,) bool, the rows whose view is ``geometry``'s; the others use ``view``.
            max_pixels: see `reconstruct`.

        Returns:
            `Scene`.
        """
        if normal is None:
            normal = depth_to_normals(depth, self.intrinsics_like(depth))
        shading, _ = lambertian_shading(normal, ambient, diffuse, light_dir)
        canon_image = albedo * shading  # (B, 3, S, S)
        sampled = canon_image * 2 - 1 if signed else canon_image
        if geometry is None:
            if view is None:
                raise ValueError("render_scene needs a view, or a geometry to reuse")
            recon = self.reconstruct(depth, sampled, view, max_pixels)
        else:
            recon = self._relit(geometry, depth, sampled, view, reuse, max_pixels)
        return Scene(normal=normal, shading=shading, canon_image=canon_image, recon=recon)

    def _relit(
        self,
        geometry: Geometry,
        depth: torch.Tensor,
        sampled: torch.Tensor,
        view: torch.Tensor | None,
        reuse: torch.Tensor | None,
        max_pixels: int | None,
    ) -> Reconstruction:
        """`render_scene`'s reconstruction when some or all rows reuse ``geometry``."""
        n = depth.shape[0]
        keep = torch.ones(n, dtype=torch.bool) if reuse is None else reuse.cpu()
        if not bool(keep.all()) and view is None:
            raise ValueError("render_scene: rows outside `reuse` need a view")
        parts: list[tuple[torch.Tensor, Reconstruction]] = []
        reused = keep.nonzero().squeeze(1).to(depth.device)
        if reused.numel():
            geo = geometry if reused.numel() == n else geometry.rows(reused)
            rows = sampled if reused.numel() == n else sampled[reused]
            image = self.sample(rows, geo.grid)
            parts.append((reused, Reconstruction(geo.depth, image, geo.mask, geo.grid)))
        moved = (~keep).nonzero().squeeze(1).to(depth.device)
        if moved.numel():
            parts.append(
                (moved, self.reconstruct(depth[moved], sampled[moved], view[moved], max_pixels))
            )
        if len(parts) == 1 and parts[0][0].numel() == n:
            return parts[0][1]
        merged = []
        for f in dataclasses.fields(Reconstruction):
            first = getattr(parts[0][1], f.name)
            out = first.new_zeros((n, *first.shape[1:]))
            for rows, rec in parts:
                out = out.index_copy(0, rows, getattr(rec, f.name))
            merged.append(out)
        return Reconstruction(*merged)

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
