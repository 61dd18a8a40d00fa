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
from typing import Any

import numpy as np
import torch

from unsup3d.data.base import ArrayImageDataset, check_factor_sizes, grid_factors
from unsup3d.data.dsprites import find_data_file
from unsup3d.errors import UserError

FILE_NAME = "basel_face_renders.pth"
FACTOR_NAMES = ("face_id", "azimuth", "elevation", "lighting")
FACTOR_SIZES = (50, 21, 11, 11)
NATIVE_SIZE = 64


class BaselFaces(ArrayImageDataset):
    """Basel face renders with factor indices (``factors`` and one label per factor).

    Args:
        root: ``basel_face_renders.pth`` or its folder.
        split: ``all``, ``train``, ``val`` or ``test``.
        image_size: output size S (pixels); 64 is the native size.
        factor_sizes: the grid the tensor is ordered by (default gdrae's).
        native_size: side of each stored render (gdrae: 64).
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
        native_size: int = NATIVE_SIZE,
        split_seed: int = 0,
        **common: Any,
    ) -> None:
        super().__init__(root, split, image_size, **common)
        path = find_data_file(root, FILE_NAME, "*.pth", f"the Basel face renders' {FILE_NAME}")
        self.source = path
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
        per_image = native_size * native_size
        if data.numel() == 0 or data.numel() % per_image:
            raise UserError(
                f"{path}: tensor of shape {tuple(data.shape)} is not a stack of "
                f"{native_size}×{native_size} renders"
            )
        images = data.reshape(-1, native_size, native_size)  # (N, 64, 64)
        if images.is_floating_point():
            scale = 255.0 if float(images.max()) <= 1.0 else 1.0
            images = (images * scale).round().clamp(0, 255)
        self.images = images.to(torch.uint8).numpy()
        sizes = check_factor_sizes(factor_sizes, len(FACTOR_NAMES))
        n = self.images.shape[0]
        if int(np.prod(sizes)) != n:
            raise UserError(
                f"{path}: {n} renders but the factor grid {list(sizes)} has {int(np.prod(sizes))}; "
                "the tensor must hold the full grid in C order (or set factor_sizes)"
            )
        self.factor_sizes = sizes
        self.factors = grid_factors(sizes)
        self._select(n, split, split_seed, f"{path} holds no renders")

    def _array(self, i: int) -> np.ndarray:
        return self.images[i]  # (H, W) uint8
