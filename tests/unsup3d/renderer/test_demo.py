"""`python -m unsup3d.renderer.demo`: the renderer's demo sheet."""

from __future__ import annotations

import numpy as np
from PIL import Image

from unsup3d.cli import cli_main
from unsup3d.renderer import demo


def test_writes_the_sheet_and_replaces_it_only_with_overwrite(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    args = ["--output", str(out), "--size", "16", "--scale", "1"]
    assert demo.main(args) == 0
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[2] == 3 and sheet.shape[0] > 3 * 16  # three rows of 16 px tiles
    assert sheet.std() > 10  # rendered content, not a blank page
    assert cli_main(demo.main, args) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert demo.main([*args, "--overwrite"]) == 0
