"""run.py: train, test and extract end to end, and its one-line errors."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import run
from unsup3d.checkpoint import load_checkpoint
from unsup3d.cli import cli_main
from unsup3d.features import load_features
from unsup3d.image_metrics import psnr, thumbnail

ROOT = Path(__file__).resolve().parents[1]


def test_train_test_extract_end_to_end(tiny_config, tmp_path, capsys):
    cfg, out = tiny_config(epochs=2, tensorboard="true")
    assert (
        run.main(["--config", str(cfg), "--num_workers", "0", "--set", "trainer.max_steps=3"]) == 0
    )
    assert {"config.yaml", "last.pt", "best.pt", "metrics.jsonl"} <= {p.name for p in out.iterdir()}
    assert list((out / "tb").glob("events.out.tfevents.*"))
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["step"] == 3 and ckpt["epoch"] == 2 and ckpt["config"]["model"]["preset"] == "small"
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2] and all("val/recon" in m for m in lines)

    assert (
        run.main(
            [
                "test",
                "--checkpoint",
                str(out / "last.pt"),
                "--num_workers",
                "0",
                "--batch_size",
                "2",
                "--max_images",
                "2",
            ]
        )
        == 0
    )
    test_dir = out / "test_test"
    assert len(list((test_dir / "recon").glob("*.png"))) == 2
    assert len(list((test_dir / "mesh").glob("*.obj"))) == 2
    metrics = json.loads((test_dir / "depth_metrics.json").read_text())
    assert metrics["num_images"] == 2 and metrics["side_mean"] > 0
    assert metrics["object_side_best_constant_mean"] > 0  # synthetic faces have part labels
    assert -1 <= metrics["object_log_depth_correlation_mean"] <= 1
    assert math.isfinite(metrics["object_relief_scale_median"])
    # The PSNRs are those of the PNG files written to input/ and recon/, so anyone can
    # recompute them from the folder; the thumbnail keeps less detail than the input itself.
    images = json.loads((test_dir / "image_metrics.json").read_text())

    def read(kind):
        files = sorted((test_dir / kind).glob("*.png"))
        arrays = [np.asarray(Image.open(f), dtype=np.float64) / 255 for f in files]
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)

    shown, recon = read("input"), read("recon")
    assert images["num_images"] == 2
    assert images["recon_psnr_mean"] == pytest.approx(float(psnr(recon, shown).mean()), abs=1e-4)
    thumb = (thumbnail(shown, 8) * 255).round() / 255  # float64 here, float32 there: a few
    assert images["thumbnail8_psnr_mean"] == pytest.approx(  # pixels round the other way
        float(psnr(thumb, shown).mean()), abs=5e-3
    )
    assert 0 < images["covered_fraction"] <= 1 and "recon_psnr_covered_mean" in images
    # The test outputs are written again only with --overwrite.
    test_cmd = [
        "test",
        "--checkpoint",
        str(out / "last.pt"),
        "--num_workers",
        "0",
        "--max_images",
        "2",
    ]
    assert cli_main(run.main, test_cmd) == 2
    assert "test_test: folder is not empty; pass --overwrite" in capsys.readouterr().err
    assert run.main([*test_cmd, "--overwrite"]) == 0

    feats = tmp_path / "f.npz"
    assert (
        run.main(
            [
                "extract",
                "--checkpoint",
                str(out / "last.pt"),
                "--split",
                "test",
                "--output",
                str(feats),
                "--num_workers",
                "0",
            ]
        )
        == 0
    )
    fs = load_features(feats)
    assert fs.groups == ["depth", "albedo", "light", "view"] and len(fs) == 4
    assert all(a.shape == (4, 256) for a in fs.features.values())
    assert "identity" in fs.label_names and fs.factors is not None
    assert fs.meta["split"] == "test" and len(fs.meta["checkpoint_sha256"]) == 64


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--gpu", "0", "--config", "experiments/demo.yaml"], "CUDA is not available"),
        (["--config", "nope.yaml"], "nope.yaml: config file not found"),
        (["test"], "--checkpoint is required"),
        ([], "--config is required"),
    ],
)
def test_cli_errors(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    from unsup3d.cli import cli_main

    assert cli_main(run.main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
