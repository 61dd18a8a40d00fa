"""docs/tools/loocc_study.py end to end on tiny trained runs: every step through the real CLIs, the
numbers read back from their records, the table, a second call that does nothing, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

import run
from analysis.records import (
    DisentanglementMetrics,
    InvarianceMetrics,
    RobustnessMetrics,
    read,
)
from unsup3d.cli import cli_main

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "tools" / "loocc_study.py"
LABELS = ("Blond_Hair", "Pale_Skin")
SIZES = ["--num_train", "32", "--num_test", "32"]


@pytest.fixture(scope="module")
def study(load_tool):
    return load_tool("loocc_study")


def _train(tiny_config, variant, seed):
    """A 2-step 16-px run of ``variant`` with run.seed ``seed``."""
    cfg, out = tiny_config(f"{variant}_{seed}.yaml", variant=variant)
    out = out.with_name(f"{variant}_s{seed}")
    argv = ["--config", str(cfg), "--num_workers", "0", "--seed", str(seed)]
    argv += ["--set", "trainer.max_steps=2", "--set", f"run.output_dir={out}"]
    assert run.main(argv) == 0
    return out


def _argv(runs, work, table, figure, *extra):
    spec = [f"{v}={','.join(map(str, dirs))}" for v, dirs in runs.items()]
    return [
        "--runs", *spec, "--work", str(work), "--labels", ",".join(LABELS), *SIZES,
        "--table", str(table), "--figure", str(figure), *extra,
    ]  # fmt: skip


def _mtimes(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _check_numbers(study, record, work):
    """A run's numbers in loocc_study.json are those of its results files and records."""
    w, m = work / f"{record['variant']}_{record['seed']}", record["measures"]
    depth = json.loads((w / "test" / "depth_metrics.json").read_text())
    assert m["side"] == depth["object_side_mean"]
    assert m["side_constant"] == depth["object_side_best_constant_mean"]
    assert m["mad_deg"] == depth["object_mad_deg_mean"]
    assert m["relief"] == depth.get("object_relief_scale_median")  # None before the key existed
    image = w / "test" / "image_metrics.json"
    image = json.loads(image.read_text()) if image.is_file() else {}
    assert m["psnr"] == image.get("recon_psnr_mean")
    lines = Path(record["run_dir"], "metrics.jsonl").read_text().splitlines()
    assert m["val_recon"] == min(json.loads(x)["val/recon"] for x in lines)
    dis = read(DisentanglementMetrics, w / "disentangle").metrics
    assert m["pcc"] == dis.correlation.mean["matched_abs_r"]
    assert m["cca"] == dis.correlation.mean["cca_mean"]
    fp = dis.factor_prediction
    assert m["gap"] == fp.diagonal_gap
    matrix = np.asarray(fp.matrix)  # rows and columns: depth, albedo, light, view (+ other)
    assert list(fp.factor_groups)[:4] == fp.feature_groups
    assert m["diag"] == pytest.approx(np.diag(matrix[:, :4]).mean())
    assert m["off_diag"] == pytest.approx((matrix[:, :4].sum() - np.trace(matrix)) / 12)
    probes = [read(RobustnessMetrics, w / f"robustness_{x}").metrics for x in LABELS]
    drops = [p.probe["depth+albedo"].drop for p in probes]
    assert m["probe_drop"] == pytest.approx(np.mean(drops))
    assert record["probe"][LABELS[1]]["ood"] == probes[1].probe["depth+albedo"].ood
    inv = read(InvarianceMetrics, w / "invariance").metrics.invariance
    light = [inv["light"][g].change_vs_input_spread for g in ("depth", "albedo", "view")]
    assert m["inv_light"] == pytest.approx(np.mean(light))
    view = [inv["view"][g].relative_change for g in ("depth", "albedo", "light")]
    assert m["inv_view_rel"] == pytest.approx(np.mean(view))
    return study.fmt(m["pcc"])


