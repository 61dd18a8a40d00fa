"""Leave-One-Out Cycle Contrastive learning (LOOCC), the paper's §3.2.

For each image, one of the configured scene parameters (``light``, or ``light`` / ``view``) is
perturbed; the full perturbed scene (predicted depth, albedo, light and view, one of them changed)
is rendered; the rendered image goes back through the *encoders* (not the decoders); the
perturbed parameter's feature is left out, the other three groups are concatenated (768-d) and
an NT-Xent loss pulls each image's features towards its re-rendered twin's and away from the
other images' (cosine similarity, temperature 0.5).

Clean definition (``compat: clean``, the default; ARCHITECTURE.md §3):

- Per-sample choice of the perturbed parameter. The batch is split by that choice; NT-Xent runs
  within each subset on that subset's kept groups (anchors, positives and negatives alike) and the
  subset losses are averaged weighted by subset size.
- Light: ambient and diffuse + U(-0.5, 0.5), clamped to >= 0; the direction's yaw and pitch
  + U(-45, 45) degrees, where l = (cos p sin y, sin p, cos p cos y) (unit by construction).
- View: pitch (rx) + U(-22.5, 22.5) degrees and yaw (ry) + U(-45, 45) degrees, unclamped; roll
  and translation unchanged.
- The augmented image is the renderer's image of the perturbed scene; pixels the surface does not
  cover are background (0 in the model's [-1, 1] space, mid-grey), like the reconstruction's.
- No stop-gradient: the encoders also receive gradient through the re-rendered image.

``compat: release`` reproduces the release's variant (reference_behaviour.md §4): one choice per
batch; perturbations drawn independently for both halves of the flipped batch (2B rows); ambient
and diffuse + U(-0.5, 0.5) unclamped; U(-pi/8, pi/8) added to each of the unit direction's x, y, z
without renormalising; view pitch + U(-pi/16, pi/16) and yaw + U(-pi/8, pi/8); the augmented image
is the non-flipped half masked by both halves' coverage; the loss is SupCon's on unnormalised
features, i.e. (0.5 / 0.07) x NT-Xent with dot products. The release's ranges are fixed in that
mode.

All randomness comes from an explicit ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Literal

import torch
import torch.nn.functional as F

from unsup3d.model import GROUPS, InverseRendering
from unsup3d.renderer import Geometry, Renderer, light_direction
from unsup3d.schema import SettingError, Settings, setting

PERTURBABLE = ("light", "view")  # scene parameters LOOCC can perturb (choice index = position)
VARIANTS = {"none": (), "L": ("light",), "LV": ("light", "view")}  # paper: LOOCC-L, LOOCC-LV

# The release's fixed perturbations and SupCon constant (compat: release).
RELEASE_INTENSITY_DELTA = 0.5
RELEASE_DIRECTION_NOISE = math.pi / 8  # added to each of x, y, z of the unit light direction
RELEASE_VIEW_PITCH_RAD = math.pi / 16
RELEASE_VIEW_YAW_RAD = math.pi / 8
RELEASE_BASE_TEMPERATURE = 0.07


@dataclass(frozen=True)
class LooccSettings(Settings):
    """LOOCC settings (``loocc.*``).

    The four ranges apply to ``compat: clean``; ``release`` uses the release's own values and
    rejects changed ranges.
    """

    variant: Literal["none", "L", "LV"] = setting(
        "none", "none; L: LOOCC-L perturbs light; LV: LOOCC-LV light or view, chosen per sample"
    )
    weight: float = setting(
        0.01, "weight of the NT-Xent term in the total loss (paper: 0.01)", lo=0.0
    )
    temperature: float = setting(0.5, "NT-Xent temperature (paper: 0.5)", lo=0.0, lo_open=True)
    compat: Literal["clean", "release"] = setting(
        "clean", "clean: ARCHITECTURE.md's definition; release: per-batch choice, SupCon scaling"
    )
    light_intensity_delta: float = setting(
        0.5, "ambient and diffuse offsets ~ U(-d, d) (paper: 0.5)", lo=0.0
    )
    light_direction_deg: float = setting(
        45.0, "light yaw and pitch offsets ~ U(-a, a), degrees (paper: 45)", lo=0.0, hi=90.0
    )
    view_pitch_deg: float = setting(
        22.5, "view pitch (rx) offset ~ U(-a, a), degrees (paper: 22.5)", lo=0.0, hi=180.0
    )
    view_yaw_deg: float = setting(
        45.0, "view yaw (ry) offset ~ U(-a, a), degrees (paper: 45)", lo=0.0, hi=180.0
    )

    def validate(self) -> None:
        if self.compat == "release":
            ranges = (
                "light_intensity_delta",
                "light_direction_deg",
                "view_pitch_deg",
                "view_yaw_deg",
            )
            defaults = {f.name: f.default for f in fields(self)}
            changed = [n for n in ranges if getattr(self, n) != defaults[n]]
            if changed:
                raise SettingError(
                    changed[0],
                    f"{', '.join(changed)} cannot be changed with compat 'release' (the release's "
                    "perturbations are fixed); use compat 'clean'",
                )

    @property
    def params(self) -> tuple[str, ...]:
        """The scene parameters that may be perturbed."""
        return VARIANTS[self.variant]

    @property
    def active(self) -> bool:
        """True when the LOOCC term is computed (a variant other than none, weight > 0)."""
        return bool(self.params) and self.weight > 0


@dataclass
class Perturbation:
    """A perturbed light and view for N scenes (rows not chosen keep their predicted values).

    Attributes:
        choice: (N,) int64 index into `PERTURBABLE` of the perturbed parameter (on the
            generator's device).
        ambient, diffuse: (N,) light intensities.
        light_dir: (N, 3) light directions (unit except under ``compat: release``).
        view: (N, 6) views (rx, ry, rz radians; tx, ty, tz).
    """

    choice: torch.Tensor
    ambient: torch.Tensor
    diffuse: torch.Tensor
    light_dir: torch.Tensor
    view: torch.Tensor


def _uniform(
    shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    """U(-1, 1) on the generator's device, moved to ``like``'s device and dtype."""
    u = torch.rand(shape, generator=generator, device=generator.device, dtype=torch.float32)
    return (u * 2 - 1).to(device=like.device, dtype=like.dtype)


def direction_angles(light_dir: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Yaw and pitch (radians) of unit directions l = (cos p sin y, sin p, cos p cos y).

    Args:
        light_dir: (N, 3) unit vectors.

    Returns:
        yaw (N,) = atan2(x, z) and pitch (N,) = asin(y).
    """
    yaw = torch.atan2(light_dir[:, 0], light_dir[:, 2])
    pitch = torch.asin(light_dir[:, 1].clamp(-1.0, 1.0))
    return yaw, pitch


def sample_choice(batch: int, settings: LooccSettings, generator: torch.Generator) -> torch.Tensor:
    """Which parameter to perturb: (batch,) int64 index into `PERTURBABLE`, on the generator's
    device; one draw per sample (``clean``) or one for the whole batch (``release``)."""
    params = settings.params
    if not params:
        raise ValueError("LOOCC variant 'none' perturbs nothing")
    table = torch.tensor([PERTURBABLE.index(p) for p in params], device=generator.device)
    n = 1 if settings.compat == "release" else batch
    pick = torch.randint(len(params), (n,), generator=generator, device=generator.device)
    return table[pick].expand(batch).clone()


def perturb(
    light: torch.Tensor,
    view: torch.Tensor,
    choice: torch.Tensor,
    settings: LooccSettings,
    generator: torch.Generator,
) -> Perturbation:
    """Perturb the light or the view of each scene, as ``choice`` says.

    Offsets are drawn for every row (7 uniforms per row, in a fixed order), so the result
    depends only on the generator's state, not on the choice.

    Args:
        light: (N, 4) predicted light (ambient, diffuse, dx, dy); direction normalise(dx, dy, 1).
        view: (N, 6) predicted view.
        choice: (N,) index into `PERTURBABLE` (any device).
        settings: ranges and compat mode. generator: the source of randomness.

    Returns:
        The perturbed scene's `Perturbation` (``choice`` included, on its own device).
    """
    n = light.shape[0]
    u = _uniform((n, 7), generator, light)  # amb, diff, dir (3), view pitch, view yaw
    is_light = (choice.to(light.device) == PERTURBABLE.index("light"))[:, None]  # (N, 1)
    is_view = (choice.to(light.device) == PERTURBABLE.index("view"))[:, None]
    ambient, diffuse = light[:, 0], light[:, 1]
    direction = light_direction(light[:, 2:])  # (N, 3)
    if settings.compat == "release":
        d_int = RELEASE_INTENSITY_DELTA
        new_amb = ambient + d_int * u[:, 0]
        new_diff = diffuse + d_int * u[:, 1]
        new_dir = direction + RELEASE_DIRECTION_NOISE * u[:, 2:5]
        pitch_step, yaw_step = RELEASE_VIEW_PITCH_RAD, RELEASE_VIEW_YAW_RAD
    else:
        d_int = settings.light_intensity_delta
        new_amb = (ambient + d_int * u[:, 0]).clamp(min=0.0)
        new_diff = (diffuse + d_int * u[:, 1]).clamp(min=0.0)
        yaw, pitch = direction_angles(direction)
        step = math.radians(settings.light_direction_deg)
        yaw, pitch = yaw + step * u[:, 2], pitch + step * u[:, 3]
        new_dir = torch.stack(
            [pitch.cos() * yaw.sin(), pitch.sin(), pitch.cos() * yaw.cos()], dim=1
        )  # (N, 3)
        new_dir = F.normalize(new_dir, dim=1)
        pitch_step = math.radians(settings.view_pitch_deg)
        yaw_step = math.radians(settings.view_yaw_deg)
    offset = torch.zeros_like(view)
    offset[:, 0] = pitch_step * u[:, 5]
    offset[:, 1] = yaw_step * u[:, 6]
    return Perturbation(
        choice=choice,
        ambient=torch.where(is_light[:, 0], new_amb, ambient),
        diffuse=torch.where(is_light[:, 0], new_diff, diffuse),
        light_dir=torch.where(is_light, new_dir, direction),
        view=torch.where(is_view, view + offset, view),
    )


def render_perturbed(
    renderer: Renderer,
    canon_depth: torch.Tensor,
    albedo: torch.Tensor,
    pert: Perturbation,
    canon_normal: torch.Tensor | None = None,
    geometry: Geometry | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render scenes with the perturbed light and view (`Renderer.render_scene`).

    When the unperturbed view's ``geometry`` is given, rows whose view is unchanged (light
    perturbed) are re-lit on it instead of rasterised again (same values, same gradients).

    Args:
        renderer: the model's renderer.
        canon_depth: (N, S, S) canonical depth. albedo: (N, 3, S, S) in [0, 1].
        pert: the perturbed light and view of the N scenes.
        canon_normal: (N, S, S, 3) normals of ``canon_depth`` if already computed.
        geometry: the unperturbed reconstruction's `Geometry` (N rows), or None.

    Returns:
        image (N, 3, S, S) in model space [-1, 1] (not masked) and coverage mask (N, S, S) bool.
    """
    scene = renderer.render_scene(
        canon_depth,
        albedo,
        pert.ambient,
        pert.diffuse,
        pert.light_dir,
        pert.view,
        normal=canon_normal,
        signed=True,
        geometry=geometry,
        reuse=None if geometry is None else pert.choice != PERTURBABLE.index("view"),
    )
    return scene.recon.image, scene.recon.mask


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent (SimCLR) on cosine similarities.

    The 2N items are z1's rows then z2's; each anchor's positive is its twin, its negatives the
    other 2N - 2 items. Loss = mean over the 2N anchors of -log softmax(sim / T)[positive], the
    anchor itself excluded from the softmax.

    Args:
        z1, z2: (N, D) features of the images and of their twins (normalised here).
        temperature: T > 0.

    Returns:
        Scalar loss (0 for N = 1: no negatives).
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D)
    return _contrastive_ce(z @ z.T / temperature)


def supcon_release(
    z1: torch.Tensor,
    z2: torch.Tensor,
    temperature: float,
    base_temperature: float = RELEASE_BASE_TEMPERATURE,
) -> torch.Tensor:
    """The release's loss: SupCon without labels on unnormalised features.

    Equals (temperature / base_temperature) x NT-Xent computed with dot products instead of
    cosine similarities (reference_behaviour.md §4).

    Args:
        z1, z2: (N, D) features (not normalised). temperature, base_temperature: SupCon's.

    Returns:
        Scalar loss.
    """
    z = torch.cat([z1, z2])  # (2N, D)
    return (temperature / base_temperature) * _contrastive_ce(z @ z.T / temperature)


def _contrastive_ce(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (2N, 2N) similarity logits with the diagonal excluded, positives i <-> i+N."""
    n2 = logits.shape[0]
    n = n2 // 2
    eye = torch.eye(n2, dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(eye, float("-inf"))
    target = torch.cat([torch.arange(n, n2), torch.arange(0, n)]).to(logits.device)
    return F.cross_entropy(logits, target)


def loocc_contrastive(
    features: dict[str, torch.Tensor],
    features_aug: dict[str, torch.Tensor],
    choice: torch.Tensor,
    temperature: float,
    compat: str,
) -> torch.Tensor:
    """The leave-one-out contrastive term on given features.

    The batch is split by ``choice``; for subset k (parameter p perturbed) the kept groups are
    `GROUPS` without p, concatenated in `GROUPS` order for both the images and their twins, and
    the contrastive loss runs within the subset. Subset losses are averaged weighted by size.
    Rows of a left-out group (in either dict) are never read, so they get no gradient from here.

    Args:
        features, features_aug: {group: (B, D)} features of the images and of the re-rendered
            images (``features_aug[p]`` may hold anything in rows where p was perturbed, or be
            absent when p is perturbed in every row).
        choice: (B,) index into `PERTURBABLE`.
        temperature: the temperature. compat: ``clean`` (NT-Xent, cosine) or ``release``
            (`supcon_release`).

    Returns:
        Scalar loss.
    """
    loss_fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
    loss_fn = supcon_release if compat == "release" else nt_xent
    batch = choice.shape[0]
    choice_cpu = choice.cpu()
    total: torch.Tensor | None = None
    for index, param in enumerate(PERTURBABLE):
        rows = (choice_cpu == index).nonzero().squeeze(1)
        if rows.numel() == 0:
            continue
        kept = [g for g in GROUPS if g != param]
        rows = rows.to(features[kept[0]].device)
        z1 = torch.cat([features[g][rows] for g in kept], dim=1)  # (n, 3D)
        z2 = torch.cat([features_aug[g][rows] for g in kept], dim=1)  # (n, 3D)
        term = loss_fn(z1, z2, temperature) * (rows.numel() / batch)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("empty batch")
    return total


@dataclass
class LooccResult:
    """The LOOCC term and what it was computed from (for tests and visualisation).

    Attributes:
        loss: scalar (unweighted).
        perturbation: the perturbed light and view (B rows; 2B under ``compat: release``).
        image: (B, 3, S, S) the re-rendered images in [0, 1] (background 0.5).
        features: {group: (B, D)} features of the re-rendered images; rows of a left-out group
            are zeros (not computed).
    """

    loss: torch.Tensor
    perturbation: Perturbation
    image: torch.Tensor
    features: dict[str, torch.Tensor]


def loocc_loss(
    output: InverseRendering,
    renderer: Renderer,
    encode: Callable[[torch.Tensor, Sequence[str]], dict[str, torch.Tensor]],
    settings: LooccSettings,
    generator: torch.Generator,
) -> LooccResult:
    """The LOOCC term for a forward pass: perturb, re-render, re-encode, contrast.

    Args:
        output: the model's forward output for the batch (predicted scene and features).
        renderer: the model's renderer.
        encode: ``encode(images in [-1, 1], groups) -> {group: (n, D)}``, the model's encoders
            only (`unsup3d.model.InverseRenderer.encode`).
        settings: LOOCC settings (must be active). generator: the source of randomness.

    Returns:
        `LooccResult`.
    """
    if not settings.params:
        raise ValueError("LOOCC variant 'none' has no LOOCC term")
    if generator is None:
        raise ValueError("LOOCC needs an explicit torch.Generator")
    depth, albedo = output.canon_depth, output.albedo
    batch = depth.shape[0]
    choice = sample_choice(batch, settings, generator)
    if settings.compat == "release":
        # Both halves of the flipped batch are perturbed independently and rendered; the
        # non-flipped half, masked by both halves' coverage, is re-encoded.
        depth2 = torch.cat([depth, depth.flip(2)])
        albedo2 = torch.cat([albedo, albedo.flip(3)])
        pert = perturb(
            output.light.repeat(2, 1),
            output.view.repeat(2, 1),
            choice.repeat(2),
            settings,
            generator,
        )
        image2, mask2 = render_perturbed(renderer, depth2, albedo2, pert)
        mask = (mask2[:batch] & mask2[batch:]).to(image2.dtype)
        image = image2[:batch] * mask[:, None]
    else:
        pert = perturb(output.light, output.view, choice, settings, generator)
        geometry = Geometry(output.recon_depth, output.recon_covered, output.recon_grid)
        image, mask = render_perturbed(renderer, depth, albedo, pert, output.canon_normal, geometry)
        image = image * mask[:, None].to(image.dtype)  # (B, 3, S, S) model space
    # Encode each group only on the rows where it is kept.
    choice_cpu = choice.cpu()
    features_aug: dict[str, torch.Tensor] = {}
    for group in GROUPS:
        if group in PERTURBABLE:
            rows = (choice_cpu != PERTURBABLE.index(group)).nonzero().squeeze(1)
        else:
            rows = torch.arange(batch)
        if rows.numel() == 0:
            continue
        full = rows.numel() == batch
        rows = rows.to(image.device)
        feats = encode(image if full else image[rows], [group])[group]
        if full:
            features_aug[group] = feats
        else:
            zeros = feats.new_zeros(batch, feats.shape[1])
            features_aug[group] = zeros.index_copy(0, rows, feats)
    loss = loocc_contrastive(
        output.features, features_aug, choice, settings.temperature, settings.compat
    )
    return LooccResult(loss=loss, perturbation=pert, image=(image + 1) / 2, features=features_aug)
