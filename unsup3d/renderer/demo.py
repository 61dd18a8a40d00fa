"""Render a demo sheet with the renderer alone: depth, normals, relighting, novel views.

    python -m unsup3d.renderer.demo --output docs/renderer_demo.png

Rows: (1) canonical depth, normals, albedo, and the shaded canonical image under four light
directions; (2) reconstructions (``Renderer.reconstruct``: z-buffer + inverse warp +
``grid_sample``) under yaw -30..30 deg and pitch +-15 deg; (3) a per-vertex-colour mesh yaw
sweep (``Renderer.render_yaw``) from -60 to 60 deg.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from unsup3d import cli
from unsup3d.renderer import Renderer, light_direction
from unsup3d.utils import atomic_path

log = logging.getLogger(__name__)


def demo_scene(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A symmetric head-like canonical depth (1, S, S) in [0.9, 1.1] and albedo (1, 3, S, S)."""
    lin = torch.linspace(-1, 1, size, dtype=torch.float64)
    y, x = torch.meshgrid(lin, lin, indexing="ij")
    dome = (1 - (x / 0.75) ** 2 - (y / 0.95) ** 2).clamp(min=0).sqrt()
    nose = 0.35 * torch.exp(-((x / 0.09) ** 2) - ((y - 0.05) / 0.22) ** 2)
    sockets = -0.18 * (torch.exp(-(((x.abs() - 0.3) / 0.13) ** 2) - ((y + 0.2) / 0.09) ** 2))
    height = dome + nose * (dome > 0) + sockets * (dome > 0)
    depth = 1.1 - 0.2 * (height / height.max()).clamp(0, 1)
    skin = torch.tensor([0.85, 0.65, 0.5], dtype=torch.float64)[:, None, None]
    hair = torch.tensor([0.25, 0.15, 0.08], dtype=torch.float64)[:, None, None]
    lips = torch.tensor([0.75, 0.3, 0.3], dtype=torch.float64)[:, None, None]
    albedo = skin * torch.ones(3, size, size, dtype=torch.float64)
    albedo = torch.where((y < -0.55 + 0.15 * x.abs()) & (dome > 0), hair, albedo)
    mouth = ((x / 0.25) ** 2 + ((y - 0.5) / 0.06) ** 2) < 1
    albedo = torch.where(mouth, lips, albedo)
    eyes = (((x.abs() - 0.3) / 0.08) ** 2 + ((y + 0.2) / 0.05) ** 2) < 1
    albedo = torch.where(eyes, torch.full_like(albedo, 0.1), albedo)
    albedo = torch.where(dome > 0, albedo, torch.full_like(albedo, 0.6))
    return depth[None].float(), albedo[None].float()


def _tile(images: list[torch.Tensor]) -> np.ndarray:
    """Concatenate (3, H, W) images in [0, 1] horizontally with a 2-px gap -> uint8 (H, W', 3)."""
    gap = torch.ones(3, images[0].shape[1], 2)
    parts = []
    for im in images:
        parts += [im.clamp(0, 1), gap]
    return (torch.cat(parts[:-1], 2).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def render_sheet(size: int = 64) -> np.ndarray:
    """Render the demo sheet; returns an (H, W, 3) uint8 array."""
    renderer = Renderer(size)
    depth, albedo = demo_scene(size)
    ambient, diffuse = torch.tensor([0.3]), torch.tensor([0.8])
    lights = [(0.0, 0.0), (-1.0, 0.0), (1.0, 0.0), (0.0, -1.0)]

    def render(dxy: tuple[float, float], view: torch.Tensor):
        direction = light_direction(torch.tensor([dxy]))
        return renderer.render_scene(depth, albedo, ambient, diffuse, direction, view)

    front = torch.zeros(1, 6)
    lit = [render(dxy, front) for dxy in lights]
    normal = lit[0].normal  # (1, S, S, 3)
    row1 = [
        ((1.1 - depth) / 0.2).expand(3, -1, -1),  # near = bright
        (normal[0].permute(2, 0, 1) * torch.tensor([1.0, -1.0, -1.0])[:, None, None] + 1) / 2,
        albedo[0],
        *(scene.canon_image[0] for scene in lit),
    ]
    views = [(0, -30), (0, -15), (0, 15), (0, 30), (15, 0), (-15, 0), (10, 20)]
    row2 = []
    for pitch, yaw in views:
        view = torch.tensor([[math.radians(pitch), math.radians(yaw), 0, 0, 0, 0]])
        rec = render(lights[2], view).recon
        row2.append(torch.where(rec.mask[:, None], rec.image, torch.ones_like(rec.image))[0])
    sweep = renderer.render_yaw(depth, lit[0].canon_image, max_deg=60, num=7)[0]
    row3 = list(sweep.unbind(0))
    rows = [_tile(r) for r in (row1, row2, row3)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, 0)


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags(
        "output verbose",
        defaults={"output": Path("docs/renderer_demo.png")},
        helps={"output": "PNG to write (replaced if it exists: the sheet in docs/ is regenerated)"},
    )
    parser = cli.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, parents=[shared]
    )
    parser.add_argument(
        "--size", type=int, default=64, help="image size in pixels (good: 64 or 128)"
    )
    parser.add_argument(
        "--scale", type=int, default=2, help="nearest-neighbour upscaling of the sheet"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    output = cli.check_output_file(args.output, overwrite=True)
    sheet = render_sheet(args.size)
    image = Image.fromarray(sheet)
    if args.scale > 1:
        image = image.resize((image.width * args.scale, image.height * args.scale), Image.NEAREST)
    with atomic_path(output) as tmp:
        image.save(tmp, format="PNG")
    log.info("wrote %s (%dx%d)", output, image.width, image.height)
    return 0


if __name__ == "__main__":
    cli.run(main)
