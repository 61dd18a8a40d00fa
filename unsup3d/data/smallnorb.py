"""SmallNORB with its factors, from the released ``*-dat/cat/info.mat`` files (NORB binary matrices).

Files in ``<root>`` (the release's names, gunzipped)::

    smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat
    smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat

Despite the ``.mat`` suffix these are not MATLAB files but NORB binary matrices: little-endian
int32 magic (0x1E3D4C55 uint8, 0x1E3D4C54 int32, 0x1E3D4C51 float32, 0x1E3D4C53 float64,
0x1E3D4C56 int16), int32 ndim, max(3, ndim) int32 dims (unused ones are 1), then the data in C
order. ``dat``: uint8 (24,300, 2, 96, 96) stereo pairs; ``cat``: int32 (24,300) category;
``info``: int32 (24,300, 4) instance, elevation, azimuth (0, 2, ..., 34), lighting.

As gdrae: only stereo image 0 is used; factors category (5), instance (10), elevation (9),
azimuth (18, = raw / 2), lighting (6); ``all`` joins the training and testing files (48,600
images). ``train``/``test`` are the release's files (24,300 each, instances 4,6,7,8,9 / 0,1,2,3,5).
The ``dat`` arrays are memory-mapped, so nothing is loaded up front.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from unsup3d.data.base import ArrayImageDataset, check_split, require_dir
from unsup3d.data.settings import DEFAULTS
from unsup3d.errors import UserError

MAGIC_DTYPES = {
    0x1E3D4C51: np.dtype("<f4"),
    0x1E3D4C53: np.dtype("<f8"),
    0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C55: np.dtype("u1"),
    0x1E3D4C56: np.dtype("<i2"),
}
FILES = {
    "train": "smallnorb-5x46789x9x18x6x2x96x96-training-{}.mat",
    "test": "smallnorb-5x01235x9x18x6x2x96x96-testing-{}.mat",
}
FACTOR_NAMES = ("category", "instance", "elevation", "azimuth", "lighting")
FACTOR_SIZES = (5, 10, 9, 18, 6)


def read_norb_header(path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...], int]:
    """Parse a NORB binary-matrix header.

    Returns:
        (element dtype, shape, byte offset of the data).

    Raises:
        UserError: unknown magic number, bad ndim, or a file shorter than the header says.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise UserError(
                f"{path}: too short for a NORB matrix header; expected the released smallnorb file"
            )
        magic, ndim = struct.unpack("<ii", head)
        if magic not in MAGIC_DTYPES:
            raise UserError(
                f"{path}: magic number {magic & 0xFFFFFFFF:#010x} is not a NORB matrix type "
                "(0x1e3d4c51..0x1e3d4c56); expected the released (gunzipped) smallnorb-*.mat file"
            )
        if not 0 < ndim <= 16:
            raise UserError(f"{path}: NORB header says {ndim} dimensions; the file is damaged")
        stored = max(3, ndim)
        dims = struct.unpack(f"<{stored}i", fh.read(4 * stored))
    shape = tuple(int(d) for d in dims[:ndim])
    dtype = MAGIC_DTYPES[magic]
    offset = 8 + 4 * stored
    need = offset + int(np.prod(shape)) * dtype.itemsize
    if path.stat().st_size < need:
        raise UserError(
            f"{path}: {path.stat().st_size} bytes but the header {list(shape)} needs {need}; the file is truncated"
        )
    return dtype, shape, offset


def read_norb(path: str | os.PathLike, mmap: bool = False) -> np.ndarray:
    """A NORB binary matrix as an array (memory-mapped read-only if ``mmap``)."""
    dtype, shape, offset = read_norb_header(path)
    if mmap:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    with open(path, "rb") as fh:
        fh.seek(offset)
        return np.fromfile(fh, dtype=dtype, count=int(np.prod(shape))).reshape(shape)


def write_norb(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as a NORB binary matrix (for fixtures and conversions)."""
    array = np.ascontiguousarray(array)
    magic = next((m for m, dt in MAGIC_DTYPES.items() if dt == array.dtype.newbyteorder("<")), None)
    if magic is None:
        raise ValueError(f"NORB has no matrix type for dtype {array.dtype}")
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    with open(path, "wb") as fh:
        fh.write(struct.pack(f"<ii{len(dims)}i", magic, array.ndim, *dims))
        fh.write(array.astype(MAGIC_DTYPES[magic], copy=False).tobytes())


class SmallNORB(ArrayImageDataset):
    """SmallNORB left-camera images with factor indices.

    Args:
        root: folder with the six ``smallnorb-*.mat`` files (only the split's are needed).
        split: ``all`` (both files, as gdrae), ``train`` or ``test`` (the release's files).
        image_size: output size S (pixels); gdrae uses 64 (from 96).
        **common: crop, train, hflip, fraction, strict (see `unsup3d.data.base`).
    """

    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "all",
        image_size: int = DEFAULTS.image_size,
        **common: Any,
    ) -> None:
        super().__init__(root, split, image_size, **common)
        check_split(split, ("all", "train", "test"), "SmallNORB")
        root = require_dir(
            root, "put the six smallnorb-*-{dat,cat,info}.mat files (gunzipped) there"
        )
        parts = ("train", "test") if split == "all" else (split,)
        self._dat: list[np.ndarray] = []
        factors = []
        for part in parts:
            paths = {}
            for kind in ("dat", "cat", "info"):
                paths[kind] = root / FILES[part].format(kind)
                if not paths[kind].is_file():
                    raise UserError(
                        f"{paths[kind]}: file not found; put the released {FILES[part].format(kind)} "
                        "there (gunzip the .gz download)"
                    )
            dat = read_norb(paths["dat"], mmap=True)
            cat = read_norb(paths["cat"]).reshape(-1)
            info = read_norb(paths["info"])
            n = dat.shape[0]
            if dat.ndim != 4 or dat.shape[1] != 2:
                raise UserError(
                    f"{paths['dat']}: shape {dat.shape}; expected (N, 2, H, W) stereo pairs"
                )
            if cat.shape != (n,) or info.shape != (n, 4):
                raise UserError(
                    f"{paths['cat']}: {cat.shape[0]} categories / {paths['info'].name}: {info.shape} "
                    f"for {n} images; expected ({n},) and ({n}, 4) from the same release"
                )
            fac = np.stack([cat, info[:, 0], info[:, 1], info[:, 2] // 2, info[:, 3]], axis=1)
            factors.append(fac.astype(np.int64))
            self._dat.append(dat)
        self.factors = np.concatenate(factors)
        self._offsets = np.cumsum([0] + [d.shape[0] for d in self._dat])
        bad = (self.factors < 0) | (self.factors >= np.asarray(FACTOR_SIZES))
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise UserError(
                f"{root}: item {row} has factors {self.factors[row].tolist()} outside the grid "
                f"{list(FACTOR_SIZES)}; expected the released cat/info files"
            )
        # "all" is the grid protocol; train/test are files, so select every item of them.
        self._select(int(self._offsets[-1]), "all", 0, "the files hold no images")
        self.split = split

    def _array(self, i: int) -> np.ndarray:
        part = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return np.asarray(self._dat[part][i - self._offsets[part], 0])  # (H, W) left camera
