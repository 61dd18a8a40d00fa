"""The inverse renderer: images -> per-parameter features -> scene -> rendered reconstruction.

`InverseRenderer.forward` maps a batch of images in [0, 1] to an `InverseRendering`: the four
256-d features, the predicted scene in physical units (the synthetic data's parametrisation) and
the reconstructions; it computes no loss and keeps no state between calls (the training objective
is `unsup3d.objective.compute_objective`).

Scene parametrisation (the contract with ``unsup3d.data.synthetic``):

- canonical depth (B, S, S) in [min_depth, max_depth] (0.9, 1.1), the two leftmost and rightmost
  columns set to ``border_depth``;
- albedo (B, 3, S, S) in [0, 1] (the release works in [-1, 1]; internally so do we);
- light (B, 4) = (ambient, diffuse, dx, dy), direction normalise(dx, dy, 1);
- view (B, 6) = (rx, ry, rz) radians, (tx, ty, tz) camera units.

The forward pass follows reference_behaviour.md §3: depth = rescaled tanh of the mean-centred raw
map, border columns, the scene and its horizontal mirror rendered together (2B), the pixels covered
in both reconstructions form the (detached) loss mask.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn

from unsup3d.errors import UserError
from unsup3d.networks import (
    PRESETS,
    ConfidenceNet,
    EncoderDecoder,
    ParameterEncoder,
    count_parameters,
)
from unsup3d.renderer import Renderer, light_direction
from unsup3d.schema import SettingError, Settings, setting
from unsup3d.trainable import TrainableModel

GROUPS = ("depth", "albedo", "light", "view")  # feature groups, in concatenation order


@dataclass(frozen=True)
class ModelSettings(Settings):
    """Settings of the PDR inverse renderer (``model.*``; the camera and depth range are the
    `unsup3d.renderer.RendererSettings`, the image size ``data.image_size``).

    ``preset`` ``paper`` has 29,441,536 parameters in depth + albedo + light + view, ``small``
    quarter widths (3,812,608; features stay 256-d): see `unsup3d.networks.PRESETS`.
    """

    name: str = setting("pdr", "model registry name (unsup3d.models.MODELS)")
    preset: Literal["paper", "small", "tiny"] = setting(
        "paper", "network widths: paper (29.4 M params), small (3.8 M, CPU-sized), tiny (tests)"
    )
    encoder: Literal["conv", "unet"] = setting(
        "conv", "depth/albedo down path: conv (release) or unet (for segmentation)"
    )
    unet_width: int = setting(
        64, "encoder unet: base width w, levels w/4..4w (64: 16-256, segmentation's U-Net)", lo=4
    )
    use_conf_map: bool = setting(
        True, "confidence maps weighting the photometric/perceptual losses"
    )
    border_depth: float | None = setting(
        None,
        "depth of the border columns; empty: 0.7 max_depth + 0.3 min_depth (1.04 for 0.9-1.1)",
        lo=0.0,
    )
    border_width: int = setting(2, "canonical columns per side set to border_depth (0: none)", lo=0)
    xyz_rotation_range_deg: float = setting(
        60.0, "bound of the predicted rotations rx, ry, rz, degrees", lo=0.0, hi=180.0
    )
    xy_translation_range: float = setting(0.1, "bound of the view's tx, ty, camera units", lo=0.0)
    z_translation_range: float = setting(
        0.0, "bound of the view's tz (0: no z translation)", lo=0.0
    )
    min_ambient: float = setting(0.0, "lower end of the ambient intensity", lo=0.0)
    max_ambient: float = setting(1.0, "upper end of the ambient intensity", lo=0.0)
    min_diffuse: float = setting(0.0, "lower end of the diffuse intensity", lo=0.0)
    max_diffuse: float = setting(
        1.0, "upper end of the diffuse intensity (release cars 0.5-1)", lo=0.0
    )
    light_dxy_range: float = setting(
        1.0,
        "bound of the light direction offsets |dx|, |dy| (1: up to 45 deg)",
        lo=0.0,
        lo_open=True,
    )

    def validate(self) -> None:
        if self.min_ambient > self.max_ambient:
            raise SettingError(
                "min_ambient",
                f"{self.min_ambient} must be <= 'max_ambient' ({self.max_ambient})",
                related=("max_ambient",),
            )
        if self.min_diffuse > self.max_diffuse:
            raise SettingError(
                "min_diffuse",
                f"{self.min_diffuse} must be <= 'max_diffuse' ({self.max_diffuse})",
                related=("max_diffuse",),
            )


@dataclass
class InverseRendering:
    """Output of `InverseRenderer.forward` (B images of S x S pixels).

    Images are in [0, 1] like the input (``recon_*`` and ``canon_image`` are not clamped:
    albedo x shading may exceed 1); pixels outside ``mask`` are mid-grey 0.5 in the
    reconstructions (the release's 0 in [-1, 1]).

    Attributes:
        features: {"depth", "albedo", "light", "view"} -> (B, zdim) features (zdim 256).
        canon_depth: (B, S, S) canonical depth in [min_depth, max_depth], border columns set.
        canon_depth_no_border: (B, S, S) the same before the border columns (depth smoothness).
        albedo: (B, 3, S, S) canonical albedo in [0, 1].
        light: (B, 4) (ambient, diffuse, dx, dy).
        view: (B, 6) (rx, ry, rz radians; tx, ty, tz).
        light_dir: (B, 3) unit light direction normalise(dx, dy, 1).
        canon_normal: (B, S, S, 3) canonical surface normals.
        canon_shading: (B, 1, S, S) ambient + diffuse max(0, n . l).
        canon_image: (B, 3, S, S) albedo x shading.
        recon_image, recon_image_flip: (B, 3, S, S) the scene and its mirror rendered in the
            input view, masked.
        recon_depth, recon_depth_flip: (B, S, S) their depth in the input view (background at
            the renderer's max depth + margin, 1.2).
        mask: (B, S, S) float, 1 where both reconstructions cover the pixel (detached).
        recon_covered: (B, S, S) bool, pixels the (non-flipped) scene covers.
        recon_grid: (B, S, S, 2) where each input-view pixel samples the canonical image
            (``grid_sample`` frame, align_corners=True); a light-only change re-renders with it.
        conf_pixel: (B, 2, S, S) sigma for the L1 and flipped L1 terms, or None.
        conf_perc: (B, 2, S/4, S/4) sigma for the perceptual terms, or None.
    """

    features: dict[str, torch.Tensor]
    canon_depth: torch.Tensor
    canon_depth_no_border: torch.Tensor
    albedo: torch.Tensor
    light: torch.Tensor
    view: torch.Tensor
    light_dir: torch.Tensor
    canon_normal: torch.Tensor
    canon_shading: torch.Tensor
    canon_image: torch.Tensor
    recon_image: torch.Tensor
    recon_image_flip: torch.Tensor
    recon_depth: torch.Tensor
    recon_depth_flip: torch.Tensor
    mask: torch.Tensor
    recon_covered: torch.Tensor
    recon_grid: torch.Tensor
    conf_pixel: torch.Tensor | None = None
    conf_perc: torch.Tensor | None = None


def _rescale(unit: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Map (-1, 1) to (lo, hi)."""
    return lo + (unit + 1) / 2 * (hi - lo)


class InverseRenderer(TrainableModel):
    """The PDR inverse renderer: depth/albedo encoder-decoders, light/view encoders, confidence.

    Submodules are named by scene parameter: ``depth_net``, ``albedo_net`` (`EncoderDecoder`),
    ``light_net``, ``view_net`` (`ParameterEncoder`), ``conf_net`` (`ConfidenceNet`, only with
    ``use_conf_map``). The renderer is not a module (no parameters).

    Args:
        settings: `ModelSettings`.
        renderer: the `Renderer`; its image size is the model's (>= 16, a multiple of 4).
    """

    Settings = ModelSettings  # the ``model`` config section of this registered model
    feature_groups = GROUPS

    def __init__(self, settings: ModelSettings, renderer: Renderer) -> None:
        super().__init__()
        self.settings = settings
        self.renderer = renderer
        s = self.image_size = renderer.image_size
        if s < 16 or s % 4:
            raise ValueError(f"image_size must be >= 16 and a multiple of 4, got {s}")
        if 2 * settings.border_width >= s:
            raise ValueError(
                f"border_width must be in [0, image_size / 2), got {settings.border_width}"
            )
        w = PRESETS[settings.preset]
        self.zdim = w.zdim
        unet = settings.unet_width
        self.depth_net = EncoderDecoder(
            1, w.nf_depth_albedo, w.zdim, s, settings.encoder, None, unet
        )
        self.albedo_net = EncoderDecoder(
            3, w.nf_depth_albedo, w.zdim, s, settings.encoder, "tanh", unet
        )
        self.light_net = ParameterEncoder(4, w.nf_light_view, w.zdim)
        self.view_net = ParameterEncoder(6, w.nf_light_view, w.zdim)
        self.conf_net = (
            ConfidenceNet(w.nf_confidence, w.zdim_confidence, s) if settings.use_conf_map else None
        )
        lo, hi = renderer.min_depth, renderer.max_depth
        # The one place the border depth is derived from the depth range.
        self.border_depth = (
            settings.border_depth if settings.border_depth is not None else 0.7 * hi + 0.3 * lo
        )

    @classmethod
    def from_config(cls, cfg) -> InverseRenderer:
        """The inverse renderer of a resolved `unsup3d.config.Config` (random init, CPU)."""
        try:
            return cls(cfg.model, Renderer(cfg.data.image_size, cfg.renderer))
        except ValueError as exc:  # a size the networks cannot take: name the config keys
            raise UserError(f"config: data.image_size / model: {exc}") from None

    @property
    def depth_range(self) -> tuple[float, float]:
        """(min_depth, max_depth) of the canonical depth."""
        return self.renderer.min_depth, self.renderer.max_depth

    def nets(self) -> dict[str, nn.Module]:
        """The networks by scene parameter (``confidence`` only with use_conf_map)."""
        nets: dict[str, nn.Module] = {
            "depth": self.depth_net,
            "albedo": self.albedo_net,
            "light": self.light_net,
            "view": self.view_net,
        }
        if self.conf_net is not None:
            nets["confidence"] = self.conf_net
        return nets

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per network, ``paper_total`` (depth+albedo+light+view, the paper's
        29,441,536 for the paper preset) and ``total`` (all, confidence included)."""
        counts = {name: count_parameters(net) for name, net in self.nets().items()}
        counts["paper_total"] = sum(counts[g] for g in GROUPS)
        counts["total"] = count_parameters(self)
        return counts

    # -- encoders only --------------------------------------------------------------------------

    def encode(self, x: torch.Tensor, groups: Sequence[str] = GROUPS) -> dict[str, torch.Tensor]:
        """Features of images already in model space [-1, 1], running only the encoders.

        Args:
            x: (B, 3, S, S) in [-1, 1]. groups: subset of ``depth, albedo, light, view``.

        Returns:
            {group: (B, zdim)}.
        """
        unknown = [g for g in groups if g not in GROUPS]
        if unknown:
            raise ValueError(f"unknown feature groups {unknown}; choose from {list(GROUPS)}")
        nets = self.nets()
        return {g: nets[g].encoder(x) for g in groups}

    def get_features(
        self, images: torch.Tensor, groups: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Features for extraction: the same tensors as ``forward(images).features``.

        Args:
            images: (B, 3, S, S) in [0, 1]. groups: which of ``depth, albedo, light, view``
                (default: all four).

        Returns:
            {group: (B, zdim)}; only the requested encoders run (no decoders, no renderer).
        """
        self._check_images(images)
        return self.encode(images * 2 - 1, GROUPS if groups is None else groups)

    # -- scene decoding ---------------------------------------------------------------------------

    def _depth(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw (B, S, S) -> canonical depth without and with the border columns."""
        lo, hi = self.depth_range
        raw = raw - raw.mean(dim=(1, 2), keepdim=True)
        depth = _rescale(torch.tanh(raw), lo, hi)
        k = self.settings.border_width
        if k == 0:
            return depth, depth
        cols = torch.zeros(depth.shape[-1], dtype=torch.bool, device=depth.device)
        cols[:k] = True
        cols[-k:] = True
        return depth, torch.where(cols, torch.full_like(depth, self.border_depth), depth)

    def _light(self, unit: torch.Tensor) -> torch.Tensor:
        """(B, 4) in (-1, 1) -> (ambient, diffuse, dx, dy)."""
        st = self.settings
        ambient = _rescale(unit[:, :1], st.min_ambient, st.max_ambient)
        diffuse = _rescale(unit[:, 1:2], st.min_diffuse, st.max_diffuse)
        return torch.cat([ambient, diffuse, unit[:, 2:] * st.light_dxy_range], dim=1)

    def _view(self, unit: torch.Tensor) -> torch.Tensor:
        """(B, 6) in (-1, 1) -> (rx, ry, rz radians; tx, ty, tz)."""
        st = self.settings
        scale = unit.new_tensor(
            [math.radians(st.xyz_rotation_range_deg)] * 3
            + [st.xy_translation_range] * 2
            + [st.z_translation_range]
        )
        return unit * scale

    def forward(self, images: torch.Tensor) -> InverseRendering:
        """Predict the scene of each image and render it back.

        Args:
            images: (B, 3, S, S) in [0, 1].

        Returns:
            `InverseRendering`.
        """
        self._check_images(images)
        x = images * 2 - 1  # model space, as the release
        raw_depth, f_depth = self.depth_net(x)
        albedo_m, f_albedo = self.albedo_net(x)
        light_unit, f_light = self.light_net(x)
        view_unit, f_view = self.view_net(x)
        depth_free, depth = self._depth(raw_depth[:, 0])
        albedo = (albedo_m + 1) / 2  # (B, 3, S, S) in [0, 1]
        light, view = self._light(light_unit), self._view(view_unit)
        conf_pixel = conf_perc = None
        if self.conf_net is not None:
            conf_pixel, conf_perc = self.conf_net(x)

        features = {"depth": f_depth, "albedo": f_albedo, "light": f_light, "view": f_view}
        return self.render(depth, albedo, light, view, features, depth_free, conf_pixel, conf_perc)

    def render(
        self,
        depth: torch.Tensor,
        albedo: torch.Tensor,
        light: torch.Tensor,
        view: torch.Tensor,
        features: dict[str, torch.Tensor] | None = None,
        depth_no_border: torch.Tensor | None = None,
        conf_pixel: torch.Tensor | None = None,
        conf_perc: torch.Tensor | None = None,
    ) -> InverseRendering:
        """Render a scene and its horizontal mirror as the model does (the second half of
        `forward`, also usable on a given scene, e.g. a synthetic image's ground truth).

        Args:
            depth: (B, S, S) canonical depth. albedo: (B, 3, S, S) in [0, 1].
            light: (B, 4) (ambient, diffuse, dx, dy). view: (B, 6).
            features, depth_no_border, conf_pixel, conf_perc: passed through to the output
                (``depth_no_border`` defaults to ``depth``).

        Returns:
            `InverseRendering`.
        """
        b = depth.shape[0]
        # The scene and its horizontal mirror, rendered together: (2B, ...).
        depth2 = torch.cat([depth, depth.flip(2)])
        albedo2 = torch.cat([albedo, albedo.flip(3)])
        light2, view2 = light.repeat(2, 1), view.repeat(2, 1)
        light_dir2 = light_direction(light2[:, 2:])
        scene = self.renderer.render_scene(
            depth2, albedo2, light2[:, 0], light2[:, 1], light_dir2, view2, signed=True
        )
        normal2, shading2, canon2, rec = scene.normal, scene.shading, scene.canon_image, scene.recon
        mask = (rec.mask[:b] & rec.mask[b:]).to(rec.image.dtype)  # (B, S, S), no gradient
        recon2 = (rec.image * mask.repeat(2, 1, 1)[:, None] + 1) / 2  # masked: 0.5
        return InverseRendering(
            features=features or {},
            canon_depth=depth,
            canon_depth_no_border=depth if depth_no_border is None else depth_no_border,
            albedo=albedo,
            light=light,
            view=view,
            light_dir=light_dir2[:b],
            canon_normal=normal2[:b],
            canon_shading=shading2[:b],
            canon_image=canon2[:b],
            recon_image=recon2[:b],
            recon_image_flip=recon2[b:],
            recon_depth=rec.depth[:b],
            recon_depth_flip=rec.depth[b:],
            mask=mask,
            recon_covered=rec.mask[:b],
            recon_grid=rec.grid[:b],
            conf_pixel=conf_pixel,
            conf_perc=conf_perc,
        )
