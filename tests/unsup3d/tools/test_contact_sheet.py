"""python -m unsup3d.tools.contact_sheet: the docs' sheet of synthetic samples."""

from __future__ import annotations

import numpy as np
from PIL import Image

from unsup3d.cli import cli_main
from unsup3d.tools import contact_sheet


def test_sheet_layout_and_the_old_out_spelling(tmp_path, capsys):
    new, old = tmp_path / "new.png", tmp_path / "old.png"
    argv = ["--size", "16", "--scale", "1", "--seed", "2"]
    assert contact_sheet.main(["--output", str(new), *argv]) == 0
    assert contact_sheet.main(["--out", str(old), *argv]) == 0
    rows = 8 + 6  # faces: 4 maps, light and yaw sweeps, emotions, OOD; cars: 4 maps, yaw, OOD
    sheet = np.asarray(Image.open(new))
    assert sheet.shape == (rows * (16 + 4), contact_sheet.LABEL_WIDTH + 10 * 16, 3)
    assert np.array_equal(np.asarray(Image.open(old)), sheet)
    in_memory = contact_sheet.contact_sheet(16, 1, seed=2)
    assert np.array_equal(np.asarray(in_memory), sheet)
    assert f"{new}: 310 x 280" in capsys.readouterr().out
    # a figure regenerated in place: an existing file is replaced (another seed, other pixels)
    assert contact_sheet.main(["--output", str(new), *argv[:-1], "3"]) == 0
    assert not np.array_equal(np.asarray(Image.open(new)), sheet)


def test_bad_size_and_a_folder_are_one_line_errors(tmp_path, capsys):
    assert cli_main(contact_sheet.main, ["--output", str(tmp_path), "--size", "16"]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path}: is a folder; give a file name with --output\n"
    )
    assert cli_main(contact_sheet.main, ["--output", str(tmp_path / "s.png"), "--size", "8"]) == 2
    assert "--size 8 / --scale 2: need size >= 16" in capsys.readouterr().err
