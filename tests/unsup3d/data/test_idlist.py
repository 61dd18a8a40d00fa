"""Id lists: the tab-separated tables the tools write and the loaders read."""

from __future__ import annotations

import pytest

from unsup3d.data.idlist import read_id_list, write_id_list, write_split_list
from unsup3d.errors import UserError


def test_round_trip_with_comments_and_header(tmp_path):
    path = tmp_path / "sub" / "ids.txt"
    rows = [("train", "a b.png"), ("test", "c.png")]
    write_id_list(path, ("split", "path"), rows, comments=["made by a test"])
    assert path.read_text() == "# made by a test\nsplit\tpath\ntrain\ta b.png\ntest\tc.png\n"
    assert read_id_list(path, ("path",)) == [
        {"split": "train", "path": "a b.png"},
        {"split": "test", "path": "c.png"},
    ]
    with pytest.raises(ValueError, match="bad id-list row"):
        write_id_list(path, ("split", "path"), [("train", "tab\there")])


def test_split_list_counts_every_split(tmp_path):
    rows = [("train", "1"), ("train", "2"), ("other", "3")]
    counts = write_split_list(
        tmp_path / "s.txt", ("split", "image_id"), rows, "tool x", ["train", "val"]
    )
    assert counts == {"train": 2, "val": 0, "other": 1}
    assert (tmp_path / "s.txt").read_text().splitlines()[:2] == [
        "# tool x",
        "# counts: train=2 val=0 other=1",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, r"ids.txt: id list not found; write it with the split tool"),
        ("# only a comment\n", r"ids.txt: empty id list; expected a header line naming \['path'\]"),
        (
            "split\tname\n",
            r"ids.txt:1: id list has columns \['split', 'name'\] but needs \['path'\]",
        ),
        ("split\tpath\ntrain\n", r"ids.txt:2: 1 tab-separated fields, expected 2 \(split, path\)"),
    ],
)
def test_bad_lists_are_one_line_errors(tmp_path, text, message):
    if text is not None:
        (tmp_path / "ids.txt").write_text(text)
    with pytest.raises(UserError, match=message):
        read_id_list(tmp_path / "ids.txt", ("path",))
