"""Labelled images for segmentation: a registry dataset's split, loaded into memory as tensors.

Any dataset of the registry (`unsup3d.api.build_dataset`) whose items carry a ``mask`` works:
``synthetic_faces`` (part masks in CelebAMask-HQ's class ids; its train and test splits have
disjoint identities) and ``celebamask_hq`` (``<root>/{train,test}_images`` + ``_masks``, masks
resized with nearest). No flips: a flip would have to swap the left/right classes.

A split is held as ``images`` uint8 (N, 3, S, S) and ``masks`` uint8 (N, S, S) (class ids, 255 =
ignore): 64 px images take 12 KiB each, so the paper's 24,127 training images fit in 300 MiB.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Subset

from segmentation.metrics import IGNORE_INDEX
from unsup3d.api import DATASETS, UserError, build_dataset, iterate_batches

log = logging.getLogger(__name__)

ALIASES = {"celebamask": "celebamask_hq"}  # the and the paper README's spelling


@dataclass
class SegmentationSplit:
    """One split in memory.

    Attributes:
        images: (N, 3, S, S) uint8 RGB. masks: (N, S, S) uint8 class ids (255 = ignore).
        image_ids: N ids as the dataset names them. identities: (N,) int64 or None.
        class_names: the C class names, indexed by class id. source: "<dataset>/<split>".
    """

    images: torch.Tensor
    masks: torch.Tensor
    image_ids: list[str]
    identities: np.ndarray | None
    class_names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def dataset_name(name: str) -> str:
    """The registry name of ``--data`` (``celebamask`` is ``celebamask_hq``)."""
    name = ALIASES.get(name, name)
    if name not in DATASETS:
        raise UserError(
            f"--data {name}: unknown dataset; use synthetic_faces or celebamask_hq "
            f"(any of {', '.join(sorted(DATASETS))} with masks)"
        )
    return name


def open_split(name: str, root: str | None, split: str, image_size: int):
    """Build a registry dataset's split for segmentation (no augmentation, masks required)."""
    name = dataset_name(name)
    options = (
        {"keys": ("image", "mask", "labels", "image_id")} if name.startswith("synthetic") else {}
    )
    if not name.startswith("synthetic"):
        options.update(train=False, hflip=False)
    dataset = build_dataset(name, root or "", split, image_size, **options)
    classes = getattr(dataset, "mask_classes", None) or getattr(dataset, "part_names", None)
    if not classes:
        raise UserError(
            f"--data {name}: its items have no part masks; use synthetic_faces or celebamask_hq"
        )
    return dataset, tuple(classes)


def draw_subset(n_available: int, n: int | None, seed: int) -> np.ndarray:
    """``n`` distinct indices of ``range(n_available)`` drawn with ``seed`` (None: all), sorted.

    Raises:
        UserError: ``n`` exceeds what the split has.
    """
    if n is None or n == n_available:
        return np.arange(n_available)
    if n > n_available:
        raise UserError(f"--num_train {n}: the training split has only {n_available} images")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_available, size=n, replace=False))


def load_split(
    dataset,
    class_names: tuple[str, ...],
    indices: np.ndarray,
    source: str,
    batch_size: int = 64,
    num_workers: int = 0,
) -> SegmentationSplit:
    """Read the items ``indices`` of a dataset into memory and check their class ids.

    Raises:
        UserError: a mask value outside [0, C) other than 255, naming the image and the value.
    """
    images, masks, ids, identities = [], [], [], []
    subset = Subset(dataset, [int(i) for i in indices])
    for batch in iterate_batches(subset, batch_size, num_workers):
        images.append((batch["image"] * 255).round().clamp(0, 255).to(torch.uint8))
        mask = batch["mask"]
        bad = ((mask < 0) | (mask >= len(class_names))) & (mask != IGNORE_INDEX)
        if bad.any():
            i = int(bad.flatten(1).any(1).nonzero()[0])
            raise UserError(
                f"{source}: mask of image {batch['image_id'][i]} has class id "
                f"{int(mask[i][bad[i]][0])} outside 0..{len(class_names) - 1}; "
                f"use class ids (or {IGNORE_INDEX} = ignore)"
            )
        masks.append(mask.to(torch.uint8))
        ids += list(batch["image_id"])
        if "identity" in batch.get("labels", {}):
            identities.append(batch["labels"]["identity"].numpy())
    if not ids:
        raise UserError(f"{source}: no images")
    return SegmentationSplit(
        images=torch.cat(images),
        masks=torch.cat(masks),
        image_ids=ids,
        identities=np.concatenate(identities) if identities else None,
        class_names=class_names,
        source=source,
    )
