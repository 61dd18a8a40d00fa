"""CelebAMask-HQ: class-id masks resized and flipped with their images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from unsup3d.data.celebamask import CelebAMaskHQ
from unsup3d.errors import UserError


def test_celebamask_masks_resized_with_nearest(celebamask_root, make):
    ds = CelebAMaskHQ(celebamask_root, "train", 12, train=False)
    assert len(ds) == 4 and ds.num_mask_classes == 19
    item = ds[1]
    expected = np.asarray(Image.fromarray(make.mask_of(1)).resize((12, 12), Image.NEAREST))
    assert item["mask"].dtype == torch.int64 and item["mask"].shape == (12, 12)
    assert torch.equal(item["mask"], torch.from_numpy(expected.astype(np.int64)))
    assert set(np.unique(item["mask"].numpy())) <= set(np.unique(make.mask_of(1)))
    assert CelebAMaskHQ(celebamask_root, "test", 24)[0]["image_id"] == "4"


def test_celebamask_flip_moves_mask_with_image(celebamask_root):
    torch.manual_seed(0)
    ds = CelebAMaskHQ(celebamask_root, "train", 24)
    plain = CelebAMaskHQ(celebamask_root, "train", 24, train=False)[0]
    flips = 0
    for _ in range(12):
        item = ds[0]
        if torch.equal(item["image"], plain["image"].flip(-1)):
            assert torch.equal(item["mask"], plain["mask"].flip(-1))
            flips += 1
        else:
            assert torch.equal(item["mask"], plain["mask"])
    assert 0 < flips < 12


def test_celebamask_bad_masks(celebamask_root, make):
    make.save(celebamask_root / "train_masks" / "2.png", make.mask_of(2, (20, 20)))
    with pytest.raises(
        UserError, match=r"train_masks/2.png: mask is 20×20 but its image 2.png is 24×24"
    ):
        CelebAMaskHQ(celebamask_root, "train", 16)
    bad = make.mask_of(2)
    bad[0, 0] = 19
    make.save(celebamask_root / "train_masks" / "2.png", bad)
    ds = CelebAMaskHQ(celebamask_root, "train", 16)
    with pytest.raises(UserError, match=r"train_masks/2.png: mask has class id 19 outside 0..18"):
        ds[2]
    (celebamask_root / "test_masks" / "5.png").unlink()
    with pytest.raises(UserError, match=r"test_masks/5.png: mask not found for image 5.png"):
        CelebAMaskHQ(celebamask_root, "test", 16)