def test_study_end_to_end(study, tiny_config, tmp_path, capsys):
    runs = {
        "LV": [_train(tiny_config, "LV", s) for s in (0, 1)],
        "none": [_train(tiny_config, "none", 0)],
    }
    work, table, figure = tmp_path / "eval", tmp_path / "table.md", tmp_path / "study.png"
    assert study.main(_argv(runs, work, table, figure)) == 0
    assert "(24 step(s) run)" in capsys.readouterr().out  # per run: test, 3 extracts, 4 analyses

    results = json.loads((work / "loocc_study.json").read_text())["metrics"]
    text = table.read_text()
    for record in results["runs"]:
        pcc = _check_numbers(study, record, work)
        row = next(
            x
            for x in text.splitlines()
            if x.startswith(f"| {record['variant']} | {record['seed']} |")
        )
        assert f"| {pcc} |" in row
    assert [(r["variant"], r["seed"]) for r in results["runs"]] == [
        ("LV", 0),
        ("LV", 1),
        ("none", 0),
    ]
    pccs = [r["measures"]["pcc"] for r in results["runs"][:2]]
    lv = results["summary"]["LV"]["pcc"]
    assert lv["n"] == 2 and lv["mean"] == pytest.approx(np.mean(pccs))
    assert lv["std"] == pytest.approx(np.std(pccs, ddof=1))
    assert results["summary"]["none"]["pcc"]["std"] is None
    mean_rows = [x for x in text.splitlines() if "| mean ± std |" in x]
    assert [x.split(" | ")[0] for x in mean_rows] == ["| **LV**", "| **none**"]
    assert f"{study.fmt(lv['mean'])} ± {lv['std']:.2g}" in mean_rows[0]
    assert "± n/a" in mean_rows[1]
    assert Image.open(figure).size == (1760, 825)

    # A second call does no work: every results file stays as it was.
    before = _mtimes(work)
    assert study.main(_argv(runs, work, table, figure, "--overwrite")) == 0
    assert "(0 step(s) run)" in capsys.readouterr().out
    after = _mtimes(work)
    json_file = work / "loocc_study.json"
    assert {p: t for p, t in after.items() if p != json_file} == {
        p: t for p, t in before.items() if p != json_file
    }
    # ... and one whose output is gone is done again, alone.
    results_file = work / "none_0" / "robustness_Pale_Skin" / "robustness.json"
    results_file.unlink()
    assert study.main(_argv(runs, work, table, figure, "--overwrite")) == 0
    assert "(1 step(s) run)" in capsys.readouterr().out
    assert results_file.is_file()

    # Results of other feature sizes are not mixed in silently.
    argv = _argv(runs, work, tmp_path / "t2.md", tmp_path / "f2.png")
    argv[argv.index("--num_train") + 1] = "24"
    assert cli_main(study.main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {work / 'LV_0' / 'study_run.json'}: ")
    assert "num_train" in err and "--overwrite" in err and "\n" not in err


def _fake_run(tiny_config, name, variant="LV", files=("config.yaml", "best.pt", "metrics.jsonl")):
    """A run directory holding ``files`` (a valid config.yaml, empty others)."""
    cfg, _ = tiny_config(f"{name}.yaml", variant=variant)
    folder = cfg.parent / name
    folder.mkdir()
    for f in files:
        (folder / f).write_text(cfg.read_text() if f == "config.yaml" else "")
    return folder


@pytest.mark.parametrize(
    "files, missing",
    [(("config.yaml", "metrics.jsonl"), "best.pt"), (("best.pt", "metrics.jsonl"), "config.yaml")],
)
def test_missing_run_file_is_named(study, tiny_config, tmp_path, capsys, files, missing):
    folder = _fake_run(tiny_config, "r", files=files)
    argv = _argv({"LV": [folder]}, tmp_path / "w", tmp_path / "t.md", tmp_path / "f.png")
    assert cli_main(study.main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {folder / missing}: missing;") and err.count("\n") == 1
    assert not (tmp_path / "w").exists()


def test_run_under_another_variant_or_seed_twice(study, tiny_config, tmp_path, capsys):
    lv, lv2 = _fake_run(tiny_config, "a"), _fake_run(tiny_config, "b")
    argv = _argv({"none": [lv]}, tmp_path / "w", tmp_path / "t.md", tmp_path / "f.png")
    assert cli_main(study.main, argv) == 2
    assert "loocc.variant=LV" in capsys.readouterr().err
    argv = _argv({"LV": [lv, lv2]}, tmp_path / "w", tmp_path / "t.md", tmp_path / "f.png")
    assert cli_main(study.main, argv) == 2
    assert "both have run.seed 3" in capsys.readouterr().err


def test_runs_as_a_script_from_anywhere(tmp_path):
    # `python docs/tools/loocc_study.py ...`: run.py and demo_figure.py are found by path.
    argv = _argv({"LV": ["nowhere"]}, "w", "t.md", "f.png")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *argv], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert (
        done.stderr == "error: nowhere: no such run directory; give the run.output_dir of a run\n"
    )


def test_reuses_run_py_tests_own_results(study, tiny_config, tmp_path, capsys):
    # run.py test's default output for this checkpoint (<run>/test_test) is used, not redone;
    # a test folder older than the checkpoint is not.
    out = _train(tiny_config, "LV", 0)
    argv = ["test", "--checkpoint", str(out / "best.pt"), "--num_workers", "0"]
    assert run.main([*argv, "--max_images", "4"]) == 0
    work = tmp_path / "eval"
    args = _argv({"LV": [out]}, work, tmp_path / "t.md", tmp_path / "f.png")
    assert study.main(args) == 0
    copied = work / "LV_0" / "test"
    assert sorted(p.name for p in copied.iterdir()) == ["depth_metrics.json", "image_metrics.json"]
    own = out / "test_test" / "depth_metrics.json"
    assert (copied / "depth_metrics.json").read_text() == own.read_text()
    assert study._own_test_results(study.Run("LV", 0, out, work / "LV_0")) != []
    (out / "best.pt").touch()  # a newer checkpoint: its own results are stale
    assert study._own_test_results(study.Run("LV", 0, out, work / "LV_0")) == []
