"""RAF-DB basic: the emotion labels and the release's file spellings."""

from __future__ import annotations

import pytest

from unsup3d.data.rafdb import RAFDB
from unsup3d.errors import UserError


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
