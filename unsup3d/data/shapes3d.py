"""3DShapes (``3dshapes.h5``) with its ground-truth factors, read lazily with h5py.

File: ``<root>/3dshapes.h5`` (or ``<root>`` is the file). Datasets: ``images`` (uint8 (480,000,
64, 64, 3)) and ``labels`` (float64 (480,000, 6): floor hue, wall hue, object hue, scale, shape,
orientation values). Images are read one at a time (the file is opened once per process, so
DataLoader workers each get their own handle); the labels (23 MB) are read at build time. h5py
is imported only when a 3DShapes file is read, so the other datasets do not need it.

Factors: the index of each label value among that column's sorted distinct values, which for the
released file is the grid index (10, 10, 10, 8, 4, 15), as FDAE's grid order. Without a
``labels`` dataset (gdrae reads only ``images``) the factors come from the grid order of
``factor_sizes``. Splits: ``all`` or a seeded 80/10/10 ``train``/``val``/``test``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from unsup3d.data.base import FactorFileDataset, GridFile
from unsup3d.errors import UserError

FILE_NAME = "3dshapes.h5"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)


def _h5py(path: Path) -> Any:
    """The h5py module, imported on first use (only 3DShapes needs it)."""
    try:
        import h5py
    except ImportError as exc:
        raise UserError(f"{path}: reading HDF5 files needs h5py; pip install h5py") from exc
    return h5py


def values_to_indices(values: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Per column, the rank of each value among the column's distinct values."""
    cols, sizes = [], []
    for k in range(values.shape[1]):
        uniq, inverse = np.unique(values[:, k], return_inverse=True)
        cols.append(inverse.reshape(-1))
        sizes.append(len(uniq))
    return np.stack(cols, axis=1).astype(np.int64), tuple(sizes)


class Shapes3D(FactorFileDataset):
    """3DShapes images with factor indices (``factors`` and one label per factor).

    ``root`` is ``3dshapes.h5`` or its folder; ``factor_sizes`` is the grid used when the file
    has no ``labels``. Options: `FactorFileDataset`'s.
    """

    factor_names = FACTOR_NAMES
    grid_file = GridFile(FILE_NAME, "*.h5", f"3DShapes' {FILE_NAME}", FACTOR_SIZES, "'labels'")

    def _read(self, path: Path) -> int:
        h5py = _h5py(path)
        self.path = path
        self._h5: Any = None  # an h5py.File, opened by the first item read in this process
        try:
            with h5py.File(path, "r") as h5:
                keys = sorted(h5.keys())
                if "images" not in keys:
                    raise UserError(
                        f"{path}: no 'images' dataset (keys: {', '.join(keys) or 'none'}); expected "
                        "3DShapes' 3dshapes.h5 with datasets images and labels"
                    )
                shape = h5["images"].shape
                labels = np.asarray(h5["labels"]) if "labels" in keys else None
        except OSError as exc:
            raise UserError(
                f"{path}: not a readable HDF5 file ({exc}); expected 3dshapes.h5"
            ) from exc
        if len(shape) != 4 or shape[-1] != 3:
            raise UserError(f"{path}: 'images' has shape {shape}; expected (N, H, W, 3)")
        n = shape[0]
        if labels is not None:
            labels = labels.reshape(n, -1) if labels.size == n * len(FACTOR_NAMES) else labels
            if labels.shape != (n, len(FACTOR_NAMES)):
                raise UserError(
                    f"{path}: 'labels' has shape {labels.shape}; expected ({n}, 6) factor values"
                )
            self.factors, self.factor_sizes = values_to_indices(labels)
            self.factor_values = labels
        return n

    def _array(self, i: int) -> np.ndarray:
        if self._h5 is None:
            self._h5 = _h5py(self.path).File(self.path, "r")
        return np.asarray(self._h5["images"][i])  # (H, W, 3) uint8

    def __getstate__(self) -> dict[str, Any]:
        # h5py handles cannot be pickled into DataLoader workers; each process opens its own.
        state = self.__dict__.copy()
        state["_h5"] = None
        return state
