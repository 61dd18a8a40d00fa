"""docs/tools/baseline_comparison.py end to end on tiny trained runs (PDR and a VQ-VAE): every
step through the real CLIs, the numbers read back from their results files, the table, a second
call that does nothing, stale results, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from PIL import Image

import run
from unsup3d.api import count_parameters, load_features, load_model
from unsup3d.cli import cli_main

VQVAE = "  name: vqvae\n  embedding_dim: 8\n  num_embeddings: 16\n"  # tiny, 16 px
BUDGETS = ("4", "8")
SIZES = ["--probe_train", "16", "--label_budgets", ",".join(BUDGETS)]


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("baseline_comparison")


def _train(tiny_config, name, seed, model=None, variant="none"):
    """A 2-step 16-px run (PDR tiny, or ``model`` as the config's model section) with run.seed
    ``seed``, 16 training and 24 test images."""
    cfg, out = tiny_config(f"{name}_{seed}.yaml", variant=variant, num_train=16)
    out = out.with_name(f"{name}_s{seed}")
    cfg.write_text(cfg.read_text().replace("  preset: small\n", model or "  preset: tiny\n"))
    argv = ["--config", str(cfg), "--num_workers", "0", "--seed", str(seed)]
    argv += ["--set", "trainer.max_steps=2", "--set", f"run.output_dir={out}"]
    assert run.main([*argv, "--set", "data.num_test=24"]) == 0
    return out


def _argv(runs, work, table, *extra):
    spec = [f"{m}={','.join(map(str, dirs))}" for m, dirs in runs.items()]
    return ["--runs", *spec, "--work", str(work), *SIZES, "--table", str(table), *extra]


def _mtimes(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _check_numbers(record, work):
    """A run's numbers in baseline_comparison.json are those of its results files."""
    w, m = work / f"{record['method'].replace(' ', '_')}_{record['seed']}", record["measures"]
    for label in ("identity", "emotion"):
        cl = json.loads((w / f"cluster_{label}.json").read_text())
        scores = cl["metrics"]["attributes"][label]
        assert m[f"{label}_acc"] == scores["cluster_accuracy"]
        assert m[f"{label}_nmi"] == scores["nmi"]
        assert cl["options"]["groups"] == record["groups"].split(",")
    assert cl["metrics"]["unit"] == "sample"  # emotion: one unit per test image
    identity = json.loads((w / "cluster_identity.json").read_text())["metrics"]
    assert identity["unit"] == "track" and identity["n_units"] == 100  # 1000 frames, 10 a track
    probe = json.loads((w / "probe" / "results.json").read_text())["metrics"]
    assert [r["num_train"] for r in probe["results"]] == [4, 8]
    assert m["probe_4"] == probe["results"][0]["accuracy_mean"]
    assert m["probe_8"] == probe["results"][1]["accuracy_mean"]
    assert probe["task"] == "multilabel" and "identity" not in probe["label_names"]
    assert m["probe_chance"] == probe["majority_rate"]
    lines = Path(record["run_dir"], "metrics.jsonl").read_text().splitlines()
    assert m["val_recon"] == min(json.loads(x)["val/recon"] for x in lines)
    model, _, _ = load_model(Path(record["run_dir"]) / "best.pt", torch.device("cpu"))
    assert record["parameters"] == count_parameters(model)
    feats = load_features(w / "features" / "test.npz")
    groups = record["groups"].split(",")
    assert record["feature_dim"] == sum(feats.features[g].shape[1] for g in groups)
    emotion = feats.labels[:, feats.label_names.index("emotion")]
    assert m["emotion_chance"] == np.bincount(emotion).max() / len(emotion)


@pytest.fixture
def one_thread():
    """Tiny tensors: on a shared 2-core machine, OpenMP threads spinning against other processes
    made this test ~5x slower than one thread."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        yield
    finally:
        torch.set_num_threads(threads)


def test_comparison_end_to_end(tool, tiny_config, tmp_path, capsys, one_thread):
    runs = {
        "PDR none": [_train(tiny_config, "pdr", s) for s in (0, 1)],
        "VQ-VAE": [_train(tiny_config, "vq", 0, VQVAE)],
    }
    work, table, figure = tmp_path / "eval", tmp_path / "table.md", tmp_path / "cmp.png"
    assert tool.main(_argv(runs, work, table, "--figure", str(figure))) == 0
    # per run: 3 extracts, 2 attribute files, 2 clusterings, the probe, model.json
    assert "(21 step(s) run)" in capsys.readouterr().out

    results = json.loads((work / "baseline_comparison.json").read_text())["metrics"]
    assert [(r["method"], r["seed"], r["groups"]) for r in results["runs"]] == [
        ("PDR none", 0, "depth,albedo"),
        ("PDR none", 1, "depth,albedo"),
        ("VQ-VAE", 0, "latent"),
    ]
    assert results["runs"][2]["feature_dim"] == 8 * 4 * 4  # D x S/4 x S/4
    text = table.read_text()
    for record in results["runs"]:
        _check_numbers(record, work)
        row = next(x for x in text.splitlines() if x.startswith(f"| {record['method']} | "
                                                                 f"{record['seed']} |"))  # fmt: skip
        assert f"| {tool.study.fmt(record['measures']['identity_acc'])} |" in row
    accs = [r["measures"]["probe_8"] for r in results["runs"][:2]]
    want = {"mean": np.mean(accs), "std": np.std(accs, ddof=1), "n": 2}
    assert results["summary"]["PDR none"]["probe_8"] == pytest.approx(want)
    assert results["summary"]["VQ-VAE"]["probe_8"]["std"] is None  # one seed
    rows = {x.split(" | ")[0]: x for x in text.splitlines() if "| mean ± std |" in x}
    assert list(rows) == ["| **PDR none**", "| **VQ-VAE**"]
    assert "| depth,albedo | 512 |" in rows["| **PDR none**"]
    assert "| latent | 128 |" in rows["| **VQ-VAE**"]
    assert "Image size: 16 (all runs); training steps: 2 (all runs)" in text
    # The commands, with placeholders.
    assert "--groups G --attributes A --num_train 4 8 --runs 1" in text
    assert "pdr → depth,albedo" in text and "vqvae → latent" in text
    assert Image.open(figure).size == (1760, 825)

    # A second call does no work: every results file stays as it was.
    before = _mtimes(work)
    assert tool.main(_argv(runs, work, table, "--overwrite")) == 0
    assert "(0 step(s) run)" in capsys.readouterr().out
    json_file = work / "baseline_comparison.json"
    assert {p: t for p, t in _mtimes(work).items() if p != json_file} == {
        p: t for p, t in before.items() if p != json_file
    }
    # ... and one whose output is gone is done again, alone.
    (work / "VQ-VAE_0" / "probe" / "results.json").unlink()
    assert tool.main(_argv(runs, work, table, "--overwrite")) == 0
    assert "(1 step(s) run)" in capsys.readouterr().out

    # Results of other probe settings are not mixed in silently.
    argv = _argv(runs, work, tmp_path / "t2.md")
    argv[argv.index("--label_budgets") + 1] = "4"
    assert cli_main(tool.main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {work / 'PDR_none_0' / 'study_run.json'}: ")
    assert "label_budgets" in err and "--overwrite" in err and "\n" not in err


def test_run_under_another_method(tool, tiny_config, tmp_path, capsys):
    vq = _train(tiny_config, "vq", 0, VQVAE)
    argv = _argv({"PDR none": [vq]}, tmp_path / "w", tmp_path / "t.md")
    assert cli_main(tool.main, argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {vq / 'config.yaml'}: model.name=vqvae, but it is given as method 'PDR none'; "
        "list it under its own method\n"
    )
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("budgets", ["4,32", "0,8", "4,4", "a"])
def test_bad_label_budgets(tool, tmp_path, capsys, budgets):
    argv = ["--runs", "x=nowhere", "--work", str(tmp_path / "w"), "--table", "t.md"]
    assert cli_main(tool.main, [*argv, "--probe_train", "16", "--label_budgets", budgets]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --label_budgets {budgets!r}: ") and "(16)" in err


def test_different_data_is_refused(tool):
    records = [
        {"work": "w/a_0", "data": {"test": {"images": 24, "labels": "x"}}},
        {"work": "w/b_0", "data": {"test": {"images": 30, "labels": "y"}}},
    ]
    match = r"w/b_0: the test split's labels differ from those of w/a_0 \(30 vs 24 images\)"
    with pytest.raises(tool.UserError, match=match):
        tool.check_same_data(records)


def test_pdr_run_under_another_loocc_variant(tool, tiny_config, tmp_path, capsys):
    lv = _train(tiny_config, "lv", 0, variant="LV")
    argv = _argv({"PDR LOOCC-L": [lv]}, tmp_path / "w", tmp_path / "t.md")
    assert cli_main(tool.main, argv) == 2
    assert "model.name=pdr, loocc.variant=LV, but it is given as method 'PDR LOOCC-L'" in (
        capsys.readouterr().err
    )
