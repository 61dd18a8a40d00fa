import math

import pytest
import torch
import torch.nn.functional as F


def smooth_depth(
    batch: int, size: int, amplitude: float = 0.08, seed: int = 0, dtype=torch.float32
):
    """Random smooth canonical depth maps in [1 - amplitude, 1 + amplitude]."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(batch, 1, 4, 4, generator=gen, dtype=torch.float64)
    fine = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[:, 0]
    return (1.0 + amplitude * torch.tanh(fine)).to(dtype)


def random_view(
    batch: int, seed: int = 0, max_deg: float = 20.0, max_t: float = 0.05, dtype=torch.float32
):
    gen = torch.Generator().manual_seed(seed)
    rot = (torch.rand(batch, 3, generator=gen, dtype=torch.float64) * 2 - 1) * math.radians(max_deg)
    trans = (torch.rand(batch, 3, generator=gen, dtype=torch.float64) * 2 - 1) * max_t
    return torch.cat([rot, trans], 1).to(dtype)


@pytest.fixture
def depth_maker():
    return smooth_depth


@pytest.fixture
def view_maker():
    return random_view
