"""Basel face renders: a plain tensor in grid order, never a pickle."""

from __future__ import annotations

import argparse

import pytest
import torch

from unsup3d.data.faces3d import BaselFaces
from unsup3d.errors import UserError


def test_basel_faces_plain_tensor(faces_file, make, check_factor_item):
    ds = BaselFaces(faces_file.parent, "all", 16, factor_sizes=make.faces_sizes, native_size=16)
    assert len(ds) == 16
    item = ds[11]
    check_factor_item(item, 16, 4)
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
