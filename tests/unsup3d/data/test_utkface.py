"""UTKFace: labels from file names, split folders."""

from __future__ import annotations

import logging

import pytest

from unsup3d.data.utkface import UTKFace, parse_utkface_name
from unsup3d.errors import UserError


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
