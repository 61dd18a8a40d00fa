"""SmallNORB: NORB binary matrices, the left camera, the release's splits."""

from __future__ import annotations

import numpy as np
import pytest

from unsup3d.data.smallnorb import FILES, SmallNORB, read_norb, read_norb_header, write_norb
from unsup3d.errors import UserError


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


def test_smallnorb_factors_left_camera_and_splits(smallnorb_root, check_factor_item):
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
        check_factor_item(item, 16, 5)
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
