"""The synthetic datasets: `SyntheticDataset` (lazy, deterministic, batched), its builders and splits.

Every image is a pure function of (dataset seed, split, index): the scene parameters come from
the counter-based streams of `unsup3d.data.synthetic.rng`, the canonical maps from the face or
car model, and the image from `Renderer.render_scene`, as the inverse renderer assumes
(reference_behaviour.md §3):

    canonical depth (B, S, S) in [0.9, 1.1], left-right symmetric
    canonical albedo (B, 3, S, S) in [0, 1], symmetric before the asymmetric nuisances
    shading = ambient + diffuse * max(0, n . l), l = normalise(dx, dy, 1)
    canonical image = albedo * shading
    image = the canonical image warped to the view, background where uncovered
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from unsup3d.data.settings import DEFAULTS
from unsup3d.data.synthetic.cars import CarModel
from unsup3d.data.synthetic.faces import FaceModel
from unsup3d.data.synthetic.rng import Draws, stream_key, uniforms
from unsup3d.data.synthetic.scene import (
    RANGES,
    Ranges,
    SceneParams,
    sample_light,
    sample_view,
)
from unsup3d.errors import UserError
from unsup3d.renderer import Renderer, light_direction

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

# Nuisance layout: background colour (3), background texture (3 x 4 x 4 low-resolution grid),
# albedo-noise tile, row shift, column shift.
_TEX = 4
_NUISANCE_SIZE = 3 + 3 * _TEX * _TEX + 3
_NOISE_TILES = 16

_MODELS = {"synthetic_faces": FaceModel, "synthetic_cars": CarModel}


@lru_cache(maxsize=8)
def _noise_bank(seed: int, size: int) -> torch.Tensor:
    """(tiles, S, S) unit Gaussian noise, a pure function of (seed, S)."""
    gen = torch.Generator().manual_seed(int(stream_key(seed, "noise-bank", size)) & (2**63 - 1))
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
        name: str = DEFAULTS.name,
        split: str = "train",
        image_size: int = DEFAULTS.image_size,
        seed: int = DEFAULTS.dataset_seed,
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
        d_id = Draws(
            uniforms(stream_key(self.seed, m.name, "identity", self.pool), local, m.identity_slots)
        )
        shape, albedo, id_cat = m.sample_identity(d_id, torch.from_numpy(local))
        if self.split == "tracks":
            # A track holds one emotion and a base light and view; frames jitter around them.
            base = Draws(
                uniforms(stream_key(self.seed, m.name, "track", self.pool), track, m.image_slots)
            )
            light = sample_light(base, False, r)
            view = sample_view(base, False, r)
            category, expression = m.sample_expression(base, id_cat)
            jit = Draws(
                uniforms(stream_key(self.seed, m.name, "image", self.split), idx, m.image_slots)
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
            d_img = Draws(
                uniforms(stream_key(self.seed, m.name, "image", self.split), idx, m.image_slots)
            )
            light = sample_light(d_img, self.split in ("ood", "ood_light"), r)
            view = sample_view(d_img, self.split in ("ood", "ood_view"), r)
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


def synthetic_faces(
    split: str = "train", image_size: int = DEFAULTS.image_size, **options: Any
) -> SyntheticDataset:
    """Synthetic faces (`SyntheticDataset` with ``name="synthetic_faces"``; options there)."""
    return SyntheticDataset("synthetic_faces", split, image_size, **options)


def synthetic_cars(
    split: str = "train", image_size: int = DEFAULTS.image_size, **options: Any
) -> SyntheticDataset:
    """Synthetic cars (`SyntheticDataset` with ``name="synthetic_cars"``; options there)."""
    return SyntheticDataset("synthetic_cars", split, image_size, **options)


def build_synthetic(
    name: str, split: str = "train", image_size: int = DEFAULTS.image_size, **kwargs: Any
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


def synthetic_factory(name: str) -> Callable[..., SyntheticDataset]:
    """The registry factory of ``name``, as `unsup3d.data.registry.DATASETS` lists it.

    Args:
        name: ``synthetic_faces`` or ``synthetic_cars``.

    Returns:
        ``factory(root, split, image_size, *, seed, num_images, ..., keys)`` building a
        `SyntheticDataset`: its keyword options are `SyntheticDataset`'s (the signature says so,
        for the registry's option check; the defaults are defined there only), and ``root`` must
        be empty (the data is generated).
    """

    def factory(
        root: str | os.PathLike | None, split: str, image_size: int, **options: Any
    ) -> SyntheticDataset:
        if root not in (None, ""):
            raise UserError(
                f"data.root {str(root)!r}: {name} is generated, not read from disk; leave root "
                "empty, or read a materialized copy with name image_folder / celeba / "
                "celebamask_hq / face_tracks (docs/synthetic.md)"
            )
        return SyntheticDataset(name, split, image_size, **options)

    own = list(inspect.signature(SyntheticDataset).parameters.values())[3:]  # after image_size
    positional = [
        inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for p in ("root", "split", "image_size")
    ]
    options = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    factory.__signature__ = inspect.Signature(positional + options)
    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (
        f"Registry factory of ``{name}`` (`SyntheticDataset`); ``root`` must be empty."
    )
    return factory
