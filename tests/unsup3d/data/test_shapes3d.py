"""3DShapes: lazy HDF5 reads and factor indices from the label values."""

from __future__ import annotations

import pickle
import sys

import h5py
import numpy as np
import pytest
import torch

from unsup3d.data.shapes3d import Shapes3D
from unsup3d.errors import UserError


def test_shapes3d_lazy_h5_and_factor_indices(shapes3d_file, check_factor_item):
    ds = Shapes3D(shapes3d_file.parent, "all", 16)
    assert len(ds) == 16 and ds._h5 is None  # nothing opened until an item is read
    with h5py.File(shapes3d_file) as h5:
        img6 = np.asarray(h5["images"][6])
    item = ds[6]
    check_factor_item(item, 16, 6)
    torch.testing.assert_close(item["image"], torch.from_numpy(img6).permute(2, 0, 1).float() / 255)
    expected = np.stack(
        np.meshgrid([0, 1], [0, 1], [0, 1], [0], [0, 1], [0], indexing="ij"), -1
    ).reshape(16, 6)
    assert item["factors"].tolist() == expected[6].tolist()
    assert ds.factor_sizes == (2, 2, 2, 1, 2, 1)
    clone = pickle.loads(pickle.dumps(ds))  # DataLoader workers get a copy without the handle
    assert clone._h5 is None and torch.equal(clone[6]["image"], item["image"])


def test_shapes3d_wrong_keys(tmp_path):
    path = tmp_path / "3dshapes.h5"
    with h5py.File(path, "w") as h5:
        h5["imgs"] = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(
        UserError, match=r"3dshapes.h5: no 'images' dataset \(keys: imgs\); expected 3DShapes'"
    ):
        Shapes3D(tmp_path, "all", 16)
    path.write_bytes(b"not hdf5")
    with pytest.raises(UserError, match=r"3dshapes.h5: not a readable HDF5 file"):
        Shapes3D(path, "all", 16)


def test_a_missing_h5py_is_a_user_error(shapes3d_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now fails
    with pytest.raises(
        UserError, match=r"3dshapes.h5: reading HDF5 files needs h5py; pip install h5py"
    ):
        Shapes3D(shapes3d_file, "all", 16)
