"""segmentation/run.py end to end on tiny synthetic faces, its outputs and its refusals."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from segmentation import run
from segmentation.data import load_split, open_split
from unsup3d import cli
from unsup3d.api import UserError

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--image_size", "16", "--num_train", "8", "--num_test", "8", "--epochs", "1"]
TINY += ["--batch_size", "4", "--no-tensorboard"]

VARIANTS = {
    "supervised": ([], "Supervised (random init)"),
    "depth": (["--encoder", "depth"], "Geometry encoder"),
    "albedo": (["--encoder", "albedo"], "Albedo encoder"),
    "joint": (["--encoder", "joint"], "Joint encoders"),
    "joint_frozen": (["--encoder", "joint", "--freeze"], "Joint encoders frozen"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_one_epoch_of_every_variant(variant, unet_checkpoint, tmp_path):
    flags, method = VARIANTS[variant]
    ckpt = [] if variant == "supervised" else [str(unet_checkpoint)]
    out = tmp_path / variant
    assert run.main([*ckpt, *flags, *TINY, "--output_dir", str(out)]) == 0
    record = json.loads((out / "results.json").read_text())
    metrics = record["metrics"]
    assert metrics["method"] == method
    (r0,) = metrics["runs"]
    for key in ("miou", "topk_miou", "pixel_accuracy"):
        assert 0 <= r0[key] <= 1 and metrics[key]["std"] == 0.0
    trainable = {"supervised": 1_944_355, "joint": 5_411_891, "joint_frozen": 3_050_387}
    if variant in trainable:
        assert metrics["parameters"]["trainable"] == trainable[variant]
    assert [i["path"] for i in record["inputs"]] == ckpt
    assert record["command"][0] == "segmentation/run.py"
    assert method in (out / "results.txt").read_text()
    assert (out / "per_class_iou.csv").read_text().startswith("class_id,class,iou_run0,mean")
    assert Image.open(out / "overlay.png").size == (8 * 16 * 2, 3 * 16 * 2)
    assert (out / "run_0" / "last.pt").is_file() and (out / "metrics.jsonl").is_file()


def test_runs_give_mean_and_std_and_resume_skips_done_epochs(tmp_path, caplog):
    out = tmp_path / "sup"
    args = [*TINY, "--runs", "2", "--output_dir", str(out), "--tensorboard"]
    assert run.main(args) == 0
    first = json.loads((out / "results.json").read_text())["metrics"]
    assert [r["seed"] for r in first["runs"]] == [0, 1]
    assert first["miou"]["mean"] == pytest.approx(np.mean([r["miou"] for r in first["runs"]]))
    assert list((out / "tb").iterdir())
    caplog.clear()
    caplog.set_level(logging.INFO)
    assert run.main([*args, "--resume"]) == 0  # every epoch done: nothing retrained
    again = json.loads((out / "results.json").read_text())["metrics"]
    assert [r["miou"] for r in again["runs"]] == [r["miou"] for r in first["runs"]]
    assert "resuming after epoch 1" in caplog.text


def test_conv_encoder_checkpoint_is_refused_before_any_output(conv_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.cli_main(run.main, [str(conv_checkpoint), "--output_dir", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert "model.encoder: unet" in err[0] and str(conv_checkpoint) in err[0]
    assert "experiments/pretrain_unet_synthetic_faces.yaml" in err[0]
    assert not out.exists()


def test_corrupt_checkpoint_is_one_line_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\0" * 10)
    assert cli.cli_main(run.main, [str(bad), "--output_dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--freeze"], "need a checkpoint"),
        (["--image_size", "24"], "multiple of 16"),
        (["--data", "nope"], "unknown dataset"),
        (["--num-train", "100000"], "has only 20000"),
    ],
)
def test_bad_flags(args, message, tmp_path):
    with pytest.raises(UserError, match=message):
        run.main([*TINY, "--output-dir", str(tmp_path / "o"), *args])  # the last spelling wins


def test_runs_from_the_repo_root_and_from_inside_segmentation():
    for cwd, script in ((ROOT, "segmentation/run.py"), (ROOT / "segmentation", "run.py")):
        proc = subprocess.run(
            [sys.executable, script, "--help"], cwd=cwd, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert "--num_train" in proc.stdout and "--encoder" in proc.stdout


def test_synthetic_train_and_test_identities_are_disjoint():
    train, classes = open_split("synthetic_faces", None, "train", 16)
    test, _ = open_split("synthetic_faces", None, "test", 16)
    assert len(classes) == 19 and classes[0] == "background"
    a = load_split(train, classes, np.arange(20), "train")
    b = load_split(test, classes, np.arange(20), "test")
    assert a.identities is not None and not set(a.identities) & set(b.identities)
    assert a.masks.max() < 19 and a.images.dtype == torch.uint8


def _celebamask(root: Path, masks: dict[str, np.ndarray]) -> Path:
    rng = np.random.default_rng(0)
    for split, names in (("train", ["a", "b"]), ("test", ["c", "d"])):
        (root / f"{split}_images").mkdir(parents=True)
        (root / f"{split}_masks").mkdir(parents=True)
        for name in names:
            img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(img).save(root / f"{split}_images" / f"{name}.png")
            mask = masks.get(name, rng.integers(0, 19, (32, 32)).astype(np.uint8))
            Image.fromarray(mask).save(root / f"{split}_masks" / f"{name}.png")
    return root


def test_celebamask_layout_with_ignore_index(tmp_path):
    mask = np.full((32, 32), 255, dtype=np.uint8)
    mask[:16] = 13
    root = _celebamask(tmp_path / "cm", {"a": mask})
    out = tmp_path / "out"
    args = ["--data", "celebamask", "--data_root", str(root), "--image_size", "16"]
    args += ["--num_train", "2", "--batch_size", "2", "--epochs", "1", "--no-tensorboard"]
    assert run.main([*args, "--output_dir", str(out)]) == 0
    ds, classes = open_split("celebamask_hq", str(root), "train", 16)
    split = load_split(ds, classes, np.arange(2), "train")
    assert set(np.unique(split.masks[0].numpy())) == {13, 255}  # nearest resize keeps 255


def test_celebamask_label_outside_the_classes_names_file_and_value(tmp_path):
    mask = np.zeros((32, 32), dtype=np.uint8)
    mask[3, 3] = 40
    root = _celebamask(tmp_path / "cm", {"b": mask})
    ds, classes = open_split("celebamask_hq", str(root), "train", 32)
    with pytest.raises(UserError, match=r"train_masks/b.png: mask has class id 40 outside 0..18"):
        load_split(ds, classes, np.arange(2), "train")
