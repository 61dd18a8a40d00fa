"""Cars3D: the reference factor order of the MATLAB renders."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.io

from unsup3d.data.cars3d import Cars3D
from unsup3d.errors import UserError


def test_cars3d_factor_order_matches_the_reference_einsum(cars3d_root, check_factor_item):
    ds = Cars3D(cars3d_root, "all", 16)
    assert len(ds) == 2 * 4 * 2 and ds.factor_sizes == (2, 4, 2)
    assert ds.factor_names == ("elevation", "azimuth", "object")
    for i in range(len(ds)):
        item = ds[i]
        check_factor_item(item, 16, 3)
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


def test_a_missing_scipy_is_a_user_error(cars3d_root, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.io", None)  # import scipy.io now fails
    with pytest.raises(UserError, match=r"car_001_mesh.mat: reading MATLAB .*; pip install scipy"):
        Cars3D(cars3d_root, "all", 16)
