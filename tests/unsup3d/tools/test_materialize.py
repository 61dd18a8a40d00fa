"""python -m unsup3d.tools.materialize: the command line of the synthetic data's writer."""

from __future__ import annotations

import os

import pytest
import torch

from unsup3d.cli import cli_main
from unsup3d.data.registry import build_dataset
from unsup3d.data.synthetic import synthetic_cars
from unsup3d.tools.materialize import main

S = 16


def _quantised(images: torch.Tensor) -> torch.Tensor:
    """What an 8-bit PNG of the images decodes to."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).float().div_(255.0)


def _stack(ds, key="image"):
    return torch.stack([ds[i][key] for i in range(len(ds))])


def test_cars_load_back_with_classes_and_parts(tmp_path):
    assert main(["--name", "synthetic_cars", "--output_dir", str(tmp_path), "--size", str(S),
                 "--splits", "test", "--num_images", "7", "--workers", "1",
                 "--images_per_identity", "1"]) == 0  # fmt: skip
    g = synthetic_cars("test", S, num_images=7, images_per_identity=1).generate_batch(range(7))
    loaded = build_dataset("shapenet_cars", tmp_path, "test", S, classes_file="test_classes.txt")
    torch.testing.assert_close(_stack(loaded), _quantised(g["image"]), rtol=0, atol=0)
    assert [loaded[i]["labels"]["car_class"] for i in range(7)] == g["labels"]["car_class"].tolist()
    assert loaded.label_classes["car_class"] == synthetic_cars().category_names
    parts = build_dataset("celebamask_hq", tmp_path / "parts", "test", S, hflip=False)
    torch.testing.assert_close(_stack(parts, "mask"), g["mask"], rtol=0, atol=0)
    assert (tmp_path / "test" / "000000.png").is_file() and not os.path.islink(
        tmp_path / "test" / "000000.png"
    )


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert cli_main(main, ["--out", str(tmp_path), "--splits", "training"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --splits training: unknown split") and err.count("\n") == 1
    assert (
        cli_main(
            main,
            ["--out", str(tmp_path), "--splits", "train", "val", "--num_images", "1", "2", "3"],
        )
        == 2
    )
    assert "3 values for 2 splits" in capsys.readouterr().err


def test_out_is_the_old_spelling_of_output_dir(tmp_path, capsys):
    argv = ["--size", str(S), "--splits", "val", "--num_images", "2", "--workers", "1"]
    assert main(["--out", str(tmp_path / "old"), *argv]) == 0
    assert main(["--output_dir", str(tmp_path / "new"), *argv]) == 0
    for name in ("val/000000.png", "val/000001.png", "celebamask/val_masks/000001.png"):
        assert (tmp_path / "old" / name).read_bytes() == (tmp_path / "new" / name).read_bytes()
    assert "val 2 images" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "the following arguments are required: --output_dir" in capsys.readouterr().err
