"""python -m unsup3d.tools.celeba_subset: the seeded CelebA evaluation subset as an id list."""

from __future__ import annotations

import pytest

from unsup3d.cli import cli_main
from unsup3d.data.celeba import CelebA
from unsup3d.data.idlist import read_id_list
from unsup3d.errors import UserError
from unsup3d.tools import celeba_subset


def test_celeba_subset_is_seeded_and_loads(celeba_root, tmp_path):
    out = tmp_path / "ids.txt"
    assert (
        celeba_subset.main(
            [str(celeba_root), str(out), "--split", "train", "--count", "5", "--seed", "0"]
        )
        == 0
    )
    ids = [r["image_id"] for r in read_id_list(out, ("image_id",))]
    assert (
        len(ids) == 5 and ids == sorted(ids) and all("000001.jpg" <= i <= "000008.jpg" for i in ids)
    )
    celeba_subset.main(
        [str(celeba_root), str(tmp_path / "same.txt"), "--split", "train", "--count", "5"]
    )
    assert (tmp_path / "same.txt").read_bytes() == out.read_bytes()
    celeba_subset.main(
        [
            str(celeba_root),
            str(tmp_path / "other.txt"),
            "--split",
            "train",
            "--count",
            "5",
            "--seed",
            "2",
        ]
    )
    assert (tmp_path / "other.txt").read_bytes() != out.read_bytes()
    ds = CelebA(celeba_root, "train", 16, ids_file=out)
    assert [ds[i]["image_id"] for i in range(len(ds))] == ids
    with pytest.raises(
        UserError, match=r"--count 6000: the 'test' partition has 2 images; use 1..2"
    ):
        celeba_subset.main([str(celeba_root), str(tmp_path / "big.txt")])


def test_celeba_subset_output_flag_and_existing_file(celeba_root, tmp_path, capsys):
    out = tmp_path / "ids.txt"
    argv = [str(celeba_root), "--output", str(out), "--split", "train", "--count", "3"]
    assert celeba_subset.main(argv) == 0 and len(read_id_list(out, ("image_id",))) == 3
    assert cli_main(celeba_subset.main, argv) == 2
    assert capsys.readouterr().err == (
        f"error: {out}: exists; pass --overwrite to replace it, or choose another --output\n"
    )
    assert celeba_subset.main([*argv, "--overwrite", "--count", "4"]) == 0
    assert len(read_id_list(out, ("image_id",))) == 4
