"""Scene parameters of the synthetic data: depth constants, light and view ranges, `SceneParams`.

The light is (ambient, diffuse, dx, dy) with the direction ``normalise(dx, dy, 1)``; the view is
(rx, ry, rz radians, tx, ty, tz camera units), as the inverse renderer assumes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

from unsup3d.data.synthetic.rng import Draws

# Depths (camera units) of the canonical scene: the background plane (wall / road) and the rim
# of the head, which sits just behind the rotation centre (depth 1), like a head turning about
# its neck: the face is in front of the centre, the silhouette behind it.
Z_BACKGROUND = 1.06
Z_RIM = 1.025
MIN_DEPTH, MAX_DEPTH = 0.9, 1.1


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


def sample_light(d: Draws, ood: bool, r: Ranges) -> torch.Tensor:
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


def sample_view(d: Draws, ood: bool, r: Ranges) -> torch.Tensor:
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
