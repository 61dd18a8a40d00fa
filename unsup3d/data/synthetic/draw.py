"""Drawing primitives of the canonical maps: coordinate grid, bumps, colours, the half canvas.

All shapes are drawn in normalised canonical coordinates X (column) and Y (row), both in [-1, 1]
with ``X = (2 c - (S - 1)) / (S - 1)`` (exactly antisymmetric, so mirrored pixels see mirrored
coordinates bit for bit); one unit is half the image width, i.e. about tan(5 deg) = 0.0875 camera
units at depth 1. Every helper broadcasts: X is (1, 1, S), Y is (1, S, 1), per-item scalars
(B, 1, 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import torch


@lru_cache(maxsize=16)
def grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised canonical coordinates X (1, 1, S) and Y (1, S, 1), exactly antisymmetric."""
    c = (2.0 * torch.arange(size, dtype=torch.float64) - (size - 1)) / (size - 1)
    c = c.float()
    return c.view(1, 1, size), c.view(1, size, 1)


def bump(t: torch.Tensor) -> torch.Tensor:
    """Compact C2 bump (1 - t^2)^3 on |t| < 1, 0 outside; even in t (bit-exact)."""
    w = (1.0 - t * t).clamp(min=0.0)
    return w * w * w


def smoothstep(e0: Any, e1: Any, x: torch.Tensor) -> torch.Tensor:
    t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def col(v: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, 1)."""
    return v.reshape(-1, 1, 1)


def rgb(v: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """A colour (3,) or a batch of colours (B, 3) -> broadcastable (B|1, 3, 1, 1)."""
    t = torch.as_tensor(v, dtype=torch.float32)
    return t.reshape(-1, 3, 1, 1)


class Window:
    """A rectangle of the half canvas (rows r0:r1, columns c0:c1) with its coordinates."""

    def __init__(self, canvas: Canvas, r0: int, r1: int, c0: int, c1: int) -> None:
        self.rows, self.cols = slice(r0, r1), slice(c0, c1)
        self.empty = r1 <= r0 or c1 <= c0
        self.X = canvas.X[..., c0:c1]  # (1, 1, w), all <= 0
        self.AX = -self.X
        self.Y = canvas.Y[:, r0:r1]  # (1, h, 1)

    def row(self, t: torch.Tensor) -> torch.Tensor:
        """Slice a per-row tensor (B, S, 1) to the window's rows."""
        return t[:, self.rows]

    def crop(self, t: torch.Tensor) -> torch.Tensor:
        """Slice a half-canvas tensor (B, S, half) to the window."""
        return t[:, self.rows, self.cols]


def _lo(v: torch.Tensor | float) -> float:
    return float(v.min()) if isinstance(v, torch.Tensor) else float(v)


def _hi(v: torch.Tensor | float) -> float:
    return float(v.max()) if isinstance(v, torch.Tensor) else float(v)


