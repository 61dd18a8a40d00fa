"""python -m unsup3d.tools.celebamask_prepare: composed class-id masks in split folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from unsup3d.cli import cli_main
from unsup3d.data.celebamask import CLASSES, CelebAMaskHQ
from unsup3d.data.idlist import read_id_list
from unsup3d.errors import UserError
from unsup3d.tools import celebamask_prepare


@pytest.fixture
def celebamask_raw(tmp_path, make):
    """The release layout: CelebA-HQ-img/, CelebAMask-HQ-mask-anno/0/, the mapping file."""
    raw = tmp_path / "CelebAMask-HQ"
    lines = ["idx orig_idx orig_file"]
    for idx in range(6):
        make.save(raw / "CelebA-HQ-img" / f"{idx}.jpg", make.rgb(idx, (32, 32)))
        skin = np.zeros((16, 16), np.uint8)
        skin[2:14, 2:14] = 255
        nose = np.zeros((16, 16), np.uint8)
        nose[6:10, 7:9] = 255
        make.save(raw / "CelebAMask-HQ-mask-anno" / "0" / f"{idx:05d}_skin.png", skin)
        make.save(raw / "CelebAMask-HQ-mask-anno" / "0" / f"{idx:05d}_nose.png", nose)
        if idx == 0:
            hair = np.zeros((16, 16), np.uint8)
            hair[0:3, :] = 255
            make.save(raw / "CelebAMask-HQ-mask-anno" / "0" / f"{idx:05d}_hair.png", hair)
        orig = 1000 * (idx + 1)
        lines.append(f"{idx} {orig - 1} {orig:06d}.jpg")
    (raw / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(lines) + "\n")
    parts = [0, 0, 0, 1, 2, 2]
    (tmp_path / "list_eval_partition.txt").write_text(
        "".join(f"{1000 * (i + 1):06d}.jpg {p}\n" for i, p in enumerate(parts)) + "999999.jpg 2\n"
    )
    return raw


def test_celebamask_prepare_composes_masks_and_loads(celebamask_raw, tmp_path):
    dst = tmp_path / "cm16"
    argv = [
        str(celebamask_raw),
        str(dst),
        "--partition",
        str(tmp_path / "list_eval_partition.txt"),
        "--size",
        "16",
    ]
    assert celebamask_prepare.main(argv) == 0
    rows = read_id_list(dst / "split_ids.txt", ("split", "image_id"))
    assert [(r["split"], r["image_id"]) for r in rows] == [
        ("train", "0"),
        ("train", "1"),
        ("train", "2"),
        ("val", "3"),
        ("test", "4"),
        ("test", "5"),
    ]
    mask = np.asarray(Image.open(dst / "train_masks" / "0.png"))
    assert mask.shape == (16, 16)
    assert mask[0, 0] == CLASSES.index("hair") and mask[8, 7] == CLASSES.index("nose")
    assert mask[4, 4] == CLASSES.index("skin") and mask[15, 15] == 0
    ds = CelebAMaskHQ(dst, "train", 16, train=False)
    assert len(ds) == 3 and torch.equal(ds[0]["mask"], torch.from_numpy(mask.astype(np.int64)))
    assert cli_main(celebamask_prepare.main, argv) == 2  # non-empty output without --overwrite
    flag = [str(celebamask_raw), "--output_dir", str(tmp_path / "cm"), *argv[2:]]
    assert celebamask_prepare.main(flag) == 0
    for path in sorted(dst.rglob("*.png")):
        assert (tmp_path / "cm" / path.relative_to(dst)).read_bytes() == path.read_bytes()


def test_celebamask_prepare_from_an_id_list(celebamask_raw, tmp_path):
    (tmp_path / "paper.txt").write_text("split\timage_id\ntrain\t1\ntest\t5\n")
    dst = tmp_path / "cm"
    celebamask_prepare.main(
        [str(celebamask_raw), str(dst), "--ids", str(tmp_path / "paper.txt"), "--size", "8"]
    )
    assert sorted(p.name for p in dst.iterdir()) == [
        "split_ids.txt",
        "test_images",
        "test_masks",
        "train_images",
        "train_masks",
    ]
    with pytest.raises(UserError, match=r"--partition or --ids: one is needed"):
        celebamask_prepare.main([str(celebamask_raw), str(tmp_path / "x")])
