"""classification/run_trainer.py end to end: main([...]) for each input kind, one-line errors."""

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from classification import backbone as backbone_lib
from classification import run_trainer
from unsup3d.cli import cli_main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def probe(tmp_path):
    """main([*flags, --runs, --epochs, --output_dir <fresh folder>]) must exit 0; returns
    (results.json as a dict, the folder)."""
    count = itertools.count()

    def run(*flags, runs=1, epochs=2):
        out = tmp_path / f"out{next(count)}"
        argv = [*flags, "--runs", runs, "--epochs", epochs, "--output_dir", out]
        assert run_trainer.main([str(a) for a in argv]) == 0
        return json.loads((out / "results.json").read_text()), out

    return run


def test_frozen_features_multiclass(feature_files, probe, capsys):
    train, test = feature_files()
    flags = ["--features", train, "--eval-features", test, "--groups", "depth,albedo"]
    rec, out = probe(*flags, "--num-train", 30, 60, runs=2, epochs=60)
    m = rec["metrics"]
    assert m["task"] == "multiclass" and m["num_classes"] == 3 and m["num_eval"] == 200
    assert [e["num_train"] for e in m["results"]] == [30, 60]
    assert all(len(e["runs"]) == 2 for e in m["results"])
    assert m["results"][1]["accuracy_mean"] >= 0.95
    assert rec["options"]["mode"] == "frozen" and rec["options"]["groups"] == ["depth", "albedo"]
    assert [i["path"] for i in rec["inputs"]] == [str(train), str(test)]
    assert rec["command"][:3] == ["classification/run_trainer.py", "--features", str(train)]
    assert "N train" in capsys.readouterr().out
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 2 * 60 and json.loads(lines[0])["epoch"] == 1


def test_frozen_features_multilabel_writes_per_attribute(feature_files, probe):
    train, test = feature_files(multilabel=True)
    inputs = ["--features", train, "--eval-features", test]
    rec, out = probe(*inputs, "--num-train", 50, "--groups", "all", epochs=20)
    m = rec["metrics"]
    assert m["task"] == "multilabel" and m["label_names"] == ["Smiling", "Male"]
    assert len(m["results"][0]["per_attribute_mean"]) == 2
    rows = (out / "per_attribute.csv").read_text().splitlines()
    assert rows[0] == "attribute,majority_rate,N50_mean,N50_std"
    assert rows[1].startswith("Smiling,") and len(rows) == 3
    assert "Smiling" in (out / "results.txt").read_text()


@pytest.mark.parametrize("spelling", ["hyphen", "underscore"])
def test_label_column_and_num_eval(feature_files, probe, spelling):
    train, test = feature_files(multilabel=True)
    flags = ["--eval-features", "--label-column", "--num-train", "--num-eval"]
    if spelling == "underscore":
        flags = [f.replace("-", "_").replace("__", "--", 1) for f in flags]
    rec, _ = probe(
        "--features", train, flags[0], test, flags[1], "Male", flags[2], 20, flags[3], 50
    )
    m = rec["metrics"]
    assert m["task"] == "multiclass" and m["label_names"] == ["Male"] and m["num_eval"] == 50