class Canvas:
    """The left half (X <= 0) of the canonical maps, painted region by region in windows.

    Only the left ``half = ceil(S / 2)`` columns are computed, then mirrored: the canonical depth,
    the symmetric albedo and the part labels are symmetric by construction (and cost half).
    A region is a field f (normalised units, > 0 inside, roughly a signed distance): the albedo
    is blended with alpha = clamp(f / pixel + 1/2, 0, 1) and the label written where f > 0, so a
    pixel's label is the region covering more than half of it and masks align with the image.
    Each paint happens in a window that contains its support (f > -pixel / 2) for every item of
    the batch, so windowing changes nothing but the cost. The weight left on the background is
    tracked, so an asymmetric background texture can be added after mirroring, exactly.
    """

    MARGIN = 2  # pixels around every window
    full_windows = False  # tests set True: every window is the whole canvas (same result)

    def __init__(self, batch: int, size: int, background: torch.Tensor) -> None:
        self.size, self.half = size, (size + 1) // 2
        X, Y = grid(size)
        self.X, self.Y = X[..., : self.half], Y
        self.pixel = 2.0 / (size - 1)
        self.inv_pixel = 1.0 / self.pixel
        shape = (batch, size, self.half)
        self.offset = torch.zeros(shape)  # depth offsets of the features
        self.albedo = background[:, :, None, None].expand(batch, 3, size, self.half).clone()
        self.bg_weight = torch.ones(shape)
        self.parts = torch.zeros(shape, dtype=torch.int64)
        self.full = Window(self, 0, size, 0, self.half)

    def window(self, y0, y1, ax0, ax1) -> Window:
        """The window holding rows Y in [y0, y1] and |X| in [ax0, ax1] for the whole batch."""
        if self.full_windows:
            return self.full
        s, m = self.size, self.MARGIN
        r0 = math.floor((_lo(y0) + 1) * (s - 1) / 2) - m
        r1 = math.ceil((_hi(y1) + 1) * (s - 1) / 2) + m + 1
        c0 = math.floor((1 - _hi(ax1)) * (s - 1) / 2) - m
        c1 = math.ceil((1 - max(_lo(ax0), 0.0)) * (s - 1) / 2) + m + 1
        return Window(self, max(r0, 0), min(r1, s), max(c0, 0), min(c1, self.half))

    def add_depth(self, win: Window, value: torch.Tensor) -> None:
        if not win.empty:
            view = self.offset[:, win.rows, win.cols]
            view += value

    def paint(
        self,
        win: Window,
        f: torch.Tensor,
        colour: torch.Tensor | None,
        label: torch.Tensor | int | None = None,
        opacity: torch.Tensor | float = 1.0,
    ) -> None:
        """Blend ``colour`` (B|1, 3, 1|h, 1|w) with alpha(f) * opacity and write ``label``."""
        if win.empty:
            return
        if colour is not None:
            w = (f * self.inv_pixel + 0.5).clamp(0.0, 1.0) * opacity  # (B, h, w)
            alb = self.albedo[:, :, win.rows, win.cols]
            alb += w[:, None] * (colour - alb)
            bgw = self.bg_weight[:, win.rows, win.cols]
            bgw *= 1.0 - w
        if label is not None:
            view = self.parts[:, win.rows, win.cols]
            view.copy_(torch.where(f > 0, torch.as_tensor(label), view))

    def mirror(self, t: torch.Tensor) -> torch.Tensor:
        """(..., half) -> (..., S): the right half is the left one flipped."""
        return torch.cat([t, t[..., : self.size - self.half].flip(-1)], dim=-1)

    def mirror_parts(self, swap: torch.Tensor) -> torch.Tensor:
        """Part labels (B, S, S): the right half is the flipped left half with ``swap`` applied
        (a lookup table exchanging left and right part ids)."""
        right = swap[self.parts[..., : self.size - self.half].flip(-1)]
        return torch.cat([self.parts, right], dim=-1)


def tinted_grey(u: torch.Tensor, grey: tuple[float, float], tint: float) -> torch.Tensor:
    """(B, 3) colours from (B, 3) uniforms: a grey in ``grey[0] + grey[1] * [0, 1)``, its red and
    green moved by up to ``tint / 2`` and its blue by minus their sum (backgrounds)."""
    level = grey[0] + grey[1] * u[:, :1]
    shift = tint * (u[:, 1:3] - 0.5)
    return torch.cat(
        [level + shift[:, :1], level + shift[:, 1:], level - shift.sum(1, keepdim=True)], 1
    )


def lerp_palette(palette: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear colour ramp: palette (P, 3), t (B,) in [0, 1] -> (B, 3)."""
    pos = t.clamp(0.0, 1.0) * (palette.shape[0] - 1)
    lo = pos.floor().long().clamp(max=palette.shape[0] - 2)
    frac = (pos - lo)[:, None]
    return palette[lo] * (1 - frac) + palette[lo + 1] * frac
