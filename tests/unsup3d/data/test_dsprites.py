"""dSprites: images, latents_classes or the grid order, seeded splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unsup3d.data.base import grid_factors
from unsup3d.data.dsprites import DSprites
from unsup3d.errors import UserError


def test_dsprites_images_and_latents_classes(dsprites_file, check_factor_item):
    ds = DSprites(dsprites_file.parent, "all", 32)
    assert len(ds) == 16 and ds.factor_names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    imgs = np.load(dsprites_file)["imgs"]
    item = ds[5]
    check_factor_item(item, 32, 5)
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