def _image_folder(root, images, labels, names):
    from PIL import Image

    root.mkdir()
    rows = ["filename," + ",".join(names)]
    for i, img in enumerate(images):
        Image.fromarray(img.transpose(1, 2, 0)).save(root / f"{i:03d}.png")
        lab = labels[i] if labels.ndim == 2 else [labels[i]]
        rows.append(f"{i:03d}.png," + ",".join(str(int(v)) for v in lab))
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_finetune_two_epochs_through_main(
    tmp_path, monkeypatch, tiny_backbone, make_colour_images, probe
):
    """Stand-in checkpoint + tiny image folders, through main([...]), 2 epochs."""
    torch.manual_seed(0)
    ckpt = tmp_path / "standin.pt"
    torch.save(tiny_backbone().state_dict(), ckpt)
    loaded = []

    def load_standin(path, device):
        model = tiny_backbone()
        model.load_state_dict(torch.load(path, weights_only=True))
        loaded.append(model)
        return model.to(device)

    monkeypatch.setattr(backbone_lib, "load_backbone", load_standin)
    images, y, attrs = make_colour_images(24, 16, 0)
    train = _image_folder(tmp_path / "train", images, attrs, ["Blue", "Bright"])
    images, y, attrs = make_colour_images(12, 16, 1)
    test = _image_folder(tmp_path / "test", images, attrs, ["Blue", "Bright"])
    inputs = ["--checkpoint", ckpt, "--data", train, "--eval-data", test, "--image-size", 16]
    rec, _ = probe(*inputs, "--num-train", 16, "--batch-size", 8, "--hflip")
    run = rec["metrics"]["results"][0]["runs"][0]
    assert rec["options"]["mode"] == "finetune" and rec["options"]["encoder_lr"] == 1e-4
    assert run["backbone_changed"] > 0  # finetuning moved the encoder weights
    assert rec["metrics"]["task"] == "multilabel"
    assert str(ckpt) in [i["path"] for i in rec["inputs"]]
    # the run's backbone was a fresh load (one load to check the checkpoint, one per run)
    assert len(loaded) == 2
    state = torch.load(ckpt, weights_only=True)
    assert not torch.equal(loaded[1].conv.weight.cpu(), state["conv.weight"])

    rec, _ = probe(*inputs, "--mode", "frozen", "--num-train", 16)
    assert rec["metrics"]["results"][0]["runs"][0]["backbone_changed"] == 0
    for key, value in state.items():
        assert torch.equal(loaded[-1].state_dict()[key].cpu(), value), key


def test_finetune_real_checkpoint_two_epochs(real_checkpoint, image_npz, probe):
    """The real inverse renderer (small preset, 16 px) from a checkpoint, through main([...])."""
    train, test = image_npz(n_train=16, n_eval=8, size=16, multilabel=True)
    inputs = ["--checkpoint", real_checkpoint, "--data", train, "--eval-data", test]
    rec, _ = probe(*inputs, "--num-train", 8, "--batch-size", 4)
    assert rec["options"]["image_size"] == 16  # taken from the checkpoint's config
    assert rec["options"]["groups"] == ["depth", "albedo"]
    assert rec["metrics"]["results"][0]["runs"][0]["backbone_changed"] > 0

    rec, _ = probe(*inputs, "--mode", "frozen", "--groups", "all", "--num-train", 8)
    assert rec["options"]["groups"] == ["depth", "albedo", "light", "view"]
    assert rec["metrics"]["results"][0]["runs"][0]["backbone_changed"] == 0


def test_checkpoint_flag_errors(real_checkpoint, image_npz, tmp_path, capsys):
    train, test = image_npz(size=16)
    base = [
        "--checkpoint",
        real_checkpoint,
        "--data",
        train,
        "--eval-data",
        test,
        "--output_dir",
        tmp_path / "o",
    ]
    err = _error([*base, "--image-size", 32], capsys)
    assert "was trained on 16 px images; drop --image-size or pass 16" in err
    err = _error([*base, "--groups", "depth,shape", "--overwrite"], capsys)
    assert "unknown group(s) ['shape']; choose from depth,albedo,light,view or all" in err


def test_resnet18_baseline(image_npz, probe):
    train, test = image_npz(n_train=16, n_eval=8, size=16)
    inputs = ["--baseline", "resnet18", "--data", train, "--eval-data", test, "--image-size", 16]
    rec, _ = probe(*inputs, "--num-train", 8, "--batch-size", 4, epochs=1)
    assert rec["options"]["groups"] == ["resnet18"] and rec["options"]["encoder_lr"] == 1e-3
    assert rec["metrics"]["results"][0]["runs"][0]["backbone_changed"] > 0


