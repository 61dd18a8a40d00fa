"""MPI3D real-complex (``.npz``) with its factor grid, as FDAE reads it.

File: ``<root>/real3d_complicated_shapes_ordered.npz`` (or ``<root>`` is the file; any single
``*.npz`` in ``<root>`` works). Key ``images``: uint8 (460,800, 64, 64, 3) in the C order of the
factor grid object_color (4), object_shape (4), object_size (2), camera_height (3),
background_color (3), horizontal_axis (40), vertical_axis (40). The array is memory-mapped when
the member is stored uncompressed (``np.savez``), else read once (5.6 GB).

Splits: ``all`` or a seeded 80/10/10 ``train``/``val``/``test``. ``factor_sizes`` changes the grid
(e.g. for another MPI3D variant whose file is ordered the same way).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from unsup3d.data.base import ArrayImageDataset, check_factor_sizes, grid_factors
from unsup3d.data.dsprites import find_data_file
from unsup3d.data.npz import load_npz_array, require_npz_key
from unsup3d.errors import UserError

FILE_NAME = "real3d_complicated_shapes_ordered.npz"
FACTOR_NAMES = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
FACTOR_SIZES = (4, 4, 2, 3, 3, 40, 40)


class MPI3D(ArrayImageDataset):
    """MPI3D real-complex images with factor indices (``factors`` and one label per factor).

    Args:
        root: the ``.npz`` file or its folder.
        split: ``all``, ``train``, ``val`` or ``test``.
        image_size: output size S (pixels); 64 is the native size.
        factor_sizes: the grid the file is ordered by (default real-complex's).
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
        path = find_data_file(root, FILE_NAME, "*.npz", f"MPI3D's {FILE_NAME}")
        self.source = path
        require_npz_key(path, "images", f"MPI3D's {FILE_NAME} with key images")
        self.images = load_npz_array(path, "images")
        if self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise UserError(
                f"{path}: 'images' has shape {self.images.shape}; expected (N, H, W, 3)"
            )
        sizes = check_factor_sizes(factor_sizes, len(FACTOR_NAMES))
        n = self.images.shape[0]
        if int(np.prod(sizes)) != n:
            raise UserError(
                f"{path}: {n} images but the factor grid {list(sizes)} has {int(np.prod(sizes))}; "
                "the file must hold the full grid in C order (or set factor_sizes)"
            )
        self.factor_sizes = sizes
        self.factors = grid_factors(sizes)
        self._select(n, split, split_seed, f"{path} holds no images")

    def _array(self, i: int) -> np.ndarray:
        return np.asarray(self.images[i])  # (H, W, 3) uint8
