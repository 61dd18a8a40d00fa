import numpy as np
import pytest
from PIL import Image

from unsup3d.api import UserError


def _test_folder(root, names, size=8):
    rng = np.random.default_rng(0)
    for kind in ("input", "recon", "canon_albedo", "canon_shading"):
        (root / kind).mkdir(parents=True)
        for n in names:
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(
                root / kind / n
            )
    (root / "canon_depth").mkdir()
    for n in names:
        Image.fromarray(rng.integers(0, 65535, (size, size), dtype=np.uint16)).save(
            root / "canon_depth" / n
        )
    return root


def test_grid_of_two_folders(load_tool, tmp_path):
    tool = load_tool("recon_grid")
    a = _test_folder(tmp_path / "a", ["000001.png", "000000.png", "000002.png"])
    b = _test_folder(tmp_path / "b", ["000000.png", "000001.png"])
    out = tmp_path / "grid.png"
    args = [str(a), str(b), "--num", "2", "--labels", "seed 0", "seed 1", "--output", str(out)]
    assert tool.main(args) == 0
    w, h = Image.open(out).size
    assert h > w / 2  # 10 rows of 2 images
    names, images = tool.load_block(a, 2)
    assert names == ["000000.png", "000001.png"]  # first by name
    depth = images["canon_depth"][0]
    assert depth.shape == (8, 8, 3) and depth.min() == 0 and depth.max() == 1  # per-image range
    with pytest.raises(UserError, match="exists"):
        tool.main(args)
    assert tool.main([*args, "--overwrite"]) == 0


def test_missing_outputs_are_named(load_tool, tmp_path):
    tool = load_tool("recon_grid")
    a = _test_folder(tmp_path / "a", ["000000.png"])
    (a / "recon" / "000000.png").unlink()
    with pytest.raises(UserError, match=r"recon/000000.png: missing"):
        tool.main([str(a), "--output", str(tmp_path / "g.png")])
    with pytest.raises(UserError, match="no input/ folder"):
        tool.main([str(tmp_path), "--output", str(tmp_path / "g.png")])


def test_a_baseline_folder_has_two_rows(load_tool, tmp_path):
    tool = load_tool("recon_grid")
    a = _test_folder(tmp_path / "a", ["000000.png", "000001.png"])
    b = tmp_path / "b"
    for kind in ("input", "recon"):
        (b / kind).mkdir(parents=True)
        for n in ("000000.png", "000001.png"):
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(b / kind / n)
    _, images = tool.load_block(b, 2)
    assert set(images) == {"input", "recon"}
    (b / "recon" / "000001.png").unlink()  # a missing file of a present row is still an error
    with pytest.raises(UserError, match=r"recon/000001.png: missing"):
        tool.load_block(b, 2)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(b / "recon" / "000001.png")
    out = tmp_path / "grid.png"
    assert tool.main([str(a), str(b), "--labels", "PDR", "VQ-VAE", "--output", str(out)]) == 0