def _error(argv, capsys):
    rc = cli_main(run_trainer.main, [str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    return err


def test_bad_inputs_are_one_line_errors(feature_files, image_npz, tmp_path, capsys):
    train, test = feature_files()
    out = ["--output_dir", tmp_path / "o"]
    base = ["--features", train, "--eval-features", test, "--epochs", 1, *out]

    nolab, _ = feature_files(labels=False)
    err = _error(["--features", nolab, "--eval-features", test, *out], capsys)
    assert err.startswith("error: ") and "no 'labels' array" in err

    err = _error([*base, "--task", "multilabel", "--overwrite"], capsys)
    assert "labels are (N,) class ids" in err and "--task multiclass" in err

    ml_train, ml_test = feature_files(multilabel=True)
    err = _error(
        ["--features", ml_train, "--eval-features", ml_test, "--task", "multiclass", *out]
        + ["--overwrite"],
        capsys,
    )
    assert "attribute table" in err and "--label-column" in err

    err = _error([*base, "--num-train", 121, "--overwrite"], capsys)
    assert f"--num-train 121: {train} has only 120 labelled samples; use N <= 120" in err

    err = _error([*base, "--groups", "shape", "--overwrite"], capsys)
    assert "unknown feature group" in err

    err = _error(["--features", train, *out], capsys)
    assert "needs --eval-features" in err

    err = _error([*base, "--mode", "finetune", "--overwrite"], capsys)
    assert "a feature file has no encoder to train" in err

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    err = _error([*base[:-2], "--output_dir", tmp_path / "full"], capsys)
    assert "not empty; pass --overwrite" in err

    if not torch.cuda.is_available():
        err = _error([*base, "--gpu", "0", "--overwrite"], capsys)
        assert "CUDA is not available" in err

    img_train, img_test = image_npz()
    err = _error(
        ["--features", img_train, "--eval-features", img_test, *out, "--overwrite"], capsys
    )
    assert "no features found" in err


def test_checkpoint_without_model_code(tmp_path, image_npz, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "unsup3d.model", None)  # as if unsup3d/model.py were absent
    train, test = image_npz()
    ckpt = tmp_path / "c.pt"
    ckpt.write_bytes(b"")
    base = ["--data", train, "--eval-data", test, "--output_dir", tmp_path / "o"]
    err = _error(["--checkpoint", ckpt, *base], capsys)
    assert "needs the inverse-renderer model (unsup3d.model)" in err and "--features" in err
    err = _error(["--checkpoint", tmp_path / "missing.pt", *base, "--overwrite"], capsys)
    assert "missing.pt: checkpoint not found" in err


def test_help_shows_underscore_spellings_and_each_shared_flag_once(capsys):
    with pytest.raises(SystemExit):
        run_trainer.main(["--help"])
    text = capsys.readouterr().out
    for flag in ("--output_dir", "--overwrite", "--seed", "--gpu", "--batch_size", "-v, --verbose"):
        assert len(re.findall(rf"^  {flag}\b", text, re.M)) == 1, flag
    for flag in ("--eval_features", "--num_train", "--allow_pickle", "--freeze_norm_stats"):
        assert flag in text
    options = text[text.index("shared options:") :]  # the description may show either spelling
    assert "--eval-features" not in options and "--batch-size" not in options


def test_every_hyphenated_spelling_still_parses():
    hyphenated = {
        "--eval-features": "e.npz",
        "--eval-data": "d",
        "--image-size": "32",
        "--label-column": "x",
        "--num-eval": "3",
        "--batch-size": "8",
        "--encoder-lr": "0.5",
        "--weight-decay": "0.25",
        "--resnet-stem": "standard",
        "--output-dir": "o",
    }
    argv = [t for pair in hyphenated.items() for t in pair]
    argv += ["--allow-pickle", "--no-freeze-norm-stats", "--num-train", "5", "7"]
    args = vars(run_trainer.build_parser().parse_args(argv))
    for flag, value in hyphenated.items():
        assert str(args[flag[2:].replace("-", "_")]) == value, flag
    assert args["allow_pickle"] and args["freeze_norm_stats"] is False
    assert args["num_train"] == [5, 7]


def test_runs_as_a_script_from_the_repo_root(feature_files, tmp_path):
    """`python classification/run_trainer.py` imports through the editable install; a bad N
    gives exit status 2 and exactly one stderr line (nothing logged before it)."""
    train, test = feature_files(n_train=20, n_eval=10)
    proc = subprocess.run(
        [
            sys.executable,
            "classification/run_trainer.py",
            "--features",
            str(train),
            "--eval-features",
            str(test),
            "--num-train",
            "999",
            "--output_dir",
            str(tmp_path / "o"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: --num-train 999: {train} has only 20 labelled samples; use N <= 20"
    ]
