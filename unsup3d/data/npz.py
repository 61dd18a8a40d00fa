"""Reading one array out of a ``.npz`` without unpickling, memory-mapped when it is stored raw.

`numpy.load` on an ``.npz`` reads a whole member into memory; MPI3D's 5.6 GB ``images`` would need
that much RAM per DataLoader worker. A member stored without compression (``np.savez``) is a
plain ``.npy`` inside the zip, so it can be memory-mapped at its offset; a compressed one
(``np.savez_compressed``, e.g. dSprites) is read into memory once.
"""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from unsup3d.errors import UserError

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zip local file header (30 bytes)


def npz_keys(path: str | os.PathLike) -> list[str]:
    """Array names in an ``.npz`` (without the ``.npy`` suffix); `UserError` if not a zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            return [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(
            f"{path}: not a readable .npz file ({exc}); expected numpy's savez format"
        ) from exc


def require_npz_key(path: str | os.PathLike, key: str, expected: str) -> list[str]:
    """The array names of an ``.npz`` (`npz_keys`), or a `UserError` naming the file, the keys it
    has and ``expected`` (what the file should be) if ``key`` is not among them."""
    keys = npz_keys(path)
    if key not in keys:
        raise UserError(
            f"{path}: no '{key}' array (keys: {', '.join(keys) or 'none'}); expected {expected}"
        )
    return keys


def load_npz_array(path: str | os.PathLike, key: str, mmap: bool = True) -> np.ndarray:
    """One array of an ``.npz``: memory-mapped if stored uncompressed and ``mmap``, else loaded.

    Object arrays are refused (they would need unpickling). ``encoding='latin1'`` is passed as
    for dSprites' Python 2 file, though it only matters for pickled members, which are never read.
    """
    path = Path(path)
    member = f"{key}.npy"
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
        if mmap and info.compress_type == zipfile.ZIP_STORED:
            with open(path, "rb") as fh:
                fh.seek(info.header_offset)
                fields = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
                name_len, extra_len = fields[-2], fields[-1]
                start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
                fh.seek(start)
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                if dtype.hasobject:
                    raise UserError(f"{path}: array '{key}' holds Python objects; expected numbers")
                offset = fh.tell()
            return np.memmap(
                path,
                dtype=dtype,
                mode="r",
                offset=offset,
                shape=shape,
                order="F" if fortran else "C",
            )
    with np.load(path, allow_pickle=False, encoding="latin1") as npz:
        try:
            return npz[key]
        except ValueError as exc:
            raise UserError(
                f"{path}: array '{key}' holds Python objects; expected numbers"
            ) from exc
