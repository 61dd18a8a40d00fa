"""Pure-PyTorch differentiable renderer (conventions: ``unsup3d/renderer/README.md``)."""

from unsup3d.renderer.camera import (
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
from unsup3d.renderer.mesh import grid_faces
from unsup3d.renderer.rasterize import Fragments, rasterize, rasterize_depth
from unsup3d.renderer.render import (
    CONVENTIONS,
    Geometry,
    Reconstruction,
    Renderer,
    RendererSettings,
    Scene,
)
from unsup3d.renderer.shading import depth_to_normals, lambertian_shading, light_direction

__all__ = [
    "CONVENTIONS",
    "Fragments",
    "Geometry",
    "Reconstruction",
    "Renderer",
    "RendererSettings",
    "Scene",
    "depth_to_normals",
    "depth_to_planes",
    "depth_to_points",
    "euler_to_rotation",
    "grid_faces",
    "intrinsics",
    "lambertian_shading",
    "light_direction",
    "pixels_to_grid",
    "project_planes",
    "project_points",
    "rasterize",
    "rasterize_depth",
    "split_view",
    "transform_planes",
    "unwarp_points",
    "warp_points",
]
