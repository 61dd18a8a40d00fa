"""python -m unsup3d.tools.split: deterministic, reproducible from its id list, never touches sources."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unsup3d.cli import cli_main
from unsup3d.data.idlist import read_id_list
from unsup3d.data.utkface import UTKFace
from unsup3d.errors import UserError
from unsup3d.tools.split import main


@pytest.fixture
def raw_utk(tmp_path: Path, make) -> Path:
    """A flat UTKFace download: 16 images (one with a missing field) and a stray text file."""
    src = tmp_path / "UTKFace_download"
    for i in range(15):
        make.save(
            src / f"{20 + i}_{i % 2}_{i % 5}_2017010{i:02d}.jpg.chip.jpg", make.rgb(i, (16, 16))
        )
    make.save(src / "39_1_20170116174525125.jpg.chip.jpg", make.rgb(99, (16, 16)))
    (src / "readme.txt").write_text("not an image")
    return src


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _tree(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()
    )


def test_split_links_lists_and_leaves_sources_alone(raw_utk, tmp_path, capsys):
    before = _snapshot(raw_utk)
    dst = tmp_path / "UTKFace"
    assert main([str(raw_utk), str(dst), "--ratios", "0.8", "0.1", "0.1", "--seed", "0"]) == 0
    assert (
        "train 13, val 1, test 2" in capsys.readouterr().out
    )  # round(12.8), round(14.4) boundaries
    assert _snapshot(raw_utk) == before
    rows = read_id_list(dst / "split_ids.txt", ("split", "path"))
    assert [r["split"] for r in rows] == ["train"] * 13 + ["val"] + ["test"] * 2
    assert sorted(r["path"] for r in rows) == sorted(
        p for p in _tree(raw_utk) if p.endswith(".jpg")
    )
    for r in rows:
        link = dst / r["split"] / r["path"]
        assert link.is_symlink() and link.resolve() == (raw_utk / r["path"]).resolve()
    ds = UTKFace(dst, "train", 16)  # the loader reads the result (symlinks followed)
    assert len(ds) + len(ds.skipped_names) == 13


def test_same_files_same_split_and_seed_changes_it(raw_utk, tmp_path):
    main([str(raw_utk), str(tmp_path / "a")])
    main([str(raw_utk), str(tmp_path / "b"), "--copy"])
    main([str(raw_utk), str(tmp_path / "c"), "--seed", "1"])
    a, b, c = ((tmp_path / x / "split_ids.txt").read_bytes() for x in "abc")
    assert a == b and a != c
    assert not any(p.is_symlink() for p in (tmp_path / "b").rglob("*"))


def test_from_ids_reproduces_a_split_on_another_copy(raw_utk, tmp_path):
    main([str(raw_utk), str(tmp_path / "a"), "--seed", "7"])
    copy = tmp_path / "other_copy"
    copy.mkdir()
    for p in raw_utk.iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    main([str(copy), str(tmp_path / "b"), "--from-ids", str(tmp_path / "a" / "split_ids.txt")])
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    (copy / "20_0_0_201701000.jpg.chip.jpg").unlink()
    with pytest.raises(
        UserError, match=r"split_ids.txt: 1 listed file\(s\) are not under .*other_copy"
    ):
        main([str(copy), str(tmp_path / "c"), "--from_ids", str(tmp_path / "a" / "split_ids.txt")])


def test_split_by_identity_keeps_identities_together(tmp_path, make):
    src = tmp_path / "faces"
    lines = []
    for i in range(16):
        make.save(src / f"{i:06d}.jpg", make.rgb(i, (16, 16)))
        lines.append(f"{i:06d}.jpg {i // 2}")
    (tmp_path / "identity.txt").write_text("\n".join(lines) + "\n")
    main([str(src), str(tmp_path / "out"), "--identity-file", str(tmp_path / "identity.txt")])
    rows = read_id_list(tmp_path / "out" / "split_ids.txt", ("split", "path"))
    split_of_identity: dict[int, set[str]] = {}
    for r in rows:
        split_of_identity.setdefault(int(r["path"][:6]) // 2, set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of_identity.values())
    assert "by=identity" in (tmp_path / "out" / "split_ids.txt").read_text().splitlines()[0]


def test_refuses_non_empty_output_and_overwrite_replaces_only_its_own_files(
    raw_utk, tmp_path, capsys
):
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "mine.txt").write_text("user file")
    assert cli_main(main, [str(raw_utk), str(dst)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {dst}: folder is not empty; pass --overwrite to write into it, or choose "
        "another --output_dir\n"
    )
    assert main([str(raw_utk), str(dst), "--overwrite"]) == 0
    assert main([str(raw_utk), str(dst), "--overwrite", "--seed", "3"]) == 0
    assert (dst / "mine.txt").read_text() == "user file"
    listed = {
        f"{r['split']}/{r['path']}" for r in read_id_list(dst / "split_ids.txt", ("split", "path"))
    }
    assert set(_tree(dst)) == listed | {"mine.txt", "split_ids.txt"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["MISSING", "out"],
            "MISSING: folder not found; give the folder that holds all the images",
        ),
        (["src", "src/inner"], "is inside SRC"),
        (["src", "out", "--ratios", "0.5", "0", "0.5"], "every ratio must be positive"),
        (["src", "out", "--ratios", "1", "1", "1", "1"], "give --names for 4 splits"),
        (["src", "out", "--names", "train", "train", "test"], "need 3 distinct names"),
        (["empty", "out"], "empty: no image files"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, raw_utk, capsys, args, message):
    (tmp_path / "empty").mkdir()
    os.symlink(raw_utk, tmp_path / "src")
    argv = [str(tmp_path / a) if i < 2 else a for i, a in enumerate(args)]
    assert cli_main(main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_dst_as_output_dir_and_usage_errors(raw_utk, tmp_path, capsys):
    assert main([str(raw_utk), "--output_dir", str(tmp_path / "a")]) == 0
    assert main([str(raw_utk), str(tmp_path / "b")]) == 0
    a, b = ((tmp_path / x / "split_ids.txt").read_bytes() for x in "ab")
    assert a == b
    for argv, message in (
        ([str(raw_utk)], "the output is required: give DST or --output_dir"),
        ([str(raw_utk), "x", "--output_dir", "y"], "DST and --output_dir name different outputs"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err


def test_runs_as_a_module(raw_utk, tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "unsup3d.tools.split",
            str(raw_utk),
            str(tmp_path / "m"),
            "--seed",
            "0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "m" / "split_ids.txt").is_file()
