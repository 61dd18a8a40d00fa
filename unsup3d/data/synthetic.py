"""Built-in synthetic data with ground-truth physics: faces and cars (``docs/synthetic.md``).

Every image is a pure function of (dataset seed, split, index). Scene parameters come from a
counter-based hash (SplitMix64 in NumPy ``uint64``, which wraps by definition), never from a global
RNG, so any subset is reproducible lazily, in any order, batched or one at a time, in any process.
The scene is then built and rendered as the inverse renderer assumes (reference_behaviour.md §3):

    canonical depth (B, S, S) in [0.9, 1.1], left-right symmetric
    canonical albedo (B, 3, S, S) in [0, 1], symmetric before the asymmetric nuisances
    shading = ambient + diffuse * max(0, n . l), l = normalise(dx, dy, 1)
    canonical image = albedo * shading
    image = Renderer.reconstruct(depth, canonical image, view), background where uncovered

All shapes are drawn in normalised canonical coordinates X (column) and Y (row), both in [-1, 1]
with ``X = (2 c - (S - 1)) / (S - 1)`` (exactly antisymmetric, so mirrored pixels see mirrored
coordinates bit for bit); one unit is half the image width, i.e. about tan(5 deg) = 0.0875 camera
units at depth 1. Depth offsets are in camera units.

Public API: `synthetic_faces`, `synthetic_cars`, `build_synthetic`, `SyntheticDataset` (items,
``generate_batch``, ``sample_params`` + ``render`` for controlled edits), `SceneParams`.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from unsup3d.data.celebamask import CLASSES as CELEBAMASK_CLASS_NAMES
from unsup3d.errors import UserError
from unsup3d.renderer import (
    Renderer,
    light_direction,
)

DATASET_NAMES = ("synthetic_faces", "synthetic_cars")
SPLITS = ("train", "val", "test", "ood", "ood_light", "ood_view", "tracks")
# The keys of an item (``track_id`` too in the ``tracks`` split); see `SyntheticDataset`.
ITEM_KEYS = (
    "image",
    "labels",
    "image_id",
    "mask",
    "factors",
    "depth",
    "albedo",
    "light",
    "view",
    "view_depth",
)
# Identities (faces) / car instances come from three disjoint pools; the held-out splits reuse
# the test pool, so nothing outside train is ever seen in training.
_POOL = {
    "train": "train",
    "val": "val",
    "test": "test",
    "ood": "test",
    "ood_light": "test",
    "ood_view": "test",
    "tracks": "test",
}
# Identity labels are offset per pool so labels from different pools never collide.
POOL_OFFSET = {"train": 0, "val": 1_000_000, "test": 2_000_000}
DEFAULT_NUM_IMAGES = {
    "train": 20_000,
    "val": 1_000,
    "test": 1_000,
    "ood": 1_000,
    "ood_light": 1_000,
    "ood_view": 1_000,
    "tracks": 1_000,
}

# Depths (camera units) of the canonical scene: the background plane (wall / road) and the rim
# of the head, which sits just behind the rotation centre (depth 1), like a head turning about
# its neck: the face is in front of the centre, the silhouette behind it.
Z_BACKGROUND = 1.06
Z_RIM = 1.025
MIN_DEPTH, MAX_DEPTH = 0.9, 1.1

# ----------------------------------------------------------------------------------------------
# Counter-based random numbers


def _stream_key(*parts: object) -> np.uint64:
    """A 64-bit key naming one random stream, stable across processes and machines."""
    text = "/".join(str(p) for p in parts).encode("utf-8")
    return np.uint64(int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little"))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (modular arithmetic, wraps by definition)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniforms(key: np.uint64, index: Sequence[int] | np.ndarray, num: int) -> torch.Tensor:
    """Uniform numbers in [0, 1) for a batch of counters of one stream.

    Args:
        key: the stream (`_stream_key`).
        index: (B,) non-negative counters (image or identity indices).
        num: numbers per counter.

    Returns:
        (B, num) float32; entry (i, k) depends only on (key, index[i], k), and is a multiple of
        2^-24, so it is exact in float32.
    """
    idx = np.asarray(index, dtype=np.int64)
    if idx.ndim != 1 or (idx.size and idx.min() < 0):
        raise ValueError(f"index must be a 1-D array of non-negative ints, got {idx!r}")
    base = _splitmix64(np.asarray([key], dtype=np.uint64) ^ _splitmix64(idx.astype(np.uint64)))
    slots = _splitmix64(np.arange(num, dtype=np.uint64) + np.uint64(0x632BE59BD9B4E019))
    bits = _splitmix64(base[:, None] ^ slots[None, :])  # (B, num)
    return torch.from_numpy(((bits >> np.uint64(40)).astype(np.float32)) * np.float32(2.0**-24))


class _Draws:
    """Hands out consecutive columns of a (B, N) block of uniforms: ``take(k)`` -> (B, k)."""

    def __init__(self, u: torch.Tensor) -> None:
        self.u, self.pos = u, 0

    def take(self, k: int = 1) -> torch.Tensor:
        if self.pos + k > self.u.shape[1]:
            raise RuntimeError("random stream exhausted; raise its slot count")
        out = self.u[:, self.pos : self.pos + k]
        self.pos += k
        return out

    def one(self) -> torch.Tensor:
        return self.take(1)[:, 0]

    def uniform(self, lo: float, hi: float, k: int | None = None) -> torch.Tensor:
        u = self.one() if k is None else self.take(k)
        return lo + (hi - lo) * u

    def signed(self, k: int) -> torch.Tensor:
        return 2.0 * self.take(k) - 1.0


# ----------------------------------------------------------------------------------------------
# Parameter ranges


@dataclass(frozen=True)
class Ranges:
    """Sampling ranges of the per-image light and view (angles in degrees, rest in camera units).

    Training-distribution splits (train, val, test, tracks) draw each value uniformly in its
    range. ``ood_light`` draws the light direction at an angle of ``ood_light_deg`` from the
    optical axis (every such direction has max(|dx|, |dy|) > ``light_dxy``, i.e. outside the
    training square); ``ood_view`` draws a yaw of magnitude in ``ood_yaw_deg`` (random sign);
    ``ood`` does both. Everything else stays in the training ranges.
    """

    ambient: tuple[float, float] = (0.15, 0.35)
    diffuse: tuple[float, float] = (0.5, 0.75)
    light_dxy: float = 0.75  # dx, dy uniform in [-0.75, 0.75] (up to 37 deg per axis)
    pitch_deg: float = 10.0  # rx
    yaw_deg: float = 25.0  # ry
    roll_deg: float = 6.0  # rz
    translation: float = 0.005  # tx, ty (about 1.8 px at 64 px); tz = 0
    ood_light_deg: tuple[float, float] = (50.0, 65.0)
    ood_yaw_deg: tuple[float, float] = (32.0, 45.0)
    track_light_jitter: float = 0.08  # per-frame change of dx, dy around the track's light
    track_view_jitter_deg: float = 3.0  # per-frame change of the angles around the track's view


RANGES = Ranges()


def _sample_light(d: _Draws, ood: bool, r: Ranges) -> torch.Tensor:
    """(B, 4) (ambient, diffuse, dx, dy); always consumes 5 slots."""
    amb = d.uniform(*r.ambient)
    dif = d.uniform(*r.diffuse)
    a, b, c = d.one(), d.one(), d.one()
    if ood:
        theta = torch.deg2rad(r.ood_light_deg[0] + (r.ood_light_deg[1] - r.ood_light_deg[0]) * a)
        phi = 2 * math.pi * b
        radius = torch.tan(theta)
        dx, dy = radius * torch.cos(phi), radius * torch.sin(phi)
    else:
        dx, dy = r.light_dxy * (2 * a - 1), r.light_dxy * (2 * b - 1)
    del c  # reserved slot, keeps later draws stable if the light model grows
    return torch.stack([amb, dif, dx, dy], dim=1)


def _sample_view(d: _Draws, ood: bool, r: Ranges) -> torch.Tensor:
    """(B, 6) (rx, ry, rz radians, tx, ty, tz = 0); always consumes 6 slots."""
    rx = r.pitch_deg * (2 * d.one() - 1)
    u_yaw, u_sign = d.one(), d.one()
    if ood:
        mag = r.ood_yaw_deg[0] + (r.ood_yaw_deg[1] - r.ood_yaw_deg[0]) * u_yaw
        ry = torch.where(u_sign < 0.5, -mag, mag)
    else:
        ry = r.yaw_deg * (2 * u_yaw - 1)
    rz = r.roll_deg * (2 * d.one() - 1)
    tx, ty = (r.translation * (2 * d.take(2) - 1)).unbind(1)
    angles = torch.deg2rad(torch.stack([rx, ry, rz], dim=1))
    return torch.cat([angles, torch.stack([tx, ty, torch.zeros_like(tx)], dim=1)], dim=1)


# ----------------------------------------------------------------------------------------------
# Scene parameters


@dataclass
class SceneParams:
    """A batch of scene parameters; every field's first dimension is the batch B.

    Attributes:
        identity: (B,) int64 identity label (faces) or car-instance label, pool-offset.
        category: (B,) int64 emotion class (faces, `EMOTIONS`) or car class (`CAR_CLASSES`).
        shape: (B, Ks) float32 identity shape code (names: the model's ``shape_names``).
        albedo: (B, Ka) float32 identity albedo code.
        expression: (B, Ke) float32 per-image expression (faces; cars have Ke = 0).
        light: (B, 4) (ambient, diffuse, dx, dy).
        view: (B, 6) (rx, ry, rz radians, tx, ty, tz camera units).
        nuisance: (B, Kn) background colour and texture, albedo-noise tile and shift (not factors).
        track: (B,) int64 track id (``tracks`` split), -1 elsewhere.
    """

    identity: torch.Tensor
    category: torch.Tensor
    shape: torch.Tensor
    albedo: torch.Tensor
    expression: torch.Tensor
    light: torch.Tensor
    view: torch.Tensor
    nuisance: torch.Tensor
    track: torch.Tensor

    def __len__(self) -> int:
        return int(self.identity.shape[0])

    def select(self, idx: torch.Tensor | slice | Sequence[int]) -> SceneParams:
        """The sub-batch ``idx`` (a slice, index list or bool mask)."""
        return SceneParams(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def clone(self) -> SceneParams:
        return SceneParams(**{f.name: getattr(self, f.name).clone() for f in fields(self)})


# Nuisance layout: background colour (3), background texture (3 x 4 x 4 low-resolution grid),
# albedo-noise tile, row shift, column shift.
_TEX = 4
_NUISANCE_SIZE = 3 + 3 * _TEX * _TEX + 3
_NOISE_TILES = 16


# ----------------------------------------------------------------------------------------------
# Field helpers (all broadcast: X is (1, 1, S), Y is (1, S, 1), per-item scalars (B, 1, 1))


@lru_cache(maxsize=16)
def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised canonical coordinates X (1, 1, S) and Y (1, S, 1), exactly antisymmetric."""
    c = (2.0 * torch.arange(size, dtype=torch.float64) - (size - 1)) / (size - 1)
    c = c.float()
    return c.view(1, 1, size), c.view(1, size, 1)


def _bump(t: torch.Tensor) -> torch.Tensor:
    """Compact C2 bump (1 - t^2)^3 on |t| < 1, 0 outside; even in t (bit-exact)."""
    w = (1.0 - t * t).clamp(min=0.0)
    return w * w * w


def _smoothstep(e0: Any, e1: Any, x: torch.Tensor) -> torch.Tensor:
    t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _col(v: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, 1)."""
    return v.reshape(-1, 1, 1)


def _rgb(v: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """A colour (3,) or a batch of colours (B, 3) -> broadcastable (B|1, 3, 1, 1)."""
    t = torch.as_tensor(v, dtype=torch.float32)
    return t.reshape(-1, 3, 1, 1)


class _Window:
    """A rectangle of the half canvas (rows r0:r1, columns c0:c1) with its coordinates."""

    def __init__(self, canvas: _Canvas, r0: int, r1: int, c0: int, c1: int) -> None:
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


class _Canvas:
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
        X, Y = _grid(size)
        self.X, self.Y = X[..., : self.half], Y
        self.pixel = 2.0 / (size - 1)
        self.inv_pixel = 1.0 / self.pixel
        shape = (batch, size, self.half)
        self.offset = torch.zeros(shape)  # depth offsets of the features
        self.albedo = background[:, :, None, None].expand(batch, 3, size, self.half).clone()
        self.bg_weight = torch.ones(shape)
        self.parts = torch.zeros(shape, dtype=torch.int64)
        self.full = _Window(self, 0, size, 0, self.half)

    def window(self, y0, y1, ax0, ax1) -> _Window:
        """The window holding rows Y in [y0, y1] and |X| in [ax0, ax1] for the whole batch."""
        if self.full_windows:
            return self.full
        s, m = self.size, self.MARGIN
        r0 = math.floor((_lo(y0) + 1) * (s - 1) / 2) - m
        r1 = math.ceil((_hi(y1) + 1) * (s - 1) / 2) + m + 1
        c0 = math.floor((1 - _hi(ax1)) * (s - 1) / 2) - m
        c1 = math.ceil((1 - max(_lo(ax0), 0.0)) * (s - 1) / 2) + m + 1
        return _Window(self, max(r0, 0), min(r1, s), max(c0, 0), min(c1, self.half))

    def add_depth(self, win: _Window, value: torch.Tensor) -> None:
        if not win.empty:
            view = self.offset[:, win.rows, win.cols]
            view += value

    def paint(
        self,
        win: _Window,
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


def _lerp_palette(palette: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear colour ramp: palette (P, 3), t (B,) in [0, 1] -> (B, 3)."""
    pos = t.clamp(0.0, 1.0) * (palette.shape[0] - 1)
    lo = pos.floor().long().clamp(max=palette.shape[0] - 2)
    frac = (pos - lo)[:, None]
    return palette[lo] * (1 - frac) + palette[lo + 1] * frac


# ----------------------------------------------------------------------------------------------
# Faces

EMOTIONS = ("neutral", "happy", "surprised", "sad", "angry")
# Per-emotion uniform ranges of (mouth_open, smile, brow_raise, brow_tilt): mouth_open in [0, 1]
# (jaw gap), smile in [-1, 1] (mouth corners down/up, cheeks raised), brow_raise in [-1, 1]
# (brows down/up), brow_tilt in [-1, 1] (inner ends down = angry, up = sad).
_EMOTION_RANGES = torch.tensor(
    [
        [[0.0, 0.12], [-0.15, 0.15], [-0.15, 0.15], [-0.15, 0.15]],  # neutral
        [[0.0, 0.55], [0.55, 1.0], [-0.1, 0.3], [-0.2, 0.2]],  # happy
        [[0.6, 1.0], [-0.15, 0.1], [0.6, 1.0], [-0.1, 0.3]],  # surprised
        [[0.0, 0.15], [-1.0, -0.55], [-0.1, 0.3], [0.55, 1.0]],  # sad
        [[0.0, 0.2], [-0.5, -0.15], [-1.0, -0.55], [-1.0, -0.55]],  # angry
    ]
)

# Expression amplitudes, in units of the head's half-height b: the jaw gap at mouth_open = 1,
# the lip-corner lift at smile = 1, the brow lift at brow_raise = 1 and the inner-brow lift at
# brow_tilt = 1.
MOUTH_GAP = 0.13
SMILE_CURVE = 0.07
BROW_RAISE = 0.08
BROW_TILT = 0.07

# CelebAMask-HQ's 19-class ids (0 = background); the synthetic faces use 13 of them. "l_" is
# the image-left part in the canonical frame (smaller column), "r_" the image-right one.
CELEBAMASK_CLASSES = CELEBAMASK_CLASS_NAMES  # one list, owned by the CelebAMask-HQ loader
_F = {name: i for i, name in enumerate(CELEBAMASK_CLASSES)}

_SKIN_PALETTE = torch.tensor(
    [
        [0.97, 0.86, 0.79],
        [0.90, 0.72, 0.60],
        [0.76, 0.55, 0.41],
        [0.55, 0.37, 0.26],
        [0.36, 0.24, 0.17],
    ]
)
_HAIR_PALETTE = torch.tensor(
    [
        [0.05, 0.045, 0.045],
        [0.20, 0.13, 0.08],
        [0.42, 0.27, 0.15],
        [0.66, 0.50, 0.30],
        [0.90, 0.78, 0.50],
    ]
)
_FRAME_PALETTE = torch.tensor([[0.04, 0.04, 0.05], [0.30, 0.16, 0.08], [0.55, 0.55, 0.60]])
# Left <-> right part ids, applied to the mirrored half.
_FACE_SWAP = torch.arange(len(CELEBAMASK_CLASSES))
for _l, _r in (("l_eye", "r_eye"), ("l_brow", "r_brow"), ("l_ear", "r_ear")):
    _FACE_SWAP[_F[_l]], _FACE_SWAP[_F[_r]] = _F[_r], _F[_l]
_IRIS_PALETTE = torch.tensor(
    [[0.22, 0.45, 0.75], [0.30, 0.52, 0.32], [0.40, 0.24, 0.10], [0.12, 0.07, 0.04]]
)


class FaceModel:
    """Procedural faces: a head dome with symmetric bumps and dents, painted parts, expressions.

    Identity = shape code (14 values in [-1, 1]) + albedo code (14 values: 12 in [-1, 1], beard
    and eyeglasses in {0, 1}); per image: emotion class, expression (4), light (4), view (6).
    The mapping from each code to the geometry or colours is in `canonical`.
    """

    name = "synthetic_faces"
    short = "faces"
    category_label = "emotion"
    category_names = EMOTIONS
    part_names = CELEBAMASK_CLASSES
    shape_names = (
        "head_width",
        "head_height",
        "jaw_width",
        "chin",
        "cheekbone_height",
        "cheekbone_prominence",
        "brow_ridge",
        "eye_socket_depth",
        "nose_length",
        "nose_width",
        "nose_protrusion",
        "lip_thickness",
        "eye_spacing",
        "face_depth",
    )
    albedo_names = (
        "skin_tone",
        "skin_redness",
        "lip_colour",
        "brow_darkness",
        "brow_thickness",
        "iris_colour",
        "hair_lightness",
        "hair_warmth",
        "hairline_height",
        "hairline_curve",
        "hair_length",
        "glasses_colour",
        "beard",
        "eyeglasses",
    )
    expression_names = ("mouth_open", "smile", "brow_raise", "brow_tilt")
    # (name, physical group, rule): geometry-driven first, then albedo-driven.
    attribute_rules = (
        ("Mouth_Slightly_Open", "geometry", "expression mouth_open > 0.3"),
        ("Smiling", "geometry", "expression smile > 0.4"),
        ("High_Cheekbones", "geometry", "shape cheekbone_prominence > 0.2"),
        ("Big_Nose", "geometry", "shape nose_width + nose_protrusion > 0.5"),
        ("Narrow_Face", "geometry", "shape head_width < -0.3"),
        ("Black_Hair", "albedo", "albedo hair_lightness < -0.5"),
        ("Blond_Hair", "albedo", "albedo hair_lightness > 0.5"),
        ("Pale_Skin", "albedo", "albedo skin_tone < -0.6"),
        ("Bushy_Eyebrows", "albedo", "albedo brow_thickness > 0.4"),
        ("Beard", "albedo", "albedo beard == 1"),
        ("Eyeglasses", "albedo", "albedo eyeglasses == 1"),
    )
    attribute_names = tuple(r[0] for r in attribute_rules)
    identity_slots = 32
    image_slots = 80

    # --- sampling

    def sample_identity(self, d: _Draws, local: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Shape (B, 14), albedo (B, 14) and category placeholder from an identity stream."""
        shape = d.signed(len(self.shape_names))
        cont = d.signed(len(self.albedo_names) - 2)
        beard = (d.one() < 0.25).float()
        glasses = (d.one() < 0.25).float()
        albedo = torch.cat([cont, beard[:, None], glasses[:, None]], dim=1)
        return shape, albedo, torch.zeros_like(local)

    def sample_expression(self, d: _Draws, identity_category: torch.Tensor):
        """Emotion (B,) and expression (B, 4) from an image stream (8 slots)."""
        emotion = (d.one() * len(EMOTIONS)).long().clamp(max=len(EMOTIONS) - 1)
        u = d.take(4)
        rng = _EMOTION_RANGES[emotion]  # (B, 4, 2)
        expr = rng[..., 0] + (rng[..., 1] - rng[..., 0]) * u
        d.take(3)  # reserved
        return emotion, expr

    def attributes(self, p: SceneParams) -> torch.Tensor:
        """(B, 11) int64 0/1 attributes, in `attribute_names` order (rules: `attribute_rules`)."""
        s = dict(zip(self.shape_names, p.shape.unbind(1)))
        a = dict(zip(self.albedo_names, p.albedo.unbind(1)))
        e = dict(zip(self.expression_names, p.expression.unbind(1)))
        cols = [
            e["mouth_open"] > 0.3,
            e["smile"] > 0.4,
            s["cheekbone_prominence"] > 0.2,
            s["nose_width"] + s["nose_protrusion"] > 0.5,
            s["head_width"] < -0.3,
            a["hair_lightness"] < -0.5,
            a["hair_lightness"] > 0.5,
            a["skin_tone"] < -0.6,
            a["brow_thickness"] > 0.4,
            a["beard"] > 0.5,
            a["eyeglasses"] > 0.5,
        ]
        return torch.stack(cols, dim=1).long()

    # --- geometry and albedo

    def canonical(
        self, p: SceneParams, size: int, background: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Canonical maps of a batch of faces, left-right symmetric.

        Args:
            p: scene parameters (shape, albedo and expression are used).
            size: S.
            background: (B, 3) background (wall) colour.

        Returns:
            depth (B, S, S), albedo (B, 3, S, S) with the background colour, the weight left on
            the background (B, S, S) (where a background texture shows through), part labels
            (B, S, S) int64 (`CELEBAMASK_CLASSES`).
        """
        B = len(p)
        cv = _Canvas(B, size, background)
        full = cv.full
        X, Y, AX = full.X, full.Y, full.AX
        s = {k: _col(v) for k, v in zip(self.shape_names, p.shape.unbind(1))}
        c = {k: _col(v) for k, v in zip(self.albedo_names, p.albedo.unbind(1))}
        e = {k: _col(v) for k, v in zip(self.expression_names, p.expression.unbind(1))}
        smile_up = e["smile"].clamp(min=0)
        raise_up = e["brow_raise"].clamp(min=0)

        # Head: an egg-shaped dome (narrowing towards the jaw) receding into the wall.
        a = 0.60 + 0.06 * s["head_width"]  # half-width
        b = 0.80 + 0.05 * s["head_height"]  # half-height
        yc = -0.12
        jaw = 0.24 - 0.10 * s["jaw_width"]
        yr = (Y - yc) / b  # (B, S, 1)
        sj = yr.clamp(0.0, 1.0)
        aw = a * (1.0 - jaw * sj * sj)  # (B, S, 1) half-width per row
        xr = X / aw
        q = xr * xr + yr * yr  # (B, S, half)
        r = q.sqrt()
        step = Z_BACKGROUND - Z_RIM
        relief = 0.065 + 0.010 * s["face_depth"]
        prof_head = (
            step * (1.0 - _smoothstep(1.0, 1.12, r)) + relief * (1.0 - q).clamp(min=0).sqrt()
        )
        # Neck: a vertical cylinder below the head (separable).
        nw = 0.36 * a
        xn = AX / nw  # (B, 1, half)
        neck_x = (
            step * (1.0 - _smoothstep(1.0, 1.12, xn)) + 0.022 * (1.0 - xn * xn).clamp(min=0).sqrt()
        )
        neck_y = _smoothstep(yc + 0.45 * b, yc + 0.62 * b, Y)
        prof_neck = neck_x * neck_y
        neck_front = prof_neck > prof_head
        prof = torch.maximum(prof_head, prof_neck)
        # Ears: flat ovals sticking out of the head's sides, a little behind its rim.
        y_ear = yc + 0.12 * b
        x_ear, we, he = 0.97 * a + 0.03, torch.full_like(a, 0.065), 0.15 * b
        w_ear = cv.window(
            y_ear - 1.25 * he, y_ear + 1.25 * he, x_ear - 1.25 * we, x_ear + 1.25 * we
        )
        q_ear = ((w_ear.AX - x_ear) / we) ** 2 + ((w_ear.Y - y_ear) / he) ** 2
        r_ear = q_ear.sqrt()
        prof_ear = (step - 0.006) * (1.0 - _smoothstep(1.0, 1.25, r_ear))
        prof_ear = prof_ear + 0.006 * (1.0 - q_ear).clamp(min=0).sqrt()
        view = w_ear.crop(prof)
        view.copy_(torch.maximum(view, prof_ear))

        # Facial features: compact bumps (positive = farther from the camera).
        ye = yc + 0.02 * b  # eye line
        xe = (0.37 + 0.04 * s["eye_spacing"]) * a
        sock = 0.011 + 0.004 * s["eye_socket_depth"]
        w = cv.window(ye - 0.13 * b, ye + 0.13 * b, xe - 0.21 * a, xe + 0.21 * a)
        eye_y, eye_x = (w.Y - ye), (w.AX - xe)
        bump = sock * (_bump(eye_x / (0.21 * a)) * _bump(eye_y / (0.13 * b)))
        bump = bump - 0.45 * sock * (_bump(eye_x / (0.12 * a)) * _bump(eye_y / (0.075 * b)))
        cv.add_depth(w, bump)
        yb = ye - 0.16 * b
        brow_amp = 0.006 + 0.003 * s["brow_ridge"]
        w = cv.window(yb - 0.09 * b, yb + 0.09 * b, 0.0, xe + 0.22 * a)
        cv.add_depth(
            w, -brow_amp * (_bump(w.AX / (xe + 0.22 * a)) * _bump((w.Y - yb) / (0.09 * b)))
        )
        # Nose: a ridge rising to the tip, a rounded tip (its width) and two alae.
        y_top = ye - 0.06 * b
        y_n = ye + (0.33 + 0.05 * s["nose_length"]) * b
        nwr = (0.085 + 0.02 * s["nose_width"]) * a
        npro = 0.020 + 0.007 * s["nose_protrusion"]
        w_nose = cv.window(y_top, y_n + 0.1 * b, 0.0, 2.25 * nwr)
        wy, wax = w_nose.Y, w_nose.AX
        ramp = ((wy - y_top) / (y_n - y_top)).clamp(0.0, 1.0).pow(1.6)
        ny = torch.where(wy <= y_n, ramp, _bump((wy - y_n) / (0.07 * b)))
        nose = _bump(wax / nwr) * ny
        nose = nose + 0.35 * _bump(wax / (1.7 * nwr)) * _bump((wy - y_n + 0.015 * b) / (0.085 * b))
        alae = _bump((wax - 1.45 * nwr) / (0.8 * nwr)) * _bump((wy - y_n - 0.005 * b) / (0.06 * b))
        nose = nose + 0.22 * alae
        cv.add_depth(w_nose, -npro * nose)
        # Cheekbones (raised and fuller when smiling).
        ych = ye + (0.25 + 0.07 * s["cheekbone_height"]) * b - 0.04 * b * smile_up
        cheek_amp = (0.007 + 0.004 * s["cheekbone_prominence"]) * (1.0 + 0.6 * smile_up)
        w_cheek = cv.window(ych - 0.17 * b, ych + 0.17 * b, 0.25 * a, 0.79 * a)
        cheeks = _bump((w_cheek.AX - 0.52 * a) / (0.27 * a)) * _bump((w_cheek.Y - ych) / (0.17 * b))
        cv.add_depth(w_cheek, -cheek_amp * cheeks)
        # Muzzle and chin.
        y_m = y_n + 0.17 * b
        y_mz = y_m - 0.02 * b
        w = cv.window(y_mz - 0.25 * b, y_mz + 0.25 * b, 0.0, 0.5 * a)
        cv.add_depth(w, -0.007 * (_bump(w.AX / (0.5 * a)) * _bump((w.Y - y_mz) / (0.25 * b))))
        y_chin = yc + (0.80 + 0.03 * s["chin"]) * b
        chin_amp = 0.006 + 0.003 * s["chin"]
        w = cv.window(y_chin - 0.12 * b, y_chin + 0.12 * b, 0.0, 0.24 * a)
        cv.add_depth(w, -chin_amp * (_bump(w.AX / (0.24 * a)) * _bump((w.Y - y_chin) / (0.12 * b))))

        # Mouth (expression): zero outside |X| < mw and the band between the lip centre lines
        # +- the lip thickness, so the expression moves geometry inside the mouth region only.
        mw = (0.27 + 0.03 * e["smile"]) * a
        tu = (0.028 + 0.008 * s["lip_thickness"]) * b
        tl = 1.3 * tu
        gap_max = e["mouth_open"] * MOUTH_GAP * b
        w_mouth = cv.window(
            y_m - smile_up * SMILE_CURVE * b - 0.3 * gap_max - 2 * tu,
            y_m + (-e["smile"]).clamp(min=0) * SMILE_CURVE * b + 0.7 * gap_max + 2 * tl,
            0.0,
            mw,
        )
        u = w_mouth.AX / mw  # (B, 1, w)
        wx = (1.0 - u.pow(4)).clamp(min=0.0)
        taper = 0.45 + 0.55 * (1.0 - u * u).clamp(min=0).sqrt()  # lips thin towards the corners
        yl = y_m - e["smile"] * SMILE_CURVE * b * u * u  # lip line, corners up when smiling
        gap = gap_max * wx
        tu_x, tl_x = tu * taper, tl * taper
        yu = yl - 0.3 * gap - tu_x  # upper-lip centre line
        ylo = yl + 0.7 * gap + tl_x  # lower-lip centre line
        wy = w_mouth.Y
        lip_amp = 0.004 + 0.0015 * s["lip_thickness"]
        lips = lip_amp * wx * (_bump((wy - yu) / tu_x) + 1.2 * _bump((wy - ylo) / tl_x))
        y_mc = yl + 0.2 * gap
        inner = 0.018 * e["mouth_open"] * wx * _bump((wy - y_mc) / (0.5 * gap + 1e-3))
        cv.add_depth(w_mouth, inner - lips)

        # Brows (expression): a soft-tissue ridge following the brow line.
        x_in, x_out = xe - 0.14 * a, xe + 0.17 * a
        brow_lo = yb - (0.01 + BROW_RAISE + BROW_TILT + 0.035) * b
        w_brow = cv.window(
            brow_lo - 0.07 * b, yb + (BROW_RAISE + BROW_TILT + 0.06) * b, x_in, x_out
        )
        bx, by = w_brow.AX, w_brow.Y
        wb = ((bx - x_in) / (x_out - x_in)).clamp(0.0, 1.0)
        yb_line = (
            yb
            - 0.01 * b
            - e["brow_raise"] * BROW_RAISE * b
            - e["brow_tilt"] * BROW_TILT * b * (1.0 - wb)
            - 0.035 * b * (1.0 - (2.0 * wb - 1.0) ** 2)
        )
        in_brow = ((bx - x_in) * (x_out - bx) >= 0).float()
        cv.add_depth(w_brow, -0.002 * in_brow * _bump((by - yb_line) / (0.06 * b)))

        depth = (Z_BACKGROUND - prof + cv.offset).clamp(MIN_DEPTH, MAX_DEPTH)

        # ------------------------------------------------------------------ albedo and parts
        skin = _lerp_palette(_SKIN_PALETTE, (p.albedo[:, 0] + 1) / 2)
        skin = skin * (1 + 0.06 * p.albedo[:, 1:2] * torch.tensor([1.0, -0.5, -0.5]))
        hair_col = _lerp_palette(_HAIR_PALETTE, (p.albedo[:, 6] + 1) / 2)
        warm = p.albedo[:, 7:8].clamp(min=0)
        hair_col = (hair_col + warm * torch.tensor([0.18, 0.02, -0.06]) * (0.3 + hair_col)).clamp(
            0, 1
        )
        skin_c, hair_c = _rgb(skin), _rgb(hair_col)

        # Neck, then the head (skin), then the parts on top, in order.
        w = cv.window(yc + 0.45 * b, 1.0, 0.0, 1.12 * nw)
        f_neck = torch.minimum(nw - w.AX, w.Y - (yc + 0.5 * b))
        f_neck = torch.where(w.crop(neck_front), f_neck, torch.full_like(f_neck, -1.0))
        cv.paint(w, f_neck, skin_c * 0.86, _F["neck"])
        cv.paint(
            w_ear,
            (1.0 - r_ear) * torch.minimum(we, he),
            skin_c * _rgb([0.95, 0.88, 0.88]),
            _F["l_ear"],
        )
        f_head = (1.0 - r) * aw
        cv.paint(full, f_head, skin_c, _F["skin"])
        cv.paint(w_nose, (nose - 0.15) * 0.1, None, _F["nose"])
        # Cheek blush (albedo only).
        blush = (0.35 * (0.5 + 0.5 * c["skin_redness"])) * cheeks
        cv.paint(
            w_cheek, torch.full_like(blush, 1.0), skin_c * _rgb([1.02, 0.78, 0.78]), None, blush
        )
        # Beard (albedo only, under the lips).
        w = cv.window(y_n + 0.03 * b, yc + b, 0.0, a)
        f_beard = torch.minimum(w.Y - (y_n + 0.03 * b), w.crop(f_head) - 0.03)
        cv.paint(w, f_beard, hair_c * 0.9 + 0.02, None, 0.85 * c["beard"])
        # Lips and the mouth opening (teeth in its upper part).
        lip_c = skin_c * _rgb([0.92, 0.55, 0.55]) * (0.85 + 0.15 * c["lip_colour"])[:, None]
        side = (1.0 - u) * mw
        cv.paint(w_mouth, torch.minimum(tu_x - (wy - yu).abs(), side), lip_c, _F["u_lip"])
        cv.paint(w_mouth, torch.minimum(tl_x - (wy - ylo).abs(), side), lip_c, _F["l_lip"])
        f_mouth = torch.minimum(0.5 * gap - (wy - y_mc).abs(), side)
        cv.paint(w_mouth, f_mouth, _rgb([0.22, 0.06, 0.06]), _F["mouth"])
        f_teeth = torch.minimum(f_mouth, (yl + 0.05 * gap) - wy)
        cv.paint(w_mouth, f_teeth, _rgb([0.93, 0.91, 0.84]))
        # Eyes: sclera, iris, pupil (wider with raised brows, narrower in a smile).
        ex = 0.115 * a
        ey = 0.048 * b * (1.0 + 0.35 * raise_up - 0.25 * smile_up)
        w = cv.window(ye - ey, ye + ey, xe - ex, xe + ex)
        ell = (((w.AX - xe) / ex) ** 2 + ((w.Y - ye) / ey) ** 2).sqrt()
        f_eye = (1.0 - ell) * ey
        cv.paint(w, f_eye, _rgb([0.93, 0.91, 0.87]), _F["l_eye"])
        rho = ((w.AX - xe) ** 2 + (w.Y - ye) ** 2).sqrt()
        ri = 0.055 * b
        iris = _lerp_palette(_IRIS_PALETTE, (p.albedo[:, 5] + 1) / 2)
        cv.paint(w, torch.minimum(ri - rho, f_eye), _rgb(iris))
        cv.paint(w, torch.minimum(0.45 * ri - rho, f_eye), _rgb([0.02, 0.02, 0.02]))
        # Brows (position from the expression, thickness and darkness from the albedo code).
        half = (0.030 + 0.012 * c["brow_thickness"]) * b * (1.0 - 0.45 * wb)
        f_brow = torch.minimum(half - (by - yb_line).abs(), torch.minimum(bx - x_in, x_out - bx))
        brow_c = hair_c * (0.75 - 0.25 * c["brow_darkness"])[:, None]
        cv.paint(w_brow, f_brow, brow_c, _F["l_brow"], 0.85 + 0.1 * c["brow_thickness"])
        # Hair: above a hairline that drops towards the temples, and down the sides.
        side_y = ye + (0.05 + 0.12 * (c["hair_length"] + 1.0)) * b
        w = cv.window(-1.0, side_y, 0.0, 1.0)
        y_hl = yc - (0.42 + 0.08 * c["hairline_height"]) * b
        y_hl = y_hl + (0.25 + 0.12 * c["hairline_curve"]) * b * (w.X / a) ** 2
        side_x = w.row(aw) * (0.84 - 0.06 * c["hair_length"])
        f_side = torch.minimum(w.AX - side_x, side_y - w.Y)
        f_hair = torch.minimum(torch.maximum(y_hl - w.Y, f_side), w.crop(f_head) + 0.015)
        cv.paint(w, f_hair, hair_c, _F["hair"])
        # Eyeglasses: two rims, a bridge and the temples.
        gx, gy = 0.21 * a, 0.15 * b
        yg = ye - 0.01 * b
        has = c["eyeglasses"] > 0.5
        if bool(has.any()):
            w = cv.window(yg - gy - 0.02, yg + gy + 0.02, 0.0, 1.0)
            ring = (((w.AX - xe) / gx) ** 2 + ((w.Y - yg) / gy) ** 2).sqrt()
            f_rim = 0.016 - (ring - 1.0).abs() * gy
            f_bridge = torch.minimum(0.013 - (w.Y - (ye - 0.05 * b)).abs(), (xe - 0.95 * gx) - w.AX)
            f_temple = torch.minimum(0.012 - (w.Y - (ye - 0.03 * b)).abs(), w.AX - (xe + 0.95 * gx))
            f_temple = torch.minimum(f_temple, w.crop(f_head))
            f_glasses = torch.maximum(torch.maximum(f_rim, f_bridge), f_temple)
            f_glasses = torch.where(has, f_glasses, torch.full_like(f_glasses, -1.0))
            frame = _lerp_palette(_FRAME_PALETTE, (p.albedo[:, 11] + 1) / 2)
            cv.paint(w, f_glasses, _rgb(frame), _F["eye_g"])
        albedo = cv.mirror(cv.albedo).clamp(0.0, 1.0)
        return cv.mirror(depth), albedo, cv.mirror(cv.bg_weight), cv.mirror_parts(_FACE_SWAP)

    def background_colour(self, u: torch.Tensor) -> torch.Tensor:
        """(B, 3) muted wall colours from (B, 3) uniforms."""
        grey = 0.25 + 0.5 * u[:, :1]
        tint = 0.12 * (u[:, 1:3] - 0.5)
        return torch.cat(
            [grey + tint[:, :1], grey + tint[:, 1:], grey - tint.sum(1, keepdim=True)], 1
        ).clamp(0.05, 0.95)


# ----------------------------------------------------------------------------------------------
# Cars

CAR_CLASSES = ("police_car", "ambulance", "limousine", "jeep", "sports_car")  # as shapenet_cars
CAR_PARTS = ("background", "body", "window", "wheel", "light", "roof_item", "decal")
_C = {name: i for i, name in enumerate(CAR_PARTS)}
_CAR_SWAP = torch.arange(len(CAR_PARTS))  # no left/right part ids
# Per class: length, width (normalised units), roof, hood, trunk heights (camera units), cabin
# start and end (fractions of the length from the rear), windshield and rear-window lengths
# (fractions), cross-section exponent (higher = boxier), cabin width fraction, wheel positions
# (fraction from each end).
_CAR_BASE = torch.tensor(
    [
        # L     W     roof   hood   trunk  c0    c1    ws    rw    p    cw    wheel
        [1.50, 0.74, 0.048, 0.028, 0.030, 0.28, 0.62, 0.12, 0.10, 3.0, 0.80, 0.17],  # police
        [1.60, 0.80, 0.072, 0.034, 0.072, 0.00, 0.80, 0.06, 0.00, 7.0, 0.96, 0.16],  # ambulance
        [1.90, 0.66, 0.042, 0.026, 0.028, 0.20, 0.72, 0.10, 0.08, 3.0, 0.82, 0.12],  # limousine
        [1.22, 0.84, 0.064, 0.042, 0.052, 0.04, 0.62, 0.04, 0.02, 8.0, 0.94, 0.18],  # jeep
        [1.42, 0.80, 0.034, 0.020, 0.024, 0.22, 0.50, 0.16, 0.14, 2.4, 0.70, 0.16],  # sports
    ]
)
# Paint palettes per class (primary colours, sampled with jitter); rows past a class's count
# repeat its last colour.
_CAR_PAINT = torch.tensor(
    [
        [[0.93, 0.93, 0.93]] * 4,  # police: white doors (black hood and trunk)
        [
            [0.95, 0.95, 0.92],
            [0.96, 0.90, 0.55],
            [0.96, 0.90, 0.55],
            [0.96, 0.90, 0.55],
        ],  # ambulance
        [
            [0.05, 0.05, 0.06],
            [0.92, 0.92, 0.92],
            [0.25, 0.25, 0.28],
            [0.25, 0.25, 0.28],
        ],  # limousine
        [[0.33, 0.38, 0.20], [0.62, 0.55, 0.38], [0.15, 0.28, 0.15], [0.15, 0.28, 0.15]],  # jeep
        [[0.85, 0.08, 0.05], [0.95, 0.78, 0.05], [0.95, 0.45, 0.05], [0.10, 0.25, 0.85]],  # sports
    ]
)
_CAR_PAINT_COUNT = torch.tensor([1, 2, 3, 3, 4])


class CarModel:
    """Procedural cars seen from above (the car's front towards the image bottom).

    Five classes with distinct proportions and paint patterns (police car, ambulance, limousine,
    jeep, sports car); within-class variation of every proportion and of the colours. The
    canonical depth is the road plane minus the car's height field: a body with a superellipse
    cross-section, a narrower cabin with windshield and rear-window ramps, four wheels and
    class-specific roof items.
    """

    name = "synthetic_cars"
    short = "cars"
    category_label = "car_class"
    category_names = CAR_CLASSES
    part_names = CAR_PARTS
    shape_names = (
        "length",
        "width",
        "roof_height",
        "hood_height",
        "trunk_height",
        "cabin_start",
        "cabin_end",
        "windshield",
        "rear_window",
        "boxiness",
        "cabin_width",
        "wheel_position",
    )
    albedo_names = ("paint_r", "paint_g", "paint_b", "window_tint", "trim")
    expression_names = ()
    attribute_rules = ()
    attribute_names = ()
    identity_slots = 32
    image_slots = 80

    def sample_identity(self, d: _Draws, local: torch.Tensor) -> tuple[torch.Tensor, ...]:
        cls = local % len(CAR_CLASSES)  # balanced classes
        base = _CAR_BASE[cls]  # (B, 12)
        jit = d.signed(12)
        scale = torch.tensor([0.05, 0.04, 0.10, 0.10, 0.10, 0.0, 0.0, 0.15, 0.15, 0.0, 0.03, 0.08])
        shift = torch.tensor([0, 0, 0, 0, 0, 0.03, 0.03, 0, 0, 0.8, 0, 0], dtype=torch.float32)
        shape = base * (1 + scale * jit) + shift * jit
        shape[:, 0] = shape[:, 0].clamp(max=1.92)
        pick = d.one()
        count = _CAR_PAINT_COUNT[cls]
        which = (pick * count).long().clamp(max=count - 1)
        paint = _CAR_PAINT[cls, which]  # (B, 3)
        paint = (paint + 0.05 * d.signed(3)).clamp(0.02, 0.98)
        tint = d.uniform(0.0, 1.0)
        trim = d.uniform(0.0, 1.0)
        albedo = torch.cat([paint, tint[:, None], trim[:, None]], dim=1)
        return shape, albedo, cls

    def sample_expression(self, d: _Draws, identity_category: torch.Tensor):
        d.take(8)  # keeps the image stream aligned with the faces'
        return identity_category, torch.zeros(len(identity_category), 0)

    def attributes(self, p: SceneParams) -> torch.Tensor:
        return torch.zeros(len(p), 0, dtype=torch.int64)

    def canonical(
        self, p: SceneParams, size: int, background: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Canonical maps of a batch of cars (see `FaceModel.canonical`; parts: `CAR_PARTS`)."""
        B = len(p)
        cv = _Canvas(B, size, background)
        full = cv.full
        AX, Y = full.AX, full.Y
        s = {k: _col(v) for k, v in zip(self.shape_names, p.shape.unbind(1))}
        is_ = {k: _col(p.category == i) for i, k in enumerate(CAR_CLASSES)}
        L, hw = s["length"], s["width"] / 2
        y_rear = -L / 2
        t = (Y - y_rear) / L  # (B, S, 1): 0 at the rear (image top), 1 at the front
        inside_t = (t >= 0) & (t <= 1)
        # Body: footprint with rounded corners, superellipse cross-section.
        end = (((2 * t - 1).abs() - 0.82) / 0.18).clamp(0.0, 1.0)
        hw_t = hw * (1.0 - 0.22 * end * end)  # (B, S, 1)
        p_exp = s["boxiness"]
        xb = (AX / hw_t).clamp(max=1.0)
        cross_b = (1.0 - xb.pow(p_exp)).clamp(min=0).pow(1.0 / p_exp) * inside_t
        ends = _smoothstep(0.0, 0.035, t) * _smoothstep(1.0, 0.965, t)
        c0, c1 = s["cabin_start"], s["cabin_end"]
        ws, rw = s["windshield"], s["rear_window"]
        trunk, hood, roof = s["trunk_height"], s["hood_height"], s["roof_height"]
        body_h = (trunk + (hood - trunk) * _smoothstep(c0, c1, t)) * ends  # (B, S, 1)
        H_body = body_h * cross_b
        # Cabin: narrower, with windshield and rear-window ramps.
        cab_t = _smoothstep(c0 - rw - 1e-3, c0, t) * _smoothstep(c1 + ws + 1e-3, c1, t) * inside_t
        hw_c = hw * s["cabin_width"]
        xc = (AX / hw_c).clamp(max=1.0)
        cross_c = (1.0 - xc.pow(p_exp + 1.0)).clamp(min=0).pow(1.0 / (p_exp + 1.0))
        H = torch.maximum(H_body, roof * cab_t * cross_c)
        # Wheels: cylinders across X, sticking out of the body's sides.
        tw = s["wheel_position"]
        in_x = ((AX - (hw - 0.015)).abs() < 0.055).float()  # (B, 1, half)
        wheel_y = torch.zeros_like(t)
        for y_w in (y_rear + tw * L, y_rear + (1 - tw) * L):
            dy = (Y - y_w) / 0.12
            wheel_y = torch.maximum(wheel_y, (1.0 - dy * dy).clamp(min=0).sqrt() * 0.030)
        H_wheel = wheel_y * in_x
        wheel_front = H_wheel > H_body
        H = torch.maximum(H, H_wheel)
        # Class-specific roof items: police light bar, jeep spare tyre and roof rack, spoiler.
        y_lb = y_rear + L * (c1 - 0.06)
        w_lb = cv.window(y_lb - 0.035, y_lb + 0.035, 0.0, 0.62 * hw_c)
        f_lb = torch.minimum(0.035 - (w_lb.Y - y_lb).abs(), 0.62 * hw_c - w_lb.AX)
        f_lb = torch.where(is_["police_car"], f_lb, torch.full_like(f_lb, -1.0))
        y_ty = y_rear + 0.015
        w_ty = cv.window(y_ty - 0.045, y_ty + 0.045, 0.0, 0.2)
        f_tyre = torch.minimum(0.2 - w_ty.AX, 0.045 - (w_ty.Y - y_ty).abs())
        f_tyre = torch.where(is_["jeep"], f_tyre, torch.full_like(f_tyre, -1.0))
        f_rack = torch.minimum(
            0.025 - (AX - 0.55 * hw_c).abs(), torch.minimum(t - c0 - 0.03, c1 - 0.03 - t) * L
        )
        f_rack = torch.where(is_["jeep"], f_rack, torch.full_like(f_rack, -1.0))
        f_spoiler = torch.minimum((0.025 - (t - 0.035).abs()) * L, 0.9 * hw - AX)
        f_spoiler = torch.where(is_["sports_car"], f_spoiler, torch.full_like(f_spoiler, -1.0))
        item = torch.where(f_rack > 0, roof + 0.004, torch.zeros_like(f_rack))
        item = torch.where(f_spoiler > 0, trunk + 0.012, item)
        H = torch.maximum(H, item)
        cv.add_depth(w_lb, -torch.where(f_lb > 0, roof + 0.009, torch.zeros_like(f_lb)))
        cv.add_depth(w_ty, -torch.where(f_tyre > 0, trunk * 0.9 + 0.012, torch.zeros_like(f_tyre)))
        # The light bar and tyre sit on top of the body: take them as maxima, not sums.
        depth = (Z_BACKGROUND - H + torch.minimum(cv.offset + H, torch.zeros_like(H))).clamp(
            MIN_DEPTH, MAX_DEPTH
        )

        # ------------------------------------------------------------------ albedo and parts
        f_body = torch.minimum(hw_t - AX, torch.minimum(t, 1 - t) * L)
        f_body = torch.where(wheel_front, torch.minimum(f_body, -torch.ones_like(f_body)), f_body)
        cv.paint(full, f_body, _rgb(p.albedo[:, :3]), _C["body"])
        f_wheel = torch.where(
            wheel_front, torch.full_like(f_body, cv.pixel), torch.full_like(f_body, -1.0)
        )
        cv.paint(full, f_wheel, _rgb([0.05, 0.05, 0.05]), _C["wheel"])
        # Paint patterns (decals): police black hood and trunk, sports stripes, ambulance cross
        # and side bands.
        police_bw = torch.maximum((t - (c1 + ws)) * L, ((c0 - rw) - t) * L)
        stripe = 0.05 - (AX - 0.11).abs()
        y_cross = y_rear + L * 0.45
        cross = torch.maximum(
            torch.minimum(0.05 - AX, 0.16 - (Y - y_cross).abs()),
            torch.minimum(0.16 - AX, 0.05 - (Y - y_cross).abs()),
        )
        band = 0.035 - (AX - 0.8 * hw_t).abs()
        dec = torch.where(is_["police_car"], police_bw, torch.full_like(f_body, -1.0))
        dec = torch.where(is_["sports_car"], stripe, dec)
        dec = torch.where(is_["ambulance"], torch.maximum(cross, band), dec)
        dec_col = torch.where(
            is_["sports_car"][:, None],
            _rgb([0.95, 0.95, 0.95]),
            torch.where(
                is_["police_car"][:, None], _rgb([0.04, 0.04, 0.05]), _rgb([0.85, 0.08, 0.06])
            ),
        )
        cv.paint(full, torch.minimum(dec, f_body), dec_col, _C["decal"])
        # Windows: windshield and rear window on the cabin ramps, side windows on the flanks.
        tint = 0.08 + p.albedo[:, 3:4] * torch.tensor([0.06, 0.06, 0.08])
        tint = tint + torch.tensor([0.0, 0.03, 0.08])
        f_ws = torch.minimum(
            torch.minimum((t - c1) * L, (c1 + ws - t) * L - 0.02), 0.86 * hw_c - AX
        )
        f_rw = torch.minimum(
            torch.minimum((c0 - t) * L, (t - (c0 - rw)) * L - 0.02), 0.8 * hw_c - AX
        )
        f_rw = torch.where(rw > 0.01, f_rw, torch.full_like(f_rw, -1.0))
        f_sw = torch.minimum(
            torch.minimum((t - c0) * L - 0.03, (c1 - t) * L - 0.03),
            torch.minimum(AX - 0.74 * hw_c, 0.97 * hw_c - AX),
        )
        f_win = torch.minimum(torch.maximum(torch.maximum(f_ws, f_rw), f_sw), f_body)
        cv.paint(full, f_win, _rgb(tint), _C["window"])
        # Lights: headlights at the front corners, tail lights at the rear.
        w = cv.window(-L / 2 + 0.955 * L - 0.02, L / 2, 0.0, 1.0)
        tt, hw_w = w.row(t), w.row(hw_t)
        f_head_l = torch.minimum(
            (tt - 0.955) * L, torch.minimum(w.AX - 0.42 * hw_w, 0.86 * hw_w - w.AX)
        )
        cv.paint(w, torch.minimum(f_head_l, w.crop(f_body)), _rgb([1.0, 0.96, 0.78]), _C["light"])
        w = cv.window(-L / 2, -L / 2 + 0.04 * L + 0.02, 0.0, 1.0)
        tt, hw_w = w.row(t), w.row(hw_t)
        f_tail = torch.minimum((0.04 - tt) * L, torch.minimum(w.AX - 0.5 * hw_w, 0.9 * hw_w - w.AX))
        cv.paint(w, torch.minimum(f_tail, w.crop(f_body)), _rgb([0.80, 0.06, 0.05]), _C["light"])
        # Roof items.
        bar_col = torch.where(
            (w_lb.AX < 0.2 * hw_c)[:, None], _rgb([0.1, 0.2, 0.95]), _rgb([0.95, 0.1, 0.1])
        )
        cv.paint(w_lb, f_lb, bar_col, _C["roof_item"])
        cv.paint(w_ty, f_tyre, _rgb([0.07, 0.07, 0.07]), _C["roof_item"])
        cv.paint(full, f_rack, _rgb([0.07, 0.07, 0.07]), _C["roof_item"])
        trim = (0.05 + 0.8 * p.albedo[:, 4:5]).expand(-1, 3)
        cv.paint(full, f_spoiler, _rgb(trim), _C["roof_item"])
        albedo = cv.mirror(cv.albedo).clamp(0.0, 1.0)
        return cv.mirror(depth), albedo, cv.mirror(cv.bg_weight), cv.mirror_parts(_CAR_SWAP)

    def background_colour(self, u: torch.Tensor) -> torch.Tensor:
        """(B, 3) road greys from (B, 3) uniforms."""
        grey = 0.30 + 0.30 * u[:, :1]
        tint = 0.06 * (u[:, 1:3] - 0.5)
        return torch.cat(
            [grey + tint[:, :1], grey + tint[:, 1:], grey - tint.sum(1, keepdim=True)], 1
        )


_MODELS = {"synthetic_faces": FaceModel, "synthetic_cars": CarModel}


# ----------------------------------------------------------------------------------------------
# The dataset


@lru_cache(maxsize=8)
def _noise_bank(seed: int, size: int) -> torch.Tensor:
    """(tiles, S, S) unit Gaussian noise, a pure function of (seed, S)."""
    gen = torch.Generator().manual_seed(int(_stream_key(seed, "noise-bank", size)) & (2**63 - 1))
    return torch.randn(_NOISE_TILES, size, size, generator=gen)


class SyntheticDataset(Dataset):
    """A split of `synthetic_faces` or `synthetic_cars`: lazy, deterministic, batched.

    Item ``i`` is a pure function of (``seed``, ``split``, ``i``) and of the options below; the
    same item comes out of ``dataset[i]``, ``generate_batch([..., i, ...])`` and a DataLoader
    (which uses ``__getitems__``, i.e. one batched render per batch), in any process.

    Args:
        name: ``synthetic_faces`` or ``synthetic_cars``.
        split: one of `SPLITS`: ``train``, ``val``, ``test`` (disjoint identities), ``ood``,
            ``ood_light``, ``ood_view`` (test identities, light and/or view outside the training
            ranges), ``tracks`` (test identities grouped into tracks of similar frames).
        image_size: S in pixels (>= 8; 32, 64, 128 are the benchmarked sizes).
        seed: the dataset seed.
        num_images: images in the split (None: `DEFAULT_NUM_IMAGES`).
        images_per_identity: consecutive indices sharing an identity (not ``tracks``).
        noise: scale of the asymmetric nuisances (albedo noise, background texture); 0 makes
            the canonical albedo exactly symmetric.
        frames_per_track, track_identities: ``tracks`` layout: frame ``i`` belongs to track
            ``i // frames_per_track``, of test identity ``track % track_identities``.
        ranges: light and view ranges (`Ranges`).
        keys: the keys items carry (`ITEM_KEYS`, plus ``track_id`` in ``tracks``); None: all.
            Training needs only ``image``: fewer keys make a DataLoader batch cheaper to move
            between processes. ``generate_batch`` always returns every key.

    Items follow `unsup3d.data.base`'s contract: ``image`` (3, S, S) float32 in [0, 1];
    ``labels`` {``identity``: int, ``emotion`` (faces) or ``car_class`` (cars): int, and each face
    attribute (``attribute_names``): 0/1}; ``image_id`` str; ``mask``
    (S, S) int64 part labels in the image (nearest-warped); ``factors`` (K,) float32 named by
    ``factor_names``; ground truth ``depth`` (S, S) and ``albedo`` (3, S, S) canonical,
    ``light`` (4,), ``view`` (6,), ``view_depth`` (S, S) (rendered depth in the image,
    ``renderer.depth_hi`` = background); ``track_id`` int in the ``tracks`` split.
    """

    # Pixels per render call inside generate_batch, and per Renderer.reconstruct call inside
    # render (64 and 16 images at 64 px): the fastest split measured on CPU, at 32 to 128 px.
    # Every op is per image, so the result does not depend on it.
    render_pixels = 64 * 64 * 64
    reconstruct_pixels = 16 * 64 * 64

    def __init__(
        self,
        name: str = "synthetic_faces",
        split: str = "train",
        image_size: int = 64,
        seed: int = 0,
        num_images: int | None = None,
        images_per_identity: int = 10,
        noise: float = 1.0,
        frames_per_track: int = 10,
        track_identities: int = 10,
        ranges: Ranges = RANGES,
        keys: Sequence[str] | None = None,
    ) -> None:
        if name not in _MODELS:
            raise UserError(
                f"dataset {name!r}: unknown synthetic dataset; use one of {', '.join(DATASET_NAMES)}"
            )
        if split not in SPLITS:
            raise UserError(
                f"split {split!r}: unknown split of {name}; use one of {', '.join(SPLITS)}"
            )
        if not isinstance(image_size, int) or image_size < 8:
            raise UserError(
                f"image_size {image_size!r}: must be an int >= 8 pixels; use 32, 64 or 128"
            )
        if num_images is not None and num_images < 0:
            raise UserError(f"num_images {num_images}: must be >= 0 (None for the default)")
        for key, val in (
            ("images_per_identity", images_per_identity),
            ("frames_per_track", frames_per_track),
            ("track_identities", track_identities),
        ):
            if val < 1:
                raise UserError(f"{key} {val}: must be >= 1")
        if not noise >= 0:
            raise UserError(f"noise {noise}: must be >= 0 (1 = default nuisances, 0 = none)")
        if seed < 0:
            raise UserError(f"seed {seed}: must be >= 0")
        item_keys = ITEM_KEYS + (("track_id",) if split == "tracks" else ())
        if keys is not None:
            keys = tuple(keys)
            unknown = [k for k in keys if k not in item_keys]
            if unknown or not keys:
                raise UserError(
                    f"keys {list(keys)}: an item of the {split} split has {', '.join(item_keys)}; "
                    "choose a non-empty subset (or None for all)"
                )
        self.keys: tuple[str, ...] = item_keys if keys is None else keys
        self.name, self.split, self.image_size, self.seed = name, split, int(image_size), int(seed)
        self.model = _MODELS[name]()
        self.num_images = DEFAULT_NUM_IMAGES[split] if num_images is None else int(num_images)
        self.images_per_identity = int(images_per_identity)
        self.noise = float(noise)
        self.frames_per_track = int(frames_per_track)
        self.track_identities = int(track_identities)
        self.ranges = ranges
        self.pool = _POOL[split]
        self.renderer = Renderer(self.image_size)
        m = self.model
        self.factor_names: tuple[str, ...] = (
            *(f"shape_{n}" for n in m.shape_names),
            *(f"albedo_{n}" for n in m.albedo_names),
            *(f"expression_{n}" for n in m.expression_names),
            "light_ambient",
            "light_diffuse",
            "light_dx",
            "light_dy",
            "view_rx",
            "view_ry",
            "view_rz",
            "view_tx",
            "view_ty",
        )
        self.attribute_names: tuple[str, ...] = m.attribute_names
        self.part_names: tuple[str, ...] = m.part_names
        self.category_label: str = m.category_label
        self.category_names: tuple[str, ...] = m.category_names
        self.label_names: tuple[str, ...] = ("identity", m.category_label, *m.attribute_names)
        self.label_classes: dict[str, tuple[str, ...]] = {m.category_label: m.category_names}
        self.factor_sizes: tuple[int, ...] = ()  # continuous factors (no grid)

    def __repr__(self) -> str:
        return (
            f"SyntheticDataset({self.name!r}, split={self.split!r}, image_size={self.image_size}, "
            f"seed={self.seed}, num_images={self.num_images})"
        )

    def __len__(self) -> int:
        return self.num_images

    @property
    def num_identities(self) -> int:
        """Distinct identities (car instances) in this split."""
        if self.split == "tracks":
            return min(self.track_identities, self.num_tracks)
        return -(-self.num_images // self.images_per_identity)

    @property
    def num_tracks(self) -> int:
        """Tracks in the ``tracks`` split (0 elsewhere)."""
        return -(-self.num_images // self.frames_per_track) if self.split == "tracks" else 0

    # --- parameters

    def _check_indices(self, indices: Sequence[int] | torch.Tensor | np.ndarray) -> np.ndarray:
        idx = np.asarray(
            indices.tolist() if isinstance(indices, torch.Tensor) else indices, dtype=np.int64
        )
        if idx.ndim != 1:
            raise IndexError(f"indices must be 1-D, got shape {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_images):
            raise IndexError(f"index out of range for {self!r}: {idx.min()}..{idx.max()}")
        return idx

    def identity_of(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local identity index (within the pool) and track id (-1 outside ``tracks``)."""
        if self.split == "tracks":
            track = indices // self.frames_per_track
            return track % self.track_identities, track
        return indices // self.images_per_identity, np.full_like(indices, -1)

    def sample_params(self, indices: Sequence[int] | torch.Tensor | np.ndarray) -> SceneParams:
        """The scene parameters of items ``indices`` (a pure function of seed, split, index)."""
        idx = self._check_indices(indices)
        m, r = self.model, self.ranges
        local, track = self.identity_of(idx)
        d_id = _Draws(
            uniforms(_stream_key(self.seed, m.name, "identity", self.pool), local, m.identity_slots)
        )
        shape, albedo, id_cat = m.sample_identity(d_id, torch.from_numpy(local))
        if self.split == "tracks":
            # A track holds one emotion and a base light and view; frames jitter around them.
            base = _Draws(
                uniforms(_stream_key(self.seed, m.name, "track", self.pool), track, m.image_slots)
            )
            light = _sample_light(base, False, r)
            view = _sample_view(base, False, r)
            category, expression = m.sample_expression(base, id_cat)
            jit = _Draws(
                uniforms(_stream_key(self.seed, m.name, "image", self.split), idx, m.image_slots)
            )
            j = jit.signed(9)
            lim = r.light_dxy
            light = torch.cat(
                [light[:, :2], (light[:, 2:] + r.track_light_jitter * j[:, :2]).clamp(-lim, lim)], 1
            )
            ang = view[:, :3] + torch.deg2rad(torch.tensor(r.track_view_jitter_deg)) * j[:, 2:5]
            lims = torch.deg2rad(torch.tensor([r.pitch_deg, r.yaw_deg, r.roll_deg]))
            view = torch.cat([torch.maximum(torch.minimum(ang, lims), -lims), view[:, 3:]], 1)
            if expression.shape[1]:
                expression = expression + 0.05 * j[:, 5 : 5 + expression.shape[1]]
            d_img = jit
        else:
            d_img = _Draws(
                uniforms(_stream_key(self.seed, m.name, "image", self.split), idx, m.image_slots)
            )
            light = _sample_light(d_img, self.split in ("ood", "ood_light"), r)
            view = _sample_view(d_img, self.split in ("ood", "ood_view"), r)
            category, expression = m.sample_expression(d_img, id_cat)
        nuisance = d_img.take(_NUISANCE_SIZE)
        identity = torch.from_numpy(local + POOL_OFFSET[self.pool])
        return SceneParams(
            identity=identity,
            category=category.long(),
            shape=shape.float(),
            albedo=albedo.float(),
            expression=expression.float(),
            light=light.float(),
            view=view.float(),
            nuisance=nuisance.float(),
            track=torch.from_numpy(track),
        )

    def factors(self, p: SceneParams) -> torch.Tensor:
        """(B, K) float32 factor vectors named by ``factor_names`` (tz, always 0, left out)."""
        return torch.cat([p.shape, p.albedo, p.expression, p.light, p.view[:, :5]], dim=1)

    # --- rendering

    def _background(self, p: SceneParams) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Background colour (B, 3) and its smooth asymmetric texture (B, 3, S, S) (None when
        ``noise`` is 0): a bilinear upsampling of a random 4 x 4 grid."""
        colour = self.model.background_colour(p.nuisance[:, :3])
        if self.noise == 0:
            return colour, None
        size = self.image_size
        tex = (
            p.nuisance[:, 3 : 3 + 3 * _TEX * _TEX].reshape(-1, 3, _TEX, _TEX) - 0.5
        )  # (B, 3, 4, 4)
        tex = F.interpolate(tex, size=(size, size), mode="bilinear", align_corners=True)
        return colour, (0.08 * self.noise) * tex

    def _albedo_noise(self, p: SceneParams) -> torch.Tensor:
        """(B, 1, S, S) multiplicative fine-grain albedo noise (a shifted tile of a fixed bank)."""
        size = self.image_size
        bank = _noise_bank(self.seed, size)
        u = p.nuisance[:, -3:]
        tile = (u[:, 0] * _NOISE_TILES).long().clamp(max=_NOISE_TILES - 1)
        sr = (u[:, 1] * size).long()
        sc = (u[:, 2] * size).long()
        ar = torch.arange(size)
        rows = (ar[None, :] + sr[:, None]) % size  # (B, S)
        cols = (ar[None, :] + sc[:, None]) % size
        return bank[tile[:, None, None], rows[:, :, None], cols[:, None, :]][:, None]

    def render(self, p: SceneParams) -> dict[str, torch.Tensor]:
        """Render a batch of scenes.

        Args:
            p: scene parameters (`sample_params`, possibly edited).

        Returns:
            dict of ``image`` (B, 3, S, S) in [0, 1], ``mask`` (B, S, S) int64 part labels in the
            image, ``depth`` (B, S, S) and ``albedo`` (B, 3, S, S) canonical, ``canon_mask``
            (B, S, S) canonical part labels, ``view_depth`` (B, S, S), ``covered`` (B, S, S) bool.
        """
        size, rend = self.image_size, self.renderer
        colour, texture = self._background(p)
        depth, albedo, bg_weight, parts = self.model.canonical(p, size, colour)
        background = colour[:, :, None, None].expand(-1, -1, size, size)
        if texture is not None:
            background = (background + texture).clamp(0.0, 1.0)
            albedo = albedo + bg_weight[:, None] * texture
            albedo = albedo * (1.0 + (0.025 * self.noise) * self._albedo_noise(p))
            albedo = albedo.clamp(0.0, 1.0)
        light_dir = light_direction(p.light[:, 2:4])
        rec = rend.render_scene(
            depth,
            albedo,
            p.light[:, 0],
            p.light[:, 1],
            light_dir,
            p.view,
            max_pixels=self.reconstruct_pixels,
        ).recon
        # Uncovered pixels show the background wall lit like the canonical background plane.
        flat = (p.light[:, 0] + p.light[:, 1] * light_dir[:, 2].clamp(min=0))[:, None, None, None]
        covered = rec.mask[:, None]
        image = torch.where(covered, rec.image, background * flat).clamp(0.0, 1.0)
        mask = F.grid_sample(
            parts[:, None].float(),
            rec.grid,
            mode="nearest",
            padding_mode="zeros",
            align_corners=True,
        )[:, 0].long()
        mask = torch.where(rec.mask, mask, torch.zeros_like(mask))
        return {
            "image": image,
            "mask": mask,
            "depth": depth,
            "albedo": albedo,
            "canon_mask": parts,
            "view_depth": rec.depth,
            "covered": rec.mask,
        }

    def generate_batch(self, indices: Sequence[int] | torch.Tensor | np.ndarray) -> dict[str, Any]:
        """Items ``indices`` generated by batched renders, as a collated dict.

        The batch is rendered ``render_pixels`` pixels' worth of items at a time (cache-friendly
        on CPU; the result does not depend on it: every op is per item).

        Returns:
            The keys of an item (class docstring), each stacked along a new first dimension;
            ``labels`` is a dict of (B,) int64 tensors; ``image_id`` a list of str.
        """
        idx = self._check_indices(indices)
        if idx.size == 0:
            raise IndexError("generate_batch needs at least one index")
        with torch.no_grad():
            p = self.sample_params(idx)
            step = max(1, self.render_pixels // self.image_size**2)
            parts = [
                self.render(p.select(slice(a, a + step))) for a in range(0, max(len(idx), 1), step)
            ]
            out = (
                parts[0]
                if len(parts) == 1
                else {k: torch.cat([o[k] for o in parts]) for k in parts[0]}
            )
        labels: dict[str, torch.Tensor] = {"identity": p.identity, self.category_label: p.category}
        labels.update(zip(self.attribute_names, self.model.attributes(p).unbind(1)))
        batch: dict[str, Any] = {
            "image": out["image"],
            "labels": labels,
            "image_id": [self.image_id(int(i)) for i in idx],
            "mask": out["mask"],
            "factors": self.factors(p),
            "depth": out["depth"],
            "albedo": out["albedo"],
            "light": p.light,
            "view": p.view,
            "view_depth": out["view_depth"],
        }
        if self.split == "tracks":
            batch["track_id"] = p.track
        return batch

    def image_id(self, index: int) -> str:
        """Stable id of item ``index``, e.g. ``faces_train_000123``."""
        return f"{self.model.short}_{self.split}_{index:06d}"

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Items for a DataLoader batch (their ``keys``), generated in one batched render."""
        batch = self.generate_batch(indices)
        return _split_items({k: batch[k] for k in self.keys})

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        index = int(index)
        if index < 0:
            index += self.num_images
        return self.__getitems__([index])[0]


def _split_items(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a generated batch. Tensors are views into the batch's (one pass per key, no
    copies: the DataLoader's collate stacks them into its own batch anyway); labels and track
    ids become Python ints."""
    columns: dict[str, Any] = {}
    for key, val in batch.items():
        if key == "labels":
            names, values = list(val), [v.tolist() for v in val.values()]
            columns[key] = [dict(zip(names, row)) for row in zip(*values)]
        elif key == "image_id":
            columns[key] = val
        elif key == "track_id":
            columns[key] = val.tolist()
        else:
            columns[key] = val.unbind(0)
    return [dict(zip(columns, row)) for row in zip(*columns.values())]


# ----------------------------------------------------------------------------------------------
# Builders


def synthetic_faces(
    split: str = "train", image_size: int = 64, seed: int = 0, **kwargs: Any
) -> SyntheticDataset:
    """Synthetic faces (`SyntheticDataset` with ``name="synthetic_faces"``; options there)."""
    return SyntheticDataset("synthetic_faces", split, image_size, seed, **kwargs)


def synthetic_cars(
    split: str = "train", image_size: int = 64, seed: int = 0, **kwargs: Any
) -> SyntheticDataset:
    """Synthetic cars (`SyntheticDataset` with ``name="synthetic_cars"``; options there)."""
    return SyntheticDataset("synthetic_cars", split, image_size, seed, **kwargs)


def build_synthetic(
    name: str, split: str = "train", image_size: int = 64, **kwargs: Any
) -> SyntheticDataset:
    """Build a synthetic split by name (``synthetic_faces`` or ``synthetic_cars``).

    Args:
        name, split, image_size: as `SyntheticDataset`.
        **kwargs: `SyntheticDataset`'s options (seed, num_images, images_per_identity, noise,
            frames_per_track, track_identities, ranges, keys).
    """
    if name not in _MODELS:
        raise UserError(
            f"dataset {name!r}: unknown synthetic dataset; use one of {', '.join(DATASET_NAMES)}"
        )
    return SyntheticDataset(name, split, image_size, **kwargs)


def _registry_factory(name: str):
    """A `unsup3d.data.registry` factory ``(root, split, image_size, **options)`` for ``name``."""

    def factory(
        root: str | os.PathLike | None,
        split: str,
        image_size: int,
        *,
        seed: int = 0,
        num_images: int | None = None,
        images_per_identity: int = 10,
        noise: float = 1.0,
        frames_per_track: int = 10,
        track_identities: int = 10,
        keys: Sequence[str] | None = None,
    ) -> SyntheticDataset:
        if root not in (None, ""):
            raise UserError(
                f"data.root {str(root)!r}: {name} is generated, not read from disk; leave root "
                "empty, or read a materialized copy with name image_folder / celeba / "
                "celebamask_hq / face_tracks (docs/synthetic.md)"
            )
        return SyntheticDataset(
            name,
            split,
            image_size,
            seed=seed,
            num_images=num_images,
            images_per_identity=images_per_identity,
            noise=noise,
            frames_per_track=frames_per_track,
            track_identities=track_identities,
            keys=keys,
        )

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (
        f"Registry factory of ``{name}`` (`SyntheticDataset`); ``root`` must be empty."
    )
    return factory


def _register() -> None:
    # Imported here: the registry imports this module at its end to run this registration.
    from unsup3d.data.registry import DATASETS, register

    for name in DATASET_NAMES:
        if name not in DATASETS:
            register(name)(_registry_factory(name))


_register()


__all__ = [
    "CAR_CLASSES",
    "CAR_PARTS",
    "CELEBAMASK_CLASSES",
    "DATASET_NAMES",
    "DEFAULT_NUM_IMAGES",
    "EMOTIONS",
    "ITEM_KEYS",
    "RANGES",
    "SPLITS",
    "Ranges",
    "SceneParams",
    "SyntheticDataset",
    "build_synthetic",
    "synthetic_cars",
    "synthetic_faces",
    "uniforms",
]
