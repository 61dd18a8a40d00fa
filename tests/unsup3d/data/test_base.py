"""Shared loader behaviour: crop/resize/flip, fraction, corrupt images, deterministic splits."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from unsup3d.data.base import assign_splits, hash_order, normalize_crop, split_sizes
from unsup3d.data.folder import ImageFolder
from unsup3d.errors import UserError


def _arr(folder_root, split, name):
    return np.array(Image.open(folder_root / split / name).convert("RGB"))


def test_no_resize_gives_exact_pixels(folder_root):
    ds = ImageFolder(folder_root, "test", 24)
    expected = torch.from_numpy(_arr(folder_root, "test", "g.png")).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(ds[0]["image"], expected)


@pytest.mark.parametrize(
    ("crop", "rows", "cols"),
    [
        ([4, 2, 8, 8], slice(4, 12), slice(2, 10)),
        (8, slice(8, 16), slice(8, 16)),
        ([8], slice(8, 16), slice(8, 16)),
    ],
)
def test_crop_top_left_height_width_and_centre(folder_root, crop, rows, cols):
    ds = ImageFolder(folder_root, "test", 8, crop=crop)
    expected = (
        torch.from_numpy(_arr(folder_root, "test", "g.png")[rows, cols].copy()).permute(2, 0, 1)
        / 255
    )
    torch.testing.assert_close(ds[0]["image"], expected.float())


def test_crop_out_of_bounds_is_zero_padded(folder_root):
    ds = ImageFolder(folder_root, "test", 8, crop=[20, 20, 8, 8])
    img = ds[0]["image"]
    expected = (
        torch.from_numpy(_arr(folder_root, "test", "g.png")[20:24, 20:24].copy()).permute(2, 0, 1)
        / 255
    )
    torch.testing.assert_close(img[:, :4, :4], expected.float())
    assert float(img[:, 4:, :].abs().max()) == 0.0 and float(img[:, :, 4:].abs().max()) == 0.0


def test_downscale_is_antialiased(tmp_path, make):
    board = ((np.indices((24, 24)).sum(0) % 2) * 255).astype(np.uint8)  # 1-pixel checkerboard
    make.save(tmp_path / "d" / "train" / "board.png", np.stack([board] * 3, -1))
    img = ImageFolder(tmp_path / "d", "train", 8, train=False)[0]["image"]
    # Point-sampled bilinear would give 0 or 1 at a 3x reduction; an antialiased filter ~0.5.
    assert 0.3 < float(img.min()) and float(img.max()) < 0.7


def test_training_flip_only_for_train(folder_root):
    arr = torch.from_numpy(_arr(folder_root, "train", "a.png")).permute(2, 0, 1).float() / 255
    torch.manual_seed(0)
    train = ImageFolder(folder_root, "train", 24)
    seen = {bool(torch.equal(train[0]["image"], arr.flip(-1))) for _ in range(16)}
    assert seen == {True, False}
    for ds in (
        ImageFolder(folder_root, "train", 24, hflip=False),
        ImageFolder(folder_root, "train", 24, train=False),
    ):
        assert all(torch.equal(ds[0]["image"], arr) for _ in range(8))
    val = ImageFolder(folder_root, "val", 24)
    val_arr = torch.from_numpy(_arr(folder_root, "val", "e.png")).permute(2, 0, 1).float() / 255
    assert all(torch.equal(val[0]["image"], val_arr) for _ in range(8))


def test_fraction_keeps_the_first_sorted_items(folder_root):
    ds = ImageFolder(folder_root, "train", 16, fraction=0.5)
    assert [ds[i]["image_id"] for i in range(len(ds))] == ["a.png", "b.png"]
    with pytest.raises(UserError, match=r"fraction 0: must be in \(0, 1\]"):
        ImageFolder(folder_root, "train", 16, fraction=0)


def test_corrupt_image_is_skipped_with_a_count_or_an_error_with_strict(folder_root, caplog):
    (folder_root / "train" / "broken.png").write_bytes(b"this is not a png")
    with caplog.at_level(logging.WARNING):
        ds = ImageFolder(folder_root, "train", 16)
    assert len(ds) == 4 and ds.skipped_corrupt == 1
    assert "skipped 1 corrupt image(s)" in caplog.text and "broken.png" in caplog.text
    with pytest.raises(UserError, match=r"broken.png: not a readable image .*strict"):
        ImageFolder(folder_root, "train", 16, strict=True)


def test_truncated_image_found_when_read(folder_root, caplog):
    data = (folder_root / "val" / "e.png").read_bytes()
    (folder_root / "val" / "e.png").write_bytes(data[: len(data) // 2])  # header intact, data cut
    ds = ImageFolder(folder_root, "val", 16)
    assert len(ds) == 2
    with caplog.at_level(logging.WARNING):
        item = ds[0]
    assert item["image_id"] == "f.png" and ds.skipped_corrupt == 1 and "e.png" in caplog.text
    with pytest.raises(UserError, match=r"e.png: cannot decode image"):
        ImageFolder(folder_root, "val", 16, strict=True)[0]


@pytest.mark.parametrize(
    ("crop", "message"),
    [([1, 2], "needs 1 or 4 integers"), ([0], "sizes must be positive"), ("8", "must be integers")],
)
def test_bad_crop_option(crop, message):
    with pytest.raises(UserError, match=message):
        normalize_crop(crop)


def test_crop_option_forms():
    assert normalize_crop(None) is None and normalize_crop([]) is None
    assert normalize_crop(64) == (64,) and normalize_crop([8, 14, 100, 100]) == (8, 14, 100, 100)


def test_split_sizes_match_the_paper_utkface_split():
    assert split_sizes(23708, (0.8, 0.1, 0.1)) == [18966, 2371, 2371]
    assert sum(split_sizes(7, (1, 1, 1))) == 7


def test_assign_splits_is_deterministic_and_order_free():
    keys = [f"img_{i:04d}.jpg" for i in range(200)]
    parts = assign_splits(keys, (0.8, 0.1, 0.1), seed=0)
    assert np.bincount(parts).tolist() == [160, 20, 20]
    rev = assign_splits(keys[::-1], (0.8, 0.1, 0.1), seed=0)
    assert dict(zip(keys, parts)) == dict(zip(keys[::-1], rev))
    assert parts != assign_splits(keys, (0.8, 0.1, 0.1), seed=1)
    assert hash_order(["b", "a", "c"], 3) == hash_order(["c", "b", "a"], 3)


def test_assign_splits_by_group_keeps_groups_together():
    keys = [f"{g}_{i}.jpg" for g in range(30) for i in range(4)]
    groups = {k: k.split("_")[0] for k in keys}
    parts = assign_splits(keys, (0.8, 0.1, 0.1), seed=0, groups=groups)
    by_group: dict[str, set[int]] = {}
    for k, p in zip(keys, parts):
        by_group.setdefault(groups[k], set()).add(p)
    assert all(len(s) == 1 for s in by_group.values())
    counts = np.bincount(parts, minlength=3)
    assert counts[0] == pytest.approx(96, abs=4) and counts[1] > 0 and counts[2] > 0
