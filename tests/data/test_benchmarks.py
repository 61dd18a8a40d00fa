"""Disentanglement benchmarks: dSprites, 3DShapes, Cars3D, SmallNORB, MPI3D, Basel faces."""

from __future__ import annotations

import argparse
import pickle
import sys

import h5py
import numpy as np
import pytest
import scipy.io
import torch

from unsup3d.data.base import grid_factors
from unsup3d.data.cars3d import Cars3D
from unsup3d.data.dsprites import DSprites
from unsup3d.data.faces3d import BaselFaces
from unsup3d.data.mpi3d import MPI3D
from unsup3d.data.npz import load_npz_array
from unsup3d.data.shapes3d import Shapes3D
from unsup3d.data.smallnorb import FILES, SmallNORB, read_norb, read_norb_header, write_norb
from unsup3d.errors import UserError


def _check_factor_item(item, size, k):
    assert item["image"].shape == (3, size, size) and item["image"].dtype == torch.float32
    assert item["factors"].dtype == torch.float32 and item["factors"].shape == (k,)
    assert list(item["labels"].values()) == [int(v) for v in item["factors"]]


# ------------------------------------------------------------------------------------ dSprites
def test_dsprites_images_and_latents_classes(dsprites_file):
    ds = DSprites(dsprites_file.parent, "all", 32)
    assert len(ds) == 16 and ds.factor_names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    imgs = np.load(dsprites_file)["imgs"]
    item = ds[5]
    _check_factor_item(item, 32, 5)
    torch.testing.assert_close(item["image"], torch.from_numpy(imgs[5]).float().expand(3, 32, 32))
    assert item["factors"].tolist() == [0, 1, 0, 1, 0]  # grid index 5 of (2, 2, 2, 2, 1)
    assert item["image_id"] == "5" and ds.factor_sizes == (2, 2, 2, 2, 1)
    assert DSprites(dsprites_file, "all", 16)[0]["image"].shape == (3, 16, 16)


def test_dsprites_grid_order_without_latents(tmp_path):
    path = tmp_path / "d.npz"
    np.savez_compressed(path, imgs=np.zeros((12, 16, 16), np.uint8))
    ds = DSprites(path, "all", 16, factor_sizes=(1, 2, 3, 2, 1))
    assert ds[7]["factors"].tolist() == grid_factors((1, 2, 3, 2, 1))[7].tolist() == [0, 1, 0, 1, 0]
    with pytest.raises(
        UserError, match=r"d.npz: 12 images but the factor grid \[3, 6, 40, 32, 32\] has 737280"
    ):
        DSprites(path, "all", 16)


