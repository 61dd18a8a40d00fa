"""Basel 3D-face renders (gdrae's "faces": ``basel_face_renders.pth``) with the factor grid.

File: ``<root>/basel_face_renders.pth`` (or ``<root>`` is the file): one tensor, saved with
``torch.save``, of 50 · 21 · 11 · 11 = 127,050 grey 64×64 renders in the C order of the grid
face_id (50), azimuth (21), elevation (11), lighting (11); any shape with that many 64×64 images
works (gdrae reads it with ``.view(-1, 1, 64, 64) / 255``). It is loaded with
``torch.load(weights_only=True)``: a plain tensor loads, a pickled object is refused.

Integer tensors (0..255) are divided by 255 as in gdrae; a floating tensor whose maximum is ≤ 1 is
taken as already in [0, 1]. Splits: ``all`` or a seeded 80/10/10 ``train``/``val``/``test``.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unsup3d.data.base import FactorFileDataset, GridFile
from unsup3d.data.settings import DEFAULTS
from unsup3d.errors import UserError

FILE_NAME = "basel_face_renders.pth"
FACTOR_NAMES = ("face_id", "azimuth", "elevation", "lighting")
FACTOR_SIZES = (50, 21, 11, 11)
NATIVE_SIZE = 64


class BaselFaces(FactorFileDataset):
    """Basel face renders with factor indices (``factors`` and one label per factor).

    Args:
        root: ``basel_face_renders.pth`` or its folder.
        native_size: side of each stored render (gdrae: 64).
        factor_sizes: the grid the tensor is ordered by (default gdrae's).
        split, image_size, split_seed, **common: as `FactorFileDataset`.
    """

    factor_names = FACTOR_NAMES
    grid_file = GridFile(
        FILE_NAME, "*.pth", f"the Basel face renders' {FILE_NAME}", FACTOR_SIZES,
        item_noun="renders", holder="tensor",
    )  # fmt: skip

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "all",
        image_size: int = DEFAULTS.image_size,
        *,
        native_size: int = NATIVE_SIZE,
        **options: Any,
    ) -> None:
        self.native_size = int(native_size)
        super().__init__(root, split, image_size, **options)

    def _read(self, path: Path) -> int:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
            raise UserError(
                f"{path}: cannot load as a plain tensor with weights_only=True ({exc}); expected "
                f"{FILE_NAME}, one saved tensor of renders"
            ) from exc
        if not isinstance(data, torch.Tensor):
            raise UserError(
                f"{path}: holds a {type(data).__name__}, expected one tensor of renders"
            )
        side = self.native_size
        if data.numel() == 0 or data.numel() % (side * side):
            raise UserError(
                f"{path}: tensor of shape {tuple(data.shape)} is not a stack of "
                f"{side}×{side} renders"
            )
        images = data.reshape(-1, side, side)  # (N, 64, 64)
        if images.is_floating_point():
            scale = 255.0 if float(images.max()) <= 1.0 else 1.0
            images = (images * scale).round().clamp(0, 255)
        self.images = images.to(torch.uint8).numpy()
        return self.images.shape[0]

    def _array(self, i: int) -> np.ndarray:
        return self.images[i]  # (H, W) uint8
