"""CelebA in its official layout: attributes, identities, partition, id lists."""

from __future__ import annotations

import pytest

from unsup3d.data.celeba import CelebA
from unsup3d.errors import UserError


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


@pytest.mark.parametrize(
    ("missing", "split", "message"),
    [
        (
            "img_align_celeba/000011.jpg",
            "test",
            r"img_align_celeba: 1 image\(s\) listed .* missing \(e.g. 000011.jpg\)",
        ),
        (
            "list_eval_partition.txt",
            "train",
            r"list_eval_partition.txt: file not found; put CelebA's",
        ),
        (
            "list_eval_partition.txt",
            "validation",
            r"split 'validation': CelebA has no such split; use one of train, val, test, all",
        ),
    ],
)
def test_celeba_missing_files_and_unknown_split(celeba_root, missing, split, message):
    (celeba_root / missing).unlink()
    with pytest.raises(UserError, match=message):
        CelebA(celeba_root, split, 16)
