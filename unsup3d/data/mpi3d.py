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

from pathlib import Path

import numpy as np

from unsup3d.data.base import FactorFileDataset, GridFile
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


class MPI3D(FactorFileDataset):
    """MPI3D real-complex images with factor indices (``factors`` and one label per factor).

    ``root`` is the ``.npz`` file or its folder; ``factor_sizes`` is the grid the file is ordered
    by (default real-complex's). Options: `FactorFileDataset`'s.
    """

    factor_names = FACTOR_NAMES
    grid_file = GridFile(FILE_NAME, "*.npz", f"MPI3D's {FILE_NAME}", FACTOR_SIZES)

    def _read(self, path: Path) -> int:
        require_npz_key(path, "images", f"MPI3D's {FILE_NAME} with key images")
        self.images = load_npz_array(path, "images")
        if self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise UserError(
                f"{path}: 'images' has shape {self.images.shape}; expected (N, H, W, 3)"
            )
        return self.images.shape[0]

    def _array(self, i: int) -> np.ndarray:
        return np.asarray(self.images[i])  # (H, W, 3) uint8
