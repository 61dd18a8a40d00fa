"""`python -m unsup3d.renderer.demo`: the renderer's demo sheet."""

from __future__ import annotations

import numpy as np
from PIL import Image

from unsup3d.renderer import demo


def test_writes_the_sheet_and_regenerates_it(tmp_path):
    out = tmp_path / "sheet.png"
    args = ["--output", str(out), "--size", "16", "--scale", "1"]
    assert demo.main(args) == 0
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[2] == 3 and sheet.shape[0] > 3 * 16  # three rows of 16 px tiles
    assert sheet.std() > 10  # rendered content, not a blank page
    out.write_bytes(b"stale")
    assert demo.main(args) == 0  # the documented command regenerates docs/renderer_demo.png
    assert np.array_equal(np.asarray(Image.open(out)), sheet)
