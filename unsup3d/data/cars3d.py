"""Cars3D (Reed et al.'s ``car_*_mesh.mat`` renders) with its factor grid, as gdrae/FDAE read it.

Files: ``<root>/car_*_mesh.mat`` (183 MATLAB files, read with `scipy.io.loadmat`), each holding
``im``: uint8 (H, W, 3, 24 azimuths, 4 elevations), H = W = 128. Frame (azimuth a, elevation e) of
object o is item ``o · 96 + a · 4 + e`` (the einsum ``abcde->deabc`` then flatten of
disentanglement_lib, gdrae and FDAE). SciPy's MATLAB reader is imported only when the files are
read.

Factors: elevation (4), azimuth (24), object (183, in sorted file-name order; gdrae used
``os.listdir`` order, which differs between file systems). The sizes are read from the files, so a
subset of objects or views works. All frames are loaded at build time (the references do too) and,
without a crop, resized to S once; gdrae/FDAE thumbnail to 64 with Lanczos, here bilinear with
antialiasing like every other loader. Splits: ``all`` or a seeded 80/10/10 ``train``/``val``/``test``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from unsup3d.data.base import FactorGridDataset, grid_factors, require_dir
from unsup3d.errors import UserError

FACTOR_NAMES = ("elevation", "azimuth", "object")
PATTERN = "car_*_mesh.mat"


def load_mesh_frames(path: Path) -> tuple[np.ndarray, int, int]:
    """``im`` of one file as frames: uint8 (azimuths · elevations, H, W, 3), azimuth-major.

    Returns:
        (frames, number of azimuths, number of elevations).
    """
    try:
        import scipy.io  # only Cars3D reads MATLAB files
    except ImportError as exc:
        raise UserError(f"{path}: reading MATLAB files needs SciPy; pip install scipy") from exc
    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, NotImplementedError, TypeError) as exc:
        raise UserError(
            f"{path}: not a readable MATLAB file ({exc}); expected Cars3D's car_*_mesh.mat"
        ) from exc
    if "im" not in mat:
        keys = sorted(k for k in mat if not k.startswith("__"))
        raise UserError(
            f"{path}: no 'im' array (keys: {', '.join(keys) or 'none'}); expected Cars3D's car_*_mesh.mat"
        )
    im = np.asarray(mat["im"])
    if im.ndim != 5 or im.shape[2] != 3:
        raise UserError(
            f"{path}: 'im' has shape {im.shape}; expected (H, W, 3, azimuths, elevations)"
        )
    frames = np.einsum("abcde->deabc", im)  # (azimuths, elevations, H, W, 3)
    flat = frames.reshape((-1,) + frames.shape[2:]).astype(np.uint8)  # (A·E, H, W, 3)
    return flat, int(im.shape[3]), int(im.shape[4])


class Cars3D(FactorGridDataset):
    """Cars3D frames with factor indices (``factors`` and one label per factor).

    ``root`` is the folder holding the ``car_*_mesh.mat`` files (the references use
    ``image_size`` 64). Options: `FactorGridDataset`'s.
    """

    factor_names = FACTOR_NAMES

    def _load(self, root: Path) -> tuple[int, str]:
        fix = f"put Cars3D's {PATTERN} files (183, from the cars tar) there"
        root = require_dir(root, fix)
        files = sorted(root.glob(PATTERN))
        if not files:
            raise UserError(f"{root}: no {PATTERN} files; {fix}")
        frames, views = [], None
        for path in files:
            data, n_azimuth, n_elevation = load_mesh_frames(path)
            if views is None:
                views = (data.shape, n_azimuth, n_elevation)
            elif (data.shape, n_azimuth, n_elevation) != views:
                raise UserError(
                    f"{path}: 'im' holds {n_azimuth}×{n_elevation} views of {data.shape[1:3]} but "
                    f"{files[0].name} holds {views[1]}×{views[2]} of {views[0][1:3]}; every "
                    "car_*_mesh.mat must have the same views and size"
                )
            if self.crop is None and data.shape[1:3] != (self.image_size, self.image_size):
                size = (self.image_size, self.image_size)
                data = np.stack(
                    [np.asarray(Image.fromarray(f).resize(size, Image.BILINEAR)) for f in data]
                )
            frames.append(data)
        self.frames = np.concatenate(frames)  # (objects · azimuths · elevations, h, w, 3)
        self.files = files
        self.factor_sizes = (n_elevation, n_azimuth, len(files))
        # item o·A·E + a·E + e ↔ (elevation e, azimuth a, object o)
        grid = grid_factors((len(files), n_azimuth, n_elevation))  # (o, a, e) in C order
        self.factors = grid[:, ::-1].copy()  # (e, a, o)
        return len(self.frames), fix

    def _array(self, i: int) -> np.ndarray:
        return self.frames[i]  # (h, w, 3) uint8
