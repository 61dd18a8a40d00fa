"""Image folders: the split sub-folder walked recursively, no labels, what to put where."""

from __future__ import annotations

import pytest
import torch

from unsup3d.data.folder import ImageFolder
from unsup3d.errors import UserError


def test_items_follow_the_contract(folder_root):
    ds = ImageFolder(folder_root, "val", 16)
    assert len(ds) == 2
    item = ds[0]
    assert set(item) == {"image", "labels", "image_id"}
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 16, 16)
    assert 0.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
    assert item["labels"] == {} and item["image_id"] == "e.png"


def test_recursive_sorted_and_only_images(folder_root):
    ds = ImageFolder(folder_root, "train", 24)
    assert [ds[i]["image_id"] for i in range(len(ds))] == [
        "a.png",
        "b.png",
        "sub/c.png",
        "sub/d.png",
    ]


def test_missing_and_empty_folders_say_what_to_put_there(tmp_path, folder_root):
    with pytest.raises(UserError, match=rf"{tmp_path / 'nope'}: folder not found; put"):
        ImageFolder(tmp_path / "nope", "train", 16)
    with pytest.raises(UserError, match=r"folder/ood: folder not found; put the 'ood' images"):
        ImageFolder(folder_root, "ood", 16)
    (folder_root / "empty").mkdir()
    with pytest.raises(
        UserError, match=r"folder/empty: no image files \(.jpg.*put the 'empty' images"
    ):
        ImageFolder(folder_root, "empty", 16)


def test_a_missing_split_names_the_split_tool(folder_root):
    with pytest.raises(UserError, match=r"python -m unsup3d.tools.split <all images> .*folder"):
        ImageFolder(folder_root, "validation", 16)
