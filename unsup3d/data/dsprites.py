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

from pathlib import Path

import numpy as np

from unsup3d.data.base import FactorFileDataset, GridFile
from unsup3d.data.npz import load_npz_array, require_npz_key
from unsup3d.errors import UserError

FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)


class DSprites(FactorFileDataset):
    """dSprites images with factor indices (``factors`` and one label per factor).

    ``root`` is the ``.npz`` file or its folder; ``factor_sizes`` is the grid used when the file
    has no ``latents_classes``. Options: `FactorFileDataset`'s.
    """

    factor_names = FACTOR_NAMES
    grid_file = GridFile(
        FILE_NAME, "*.npz", f"dSprites' {FILE_NAME}", FACTOR_SIZES, "latents_classes"
    )

    def _read(self, path: Path) -> int:
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
        probe = np.linspace(0, n - 1, num=min(n, 256)).astype(np.int64)  # a spread sample
        self._scale = 255 if int(np.asarray(self.images[probe]).max(initial=0)) <= 1 else 1
        return n

    def _array(self, i: int) -> np.ndarray:
        return (np.asarray(self.images[i]) * self._scale).astype(np.uint8)  # (H, W)
