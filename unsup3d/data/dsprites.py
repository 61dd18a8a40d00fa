"""dSprites (``.npz``) with its ground-truth factor grid, read as gdrae does.

File: ``<root>/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (or ``<root>`` is the file; any
single ``*.npz`` in ``<root>`` works). Keys: ``imgs`` (uint8 (737,280, 64, 64), values 0/1) and,
in the released file, ``latents_classes`` (int64 (N, 6): colour, shape, scale, orientation, x, y).
The file was written by Python 2, so it is opened with ``encoding='latin1'``; its pickled
``metadata`` is never read (no unpickling).

Factors (colour dropped, as gdrae): shape (3), scale (6), orientation (40), pos_x (32), pos_y (32),
from ``latents_classes`` when present, else from the grid order (C order of ``factor_sizes``).
Images are grey (0 → black, 1 → white), repeated to 3 channels and resized to S.
Splits: ``all`` (the paper's protocol) or a seeded 80/10/10 ``train``/``val``/``test``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from unsup3d.data.base import ArrayImageDataset, check_factor_sizes, grid_factors, require_file
from unsup3d.data.npz import load_npz_array, require_npz_key
from unsup3d.errors import UserError

FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)


def find_data_file(root: str | os.PathLike, name: str, pattern: str, what: str) -> Path:
    """``root`` itself if a file, else ``root/name``, else the only ``pattern`` match in root."""
    root = Path(root)
    if root.is_file():
        return root
    if (root / name).is_file():
        return root / name
    if root.is_dir():
        found = sorted(root.glob(pattern))
        if len(found) == 1:
            return found[0]
    return require_file(root / name, f"put {what} there")


class DSprites(ArrayImageDataset):
    """dSprites images with factor indices (``factors`` and one label per factor).

    Args:
        root: the ``.npz`` file or its folder.
        split: ``all``, ``train``, ``val`` or ``test``.
        image_size: output size S (pixels); 64 is the native size.
        factor_sizes: grid used when the file has no ``latents_classes`` (default the release's).
        split_seed: seed of the train/val/test partition.
        **common: crop, train, hflip, fraction, strict (see `unsup3d.data.base`).
    """

    factor_names = FACTOR_NAMES

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "all",
        image_size: int = 64,
        *,
        factor_sizes: tuple[int, ...] | list[int] = FACTOR_SIZES,
        split_seed: int = 0,
        **common: Any,
    ) -> None:
        super().__init__(root, split, image_size, **common)
        path = find_data_file(root, FILE_NAME, "*.npz", f"dSprites' {FILE_NAME}")
        self.source = path
        keys = require_npz_key(
            path, "imgs", f"dSprites' {FILE_NAME} with keys imgs and latents_classes"
        )
        self.images = load_npz_array(path, "imgs")  # (N, H, W) 0/1
        if self.images.ndim != 3:
            raise UserError(f"{path}: 'imgs' has shape {self.images.shape}; expected (N, H, W)")
        n = self.images.shape[0]
        if "latents_classes" in keys:
            classes = np.asarray(load_npz_array(path, "latents_classes", mmap=False))
            if classes.shape != (n, 6):
                raise UserError(
                    f"{path}: 'latents_classes' has shape {classes.shape}; expected ({n}, 6) "
                    "(colour, shape, scale, orientation, x, y)"
                )
            self.factors = classes[:, 1:].astype(np.int64)
            self.factor_sizes = tuple(int(v) for v in self.factors.max(axis=0) + 1)
        else:
            sizes = check_factor_sizes(factor_sizes, len(FACTOR_NAMES))
            if int(np.prod(sizes)) != n:
                raise UserError(
                    f"{path}: {n} images but the factor grid {list(sizes)} has {int(np.prod(sizes))}; "
                    "without latents_classes the file must hold the full grid in C order"
                )
            self.factors = grid_factors(sizes)
            self.factor_sizes = sizes
        probe = np.linspace(0, n - 1, num=min(n, 256)).astype(np.int64)  # a spread sample
        self._scale = 255 if int(np.asarray(self.images[probe]).max(initial=0)) <= 1 else 1
        self._select(n, split, split_seed, f"{path} holds no images")

    def _array(self, i: int) -> np.ndarray:
        return (np.asarray(self.images[i]) * self._scale).astype(np.uint8)  # (H, W)
