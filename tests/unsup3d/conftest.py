"""Fixed synthetic scenes rendered by the project's renderer (tiny, deterministic)."""

import math
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from unsup3d.renderer import Renderer, light_direction


@dataclass
class Scenes:
    images: torch.Tensor  # (B, 3, S, S) in [0, 1]
    depth: torch.Tensor  # (B, S, S) canonical, symmetric
    albedo: torch.Tensor  # (B, 3, S, S) in [0, 1], symmetric
    light: torch.Tensor  # (B, 4)
    view: torch.Tensor  # (B, 6)


def _symmetric_field(gen, batch, channels, size):
    coarse = torch.randn(batch, channels, 4, 4, generator=gen)
    coarse = (coarse + coarse.flip(-1)) / 2
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)


def make_scenes(batch: int, size: int, seed: int = 0) -> Scenes:
    """Smooth left-right symmetric depth/albedo, random light and view, rendered."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(v, v, indexing="ij")
    dome = 0.04 * (xx**2 + yy**2)  # farther at the sides: a rounded object
    depth = 1.0 + dome - 0.02 + 0.03 * torch.tanh(_symmetric_field(gen, batch, 1, size)[:, 0])
    albedo = torch.sigmoid(1.5 * _symmetric_field(gen, batch, 3, size)) * 0.8 + 0.1
    u = torch.rand(batch, 10, generator=gen)
    light = torch.stack(
        [0.3 + 0.3 * u[:, 0], 0.4 + 0.4 * u[:, 1], u[:, 2] - 0.5, u[:, 3] - 0.5], dim=1
    )
    rot = (u[:, 4:7] * 2 - 1) * math.radians(15)
    rot[:, 2] *= 0.3
    trans = torch.cat([(u[:, 7:9] * 2 - 1) * 0.04, torch.zeros(batch, 1)], dim=1)
    view = torch.cat([rot, trans], dim=1)
    direction = light_direction(light[:, 2:])
    rec = (
        Renderer(size)
        .render_scene(depth, albedo, light[:, 0], light[:, 1], direction, view, signed=True)
        .recon
    )
    image = ((rec.image * rec.mask[:, None] + 1) / 2).clamp(0, 1)
    return Scenes(image, depth, albedo, light, view)


@pytest.fixture
def scenes():
    return make_scenes
