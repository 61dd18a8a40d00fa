"""UTKFace, ShapeNet cars, CelebA, CelebAMask-HQ, RAF-DB and face tracks on fixtures in their layouts."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from unsup3d.data.celeba import CelebA
from unsup3d.data.celebamask import CelebAMaskHQ
from unsup3d.data.rafdb import RAFDB
from unsup3d.data.shapenet import ShapeNetCars
from unsup3d.data.tracks import BBTTracks, BuffyTracks, FaceTracks
from unsup3d.data.utkface import UTKFace, parse_utkface_name
from unsup3d.errors import UserError


# ------------------------------------------------------------------------------------- UTKFace
def test_utkface_labels_from_file_names(utkface_root, caplog):
    with caplog.at_level(logging.WARNING):
        ds = UTKFace(utkface_root, "train", 16)
    assert len(ds) == 4  # the file without a race field is skipped
    assert ds.skipped_names == ["39_1_20170116174525125.jpg.chip.jpg"]
    assert "skipped 1 file(s)" in caplog.text
    labels = {ds[i]["image_id"]: ds[i]["labels"] for i in range(len(ds))}
    assert labels["25_0_0_20170104222301547.jpg.chip.jpg"] == {"age": 25, "gender": 0, "race": 0}
    assert labels["4_1_3_20170109191432566.jpg.chip.jpg"] == {"age": 4, "gender": 1, "race": 3}
    assert ds.label_names == ("age", "gender", "race") and ds.label_classes["race"][4] == "others"
    assert [UTKFace(utkface_root, s, 16)[0]["labels"]["age"] for s in ("val", "test")] == [18, 2]


@pytest.mark.parametrize(
    "name",
    [
        "39_1_20170116174525125.jpg.chip.jpg",
        "61_3_20170109150557335.jpg.chip.jpg",
        "25_2_0_2017.jpg",
        "25_0_7_2017.jpg",
        "x_0_0_2017.jpg",
        "25_0_0.jpg",
        "-1_0_0_2017.jpg",
    ],
)
def test_utkface_bad_names_are_rejected_not_crashed(name):
    assert parse_utkface_name(name) is None


def test_utkface_in_the_wild_names_parse():
    assert parse_utkface_name("1_0_0_20161219140623097.jpg") == {"age": 1, "gender": 0, "race": 0}


def test_utkface_without_split_folders_names_the_split_tool(tmp_path):
    (tmp_path / "UTKFace").mkdir()
    with pytest.raises(
        UserError, match=r"UTKFace/train: folder not found;.*python -m unsup3d.tools.split"
    ):
        UTKFace(tmp_path / "UTKFace", "train", 64)


# --------------------------------------------------------------------------------- ShapeNet cars
def test_shapenet_cars_folder_and_class_list(folder_root):
    ds = ShapeNetCars(folder_root, "train", 16, crop=[2, 3, 16, 16])
    assert len(ds) == 4 and ds[0]["labels"] == {}
    (folder_root / "classes.txt").write_text(
        "# test\npath\tclass_index\tclass_name\tmodel_id\nb.png\t1\tambulance\tm1\nsub/c.png\t0\tpolice_car\tm2\n"
    )
    ds = ShapeNetCars(folder_root, "train", 16, classes_file="classes.txt")
    assert [(ds[i]["image_id"], ds[i]["labels"]["car_class"]) for i in range(2)] == [
        ("b.png", 1),
        ("sub/c.png", 0),
    ]
    assert ds.label_classes == {"car_class": ("police_car", "ambulance")}
    with pytest.raises(UserError, match=r"classes.txt: 2 listed image\(s\) are not in .*test"):
        ShapeNetCars(folder_root, "test", 16, classes_file=folder_root / "classes.txt")


# ------------------------------------------------------------------------------------ CelebA
def test_celeba_attributes_identity_and_partition(celeba_root, make):
    names, attrs = make.celeba_table()
    ds = CelebA(celeba_root, "train", 16)
    assert len(ds) == 8 and len(ds.attribute_names) == 40 and ds.label_names[-1] == "identity"
    item = ds[3]
    assert item["image_id"] == "000004.jpg" and item["image"].shape == (3, 16, 16)
    expected = {n: int(v == 1) for n, v in zip(ds.attribute_names, attrs[3])}
    assert {k: v for k, v in item["labels"].items() if k != "identity"} == expected
    assert item["labels"]["identity"] == 100 + 3 % 3
    assert [CelebA(celeba_root, s, 16)[0]["image_id"] for s in ("val", "test")] == [
        "000009.jpg",
        "000011.jpg",
    ]
    assert len(CelebA(celeba_root, "all", 16)) == 12


def test_celeba_torchvision_base_folder_and_ids_file(tmp_path, celeba_root):
    nested = tmp_path / "tv"
    nested.mkdir()
    celeba_root.rename(nested / "celeba")
    (tmp_path / "ids.txt").write_text("image_id\n000012.jpg\n")
    ds = CelebA(nested, "test", 16, ids_file=tmp_path / "ids.txt")
    assert [ds[i]["image_id"] for i in range(len(ds))] == ["000012.jpg"]
    (nested / "celeba" / "in_root.txt").write_text("image_id\n000011.jpg\n")
    assert CelebA(nested, "test", 16, ids_file="in_root.txt")[0]["image_id"] == "000011.jpg"
    (tmp_path / "ids.txt").write_text("image_id\n000001.jpg\n")
    with pytest.raises(UserError, match=r"ids.txt: 1 id\(s\) are not in CelebA's 'test' split"):
        CelebA(nested, "test", 16, ids_file=tmp_path / "ids.txt")


def test_celeba_attribute_rows_that_do_not_match_the_images(celeba_root):
    attr = celeba_root / "list_attr_celeba.txt"
    lines = attr.read_text().splitlines()
    attr.write_text("\n".join(lines[:-1]) + "\n")  # drop the last image's row
    with pytest.raises(
        UserError, match=r"list_attr_celeba.txt: line 1 says 12 images but 11 rows follow"
    ):
        CelebA(celeba_root, "test", 16)
    attr.write_text("\n".join(["11", *lines[1:-1]]) + "\n")
    with pytest.raises(UserError, match=r"no attribute row for 1 image\(s\) .*000012.jpg"):
        CelebA(celeba_root, "test", 16)
    attr.write_text("\n".join([*lines[:5], lines[5].rsplit(" ", 1)[0], *lines[6:]]) + "\n")
    with pytest.raises(
        UserError, match=r"list_attr_celeba.txt:6: 39 attribute values for 000004.jpg, expected 40"
    ):
        CelebA(celeba_root, "test", 16)


def test_celeba_missing_files(celeba_root):
    (celeba_root / "img_align_celeba" / "000011.jpg").unlink()
    with pytest.raises(
        UserError, match=r"img_align_celeba: 1 image\(s\) listed .* missing \(e.g. 000011.jpg\)"
    ):
        CelebA(celeba_root, "test", 16)
    (celeba_root / "list_eval_partition.txt").unlink()
    with pytest.raises(UserError, match=r"list_eval_partition.txt: file not found; put CelebA's"):
        CelebA(celeba_root, "train", 16)
    with pytest.raises(
        UserError,
        match=r"split 'validation': CelebA has no such split; use one of train, val, test, all",
    ):
        CelebA(celeba_root, "validation", 16)


# ------------------------------------------------------------------------------- CelebAMask-HQ
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


# ----------------------------------------------------------------------------------- RAF-DB
def test_rafdb_basic_split_and_emotions(rafdb_root):
    train = RAFDB(rafdb_root, "train", 16)
    assert len(train) == 4 and train.label_classes["emotion"][4] == "sadness"
    assert [train[i]["labels"]["emotion"] for i in range(4)] == [4, 0, 6, 3]
    test = RAFDB(rafdb_root / "basic", "test", 16, aligned=False)
    assert [test[i]["image_id"] for i in range(2)] == ["test_0001.jpg", "test_0002.jpg"]
    assert test[0]["image"].shape == (3, 16, 16)
    with pytest.raises(UserError, match=r"split 'val': RAF-DB basic has no such split"):
        RAFDB(rafdb_root, "val", 16)


def test_rafdb_label_file_spellings_and_errors(rafdb_root):
    emo = rafdb_root / "basic" / "EmoLabel"
    (emo / "list_patition_label.txt").rename(emo / "list_partition_label.txt")
    assert len(RAFDB(rafdb_root, "all", 16)) == 6
    (emo / "list_partition_label.txt").write_text("train_00001.jpg 8\n")
    with pytest.raises(
        UserError, match=r"list_partition_label.txt:1: expected '<image name> <emotion 1..7>'"
    ):
        RAFDB(rafdb_root, "train", 16)
    (emo / "list_partition_label.txt").unlink()
    with pytest.raises(UserError, match=r"EmoLabel/list_patition_label.txt: file not found"):
        RAFDB(rafdb_root, "train", 16)


# --------------------------------------------------------------------------------- face tracks
def test_bbt_tracks_identities_and_grouping(tracks_root, caplog):
    with caplog.at_level(logging.WARNING):
        ds = BBTTracks(tracks_root, "test", 16)
    assert len(ds) == 3 + 2 + 2 + 1  # track 20 (waiter) is not one of the 5 identities
    assert "1 of other people" in caplog.text
    assert ds.tracks == {3: [0, 1, 2], 7: [3, 4], 11: [5, 6], 12: [7]}
    names = ds.label_classes["identity"]
    assert [names[ds[i]["labels"]["identity"]] for i in (0, 3, 5, 7)] == [
        "sheldon",
        "penny",
        "sheldon",
        "leonard",
    ]
    assert ds[4]["track_id"] == 7 and ds[4]["image_id"] == "bbt_7/0001.jpg"


def test_generic_tracks_and_errors(tracks_root, tmp_path):
    ds = FaceTracks(tracks_root, "all", 16)
    assert (
        ds.label_classes["identity"] == ("leonard", "penny", "sheldon", "waiter") and len(ds) == 10
    )
    with pytest.raises(UserError, match=r"no frames of the identities xander, buffy"):
        BuffyTracks(tracks_root, "test", 16)
    with pytest.raises(UserError, match=r"split 'train': a face-track set has no such split"):
        BBTTracks(tracks_root, "train", 16)
    (tracks_root.parent / "buffy_s05e02.ids").write_text("trackid name\n")
    with pytest.raises(
        UserError, match=r"2 \*.ids files .* name the one for these tracks with the ids_file option"
    ):
        BBTTracks(tracks_root, "test", 16)
    bad = tmp_path / "bad.ids"
    bad.write_text("trackid name\n3 sheldon\nseven penny\n")
    with pytest.raises(UserError, match=r"bad.ids:3: expected '<track id> <name>'"):
        BBTTracks(tracks_root, "test", 16, ids_file=bad)