def test_dsprites_wrong_keys(tmp_path):
    path = tmp_path / "dsprites.npz"
    np.savez(path, images=np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(
        UserError, match=r"dsprites.npz: no 'imgs' array \(keys: images\); expected dSprites'"
    ):
        DSprites(path, "all", 16)
    with pytest.raises(
        UserError, match=r"dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz: file not found"
    ):
        DSprites(tmp_path / "empty_dir_missing", "all", 16)


def test_dsprites_seeded_splits_partition_the_grid(dsprites_file):
    ids = {
        s: {
            DSprites(dsprites_file, s, 16)[i]["image_id"]
            for i in range(len(DSprites(dsprites_file, s, 16)))
        }
        for s in ("train", "val", "test")
    }
    assert sum(len(v) for v in ids.values()) == 16
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"])


def test_npz_member_is_memory_mapped_when_stored(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    np.savez(tmp_path / "x.npz", a=a, b=np.ones(3))
    m = load_npz_array(tmp_path / "x.npz", "a")
    assert isinstance(m, np.memmap) and np.array_equal(m, a)
    np.savez_compressed(tmp_path / "y.npz", a=a)
    assert np.array_equal(load_npz_array(tmp_path / "y.npz", "a"), a)


# ------------------------------------------------------------------------------------ 3DShapes
def test_shapes3d_lazy_h5_and_factor_indices(shapes3d_file):
    ds = Shapes3D(shapes3d_file.parent, "all", 16)
    assert len(ds) == 16 and ds._h5 is None  # nothing opened until an item is read
    with h5py.File(shapes3d_file) as h5:
        img6 = np.asarray(h5["images"][6])
    item = ds[6]
    _check_factor_item(item, 16, 6)
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


# -------------------------------------------------------------------------------------- Cars3D
def test_cars3d_factor_order_matches_the_reference_einsum(cars3d_root):
    ds = Cars3D(cars3d_root, "all", 16)
    assert len(ds) == 2 * 4 * 2 and ds.factor_sizes == (2, 4, 2)
    assert ds.factor_names == ("elevation", "azimuth", "object")
    for i in range(len(ds)):
        item = ds[i]
        _check_factor_item(item, 16, 3)
        elevation, azimuth, obj = (int(v) for v in item["factors"])
        pixel = (item["image"][:, 8, 8] * 255).round().tolist()
        assert pixel == [40 * azimuth, 100 * elevation, 200 * obj]
    # item index o·A·E + a·E + e (disentanglement_lib's all_factors rows)
    assert ds[1 * 8 + 3 * 2 + 1]["factors"].tolist() == [1, 3, 1]


def test_cars3d_errors(tmp_path, cars3d_root):
    (tmp_path / "none").mkdir()
    with pytest.raises(UserError, match=r"none: no car_\*_mesh.mat files; put Cars3D's"):
        Cars3D(tmp_path / "none", "all", 16)
    scipy.io.savemat(cars3d_root / "car_003_mesh.mat", {"img": np.zeros((4, 4, 3, 4, 2), np.uint8)})
    with pytest.raises(UserError, match=r"car_003_mesh.mat: no 'im' array \(keys: img\)"):
        Cars3D(cars3d_root, "all", 16)


# ----------------------------------------------------------------------------------- SmallNORB
def test_norb_binary_matrix_round_trip_and_header(tmp_path):
    for arr in (
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.arange(5, dtype=np.int32),
        np.ones((3, 4), np.int32),
    ):
        write_norb(tmp_path / "m.mat", arr)
        dtype, shape, offset = read_norb_header(tmp_path / "m.mat")
        assert shape == arr.shape and dtype == arr.dtype and offset == 8 + 4 * max(3, arr.ndim)
        assert np.array_equal(read_norb(tmp_path / "m.mat"), arr)
    head = (tmp_path / "m.mat").read_bytes()[:4]
    assert int.from_bytes(head, "little") == 0x1E3D4C54  # int32 matrix
    (tmp_path / "m.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    with pytest.raises(UserError, match=r"m.mat: magic number 0x.* is not a NORB matrix type"):
        read_norb_header(tmp_path / "m.mat")


def test_smallnorb_factors_left_camera_and_splits(smallnorb_root):
    ds = SmallNORB(smallnorb_root, "all", 16)
    assert len(ds) == 16 and ds.factor_names == (
        "category",
        "instance",
        "elevation",
        "azimuth",
        "lighting",
    )
    for i in (0, 5, 8, 15):
        item = ds[i]
        _check_factor_item(item, 16, 5)
        assert float(item["image"].max()) == pytest.approx(i * 10 / 255)  # left camera (0), not 255
    assert ds[10]["factors"].tolist() == [
        0,
        5,
        2,
        2,
        2,
    ]  # testing item 2: cat 10%5, info (5, 2, 4//2, 2)
    assert len(SmallNORB(smallnorb_root, "test", 16)) == 8
    with pytest.raises(UserError, match=r"split 'val': SmallNORB has no such split"):
        SmallNORB(smallnorb_root, "val", 16)


def test_smallnorb_missing_and_truncated_files(smallnorb_root):
    dat = smallnorb_root / FILES["test"].format("dat")
    dat.write_bytes(dat.read_bytes()[:100])
    with pytest.raises(
        UserError, match=r"testing-dat.mat: 100 bytes but the header \[8, 2, 24, 24\] needs"
    ):
        SmallNORB(smallnorb_root, "test", 16)
    (smallnorb_root / FILES["train"].format("info")).unlink()
    with pytest.raises(UserError, match=r"training-info.mat: file not found; put the released"):
        SmallNORB(smallnorb_root, "train", 16)


# --------------------------------------------------------------------------------------- MPI3D
def test_mpi3d_grid_order(mpi3d_file, make):
    ds = MPI3D(mpi3d_file, "all", 16, factor_sizes=make.mpi3d_sizes)
    assert len(ds) == 16 and isinstance(ds.images, np.memmap)
    item = ds[13]
    _check_factor_item(item, 16, 7)
    assert (
        item["factors"].tolist()
        == grid_factors(make.mpi3d_sizes)[13].tolist()
        == [1, 1, 0, 0, 0, 1, 0]
    )
    assert round(float(item["image"][0, 0, 0]) * 255) == 13 * 15
    with pytest.raises(
        UserError, match=r"16 images but the factor grid \[4, 4, 2, 3, 3, 40, 40\] has 460800"
    ):
        MPI3D(mpi3d_file.parent, "all", 16)
    np.savez(mpi3d_file, imgs=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(UserError, match=r"no 'images' array \(keys: imgs\); expected MPI3D's"):
        MPI3D(mpi3d_file, "all", 16)


# ---------------------------------------------------------------------------------- Basel faces
def test_basel_faces_plain_tensor(faces_file, make):
    ds = BaselFaces(faces_file.parent, "all", 16, factor_sizes=make.faces_sizes, native_size=16)
    assert len(ds) == 16
    item = ds[11]
    _check_factor_item(item, 16, 4)
    assert item["factors"].tolist() == [1, 0, 1, 1]
    assert round(float(item["image"][1, 3, 3]) * 255) == 11 * 16


def test_basel_faces_refuses_pickled_objects(tmp_path):
    path = tmp_path / "basel_face_renders.pth"
    torch.save({"renders": torch.zeros(2, 16, 16)}, path)
    with pytest.raises(UserError, match=r"holds a dict, expected one tensor of renders"):
        BaselFaces(path, "all", 16, native_size=16, factor_sizes=(2, 1, 1, 1))
    torch.save(argparse.Namespace(renders=1), path)  # unpickling it would run arbitrary code
    with pytest.raises(UserError, match=r"cannot load as a plain tensor with weights_only=True"):
        BaselFaces(path, "all", 16)


def test_a_missing_optional_reader_is_a_user_error(shapes3d_file, cars3d_root, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now fails
    with pytest.raises(
        UserError, match=r"3dshapes.h5: reading HDF5 files needs h5py; pip install h5py"
    ):
        Shapes3D(shapes3d_file, "all", 16)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(UserError, match=r"car_001_mesh.mat: reading MATLAB .*; pip install scipy"):
        Cars3D(cars3d_root, "all", 16)
