"""docs/tools/demo_figure.py on results written by the real analysis CLIs from tiny feature files
(the invariance results through their record: invariance.py needs a trained model)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from analysis import disentangle, interpret, robustness
from analysis.records import (
    InvarianceMetrics,
    InvarianceRow,
    PerturbationRanges,
    SceneChange,
    write,
)
from analysis.toy_codes import toy_physical_features
from unsup3d.cli import cli_main
from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, save_features

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "tools" / "demo_figure.py"


@pytest.fixture(scope="module")
def demo_figure(load_tool):
    return load_tool("demo_figure")


def _feature_file(path, seed, threshold=0.0, light_view_range=(0.0, 1.0), num=200):
    features, factors, names = toy_physical_features(
        num, seed, dim=8, noise=0.5, light_view_range=light_view_range
    )
    labels = np.stack([factors[:, 0] > threshold, factors[:, 4] > 0], axis=1).astype(np.int64)
    save_features(
        path,
        FeatureSet(
            features=features,
            labels=labels,
            label_names=["wide_face", "pale"],
            factors=factors,
            factor_names=names,
        ),
    )


def _invariance_folder(folder):
    """invariance.json as invariance.py writes it, with made-up movements."""
    rows = {
        g: InvarianceRow(0.1 * (i + 1), 0.2 * (i + 1), 4, 0.15 * (i + 1))
        for i, g in enumerate(("depth", "albedo", "light", "view"))
    }
    change = SceneChange(0.2, 0.2, 30.0, 0.0, 0.0)
    metrics = InvarianceMetrics(
        split="test",
        num_images=4,
        ranges=PerturbationRanges(0.5, 45.0, 22.5, 45.0),
        invariance={"light": rows, "view": rows},
        reconstruction=rows,
        scene_change={"light": change, "view": change},
        image_change={"light": 0.1, "view": 0.05},
        most_moved={"light": "view", "view": "view"},
    )
    folder.mkdir()
    args = argparse.Namespace(checkpoint="ck.pt", num_images=4)
    write(folder, metrics, inputs=[], args=args, argv=["--num_images", "4"])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Result folders of disentangle.py (2 seeds), robustness.py, interpret.py, invariance.py.

    The ood split's label is unbalanced on purpose, so its chance differs from the test split's.
    """
    root = tmp_path_factory.mktemp("demo_figure")
    for seed in (1, 2):
        _feature_file(root / f"test{seed}.npz", seed)
        out = root / f"dis{seed}"
        argv = [str(root / f"test{seed}.npz"), "--output_dir", str(out), "--no_figures"]
        assert disentangle.main([*argv, "--metrics", "correlation,groups"]) == 0
    _feature_file(root / "train.npz", 3)
    _feature_file(root / "ood.npz", 4, threshold=0.5, light_view_range=(1.0, 2.0))
    argv = ["--train", str(root / "train.npz"), "--test", str(root / "test1.npz")]
    argv += ["--ood", str(root / "ood.npz"), "--label", "wide_face", "--output_dir"]
    assert robustness.main([*argv, str(root / "rob"), "--no_cluster", "--no_figures"]) == 0
    argv = [str(root / "test1.npz"), "--output_dir", str(root / "int"), "--no_figures"]
    assert interpret.main([*argv, "--max_explain", "16", "--n_steps", "8"]) == 0
    argv = [str(root / "test1.npz"), "--output_dir", str(root / "int_mean"), "--no_figures"]
    assert (
        interpret.main([*argv, "--max_explain", "8", "--n_steps", "4", "--baseline", "mean"]) == 0
    )
    _invariance_folder(root / "inv")
    return root


def _argv(root, out, **replace):
    flags = {
        "--disentangle": [f"LV={root}/dis1,{root}/dis2", f"none={root}/dis2,{root}/dis1"],
        "--robustness": [f"LV={root}/rob,{root}/rob", f"none={root}/rob,{root}/rob"],
        "--interpret": [f"LV={root}/int", f"none={root}/int"],
        "--invariance": [f"LV={root}/inv", f"none={root}/inv"],
        "--retrained": [f"LV={root}/dis2"],
    }
    flags.update(replace)
    argv = ["--output", str(out)]
    for flag, values in flags.items():
        argv += [flag, *values]
    return argv


def test_writes_the_figure(demo_figure, results, tmp_path, capsys):
    out = tmp_path / "figs" / "demo.png"
    assert demo_figure.main(_argv(results, out)) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(out)
    assert image.shape[:2] == (1045, 1870)  # 17 x 9.5 in at 110 dpi
    assert image[..., :3].std() > 0.05  # not blank
    assert "wrote" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["demo.png"]  # no temporary file left


def test_chance_lines_come_from_each_split(demo_figure, results):
    rob = json.loads((results / "rob" / "robustness.json").read_text())["metrics"]
    r = demo_figure.collect(
        {"LV": [results / "dis1"], "none": [results / "dis2"]},
        {"LV": [results / "rob"], "none": [results / "rob"]},
        {"LV": [results / "int"], "none": [results / "int"]},
        {"LV": [results / "inv"], "none": [results / "inv"]},
    )
    first = rob["probe"]["depth+albedo"]
    assert r.chance == {
        "in_distribution": first["chance_in_distribution"],
        "ood": first["chance_ood"],
    }
    assert abs(r.chance["ood"] - r.chance["in_distribution"]) > 0.1  # ood is unbalanced
    assert r.probe_label == "wide_face" and r.group_sets == ["depth+albedo", "all"]
    assert r.probe["LV"]["all"]["ood"] == [rob["probe"]["all"]["ood"]]
    dis = json.loads((results / "dis2" / "disentanglement.json").read_text())["metrics"]
    np.testing.assert_array_equal(r.factor_matrices["none"][0], dis["factor_prediction"]["matrix"])
    assert r.correlation["none"]["cca_mean"] == [dis["correlation"]["mean"]["cca_mean"]]


def test_missing_key_names_file_and_fix(demo_figure, results, tmp_path, capsys):
    old = tmp_path / "rob_old"
    shutil.copytree(results / "rob", old)
    record = json.loads((old / "robustness.json").read_text())
    del record["metrics"]["probe"]["all"]["chance_ood"]  # as robustness.py wrote it before
    (old / "robustness.json").write_text(json.dumps(record))
    argv = _argv(results, tmp_path / "x.png", **{"--robustness": [f"LV={old}", f"none={old}"]})
    with pytest.raises(UserError, match=r"rob_old/robustness.json: no key 'metrics.probe.all"):
        demo_figure.main(argv)
    assert cli_main(demo_figure.main, argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "chance_ood" in err and "re-run `python analysis/robustness.py" in err
    assert "--output_dir " + str(old) in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({"--interpret": ["LV={root}/nowhere", "none={root}/int"]}, "nowhere: no such folder"),
        ({"--invariance": ["LV={root}/int", "none={root}/inv"]}, "no invariance.json in it"),
        ({"--disentangle": ["LV={root}/dis1"]}, "the figure compares exactly two"),
        ({"--interpret": ["LV={root}/int", "lv={root}/int"]}, "give the same variant names"),
        ({"--robustness": ["LV:{root}/rob", "none={root}/rob"]}, "expected VARIANT=DIR"),
        ({"--retrained": ["off={root}/dis1"]}, "unknown variant"),
        ({"--interpret": ["LV={root}/int", "none={root}/int_mean"]}, "is 'mean' but 'zero' in"),
        ({"--disentangle": ["LV={root}/rob", "none={root}/dis1"]}, "no disentanglement.json"),
        ({"--robustness": ["LV={root}/rob", "none={root}/dis1"]}, "no robustness.json"),
    ],
)
def test_bad_inputs_are_one_line_errors(demo_figure, results, tmp_path, replace, message):
    replace = {k: [v.format(root=results) for v in vals] for k, vals in replace.items()}
    with pytest.raises(UserError, match=message):
        demo_figure.main(_argv(results, tmp_path / "x.png", **replace))


def test_existing_output_needs_overwrite(demo_figure, results, tmp_path):
    out = tmp_path / "demo.png"
    out.write_bytes(b"old")
    with pytest.raises(UserError, match="exists; pass --overwrite"):
        demo_figure.main(_argv(results, out))
    assert out.read_bytes() == b"old"
    assert demo_figure.main([*_argv(results, out), "--overwrite"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_the_title_says_what_the_inputs_are_unless_given(demo_figure, results, tmp_path):
    r = demo_figure.collect(
        {"LV": [results / "dis1", results / "dis2"], "none": [results / "dis2", results / "dis1"]},
        {"LV": [results / "rob"], "none": [results / "rob"]},
        {"LV": [results / "int"], "none": [results / "int"]},
        {"LV": [results / "inv"], "none": [results / "inv"]},
    )
    assert r.title() == (
        "analysis/ CLIs on two model variants, LV vs none (2 training seeds each; 200 test images)"
    )
    assert demo_figure.demo_figure(r).get_suptitle() == r.title()
    assert demo_figure.demo_figure(r, "my run").get_suptitle() == "my run"
    matplotlib.pyplot.close("all")


def test_the_documented_command_runs_as_a_script(tmp_path):
    # `python docs/tools/demo_figure.py ...` from anywhere: the packages come from the install.
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "--disentangle" in done.stdout and "--title" in done.stdout


def test_the_old_path_forwards_to_the_script():
    import subprocess
    import sys
    from pathlib import Path

    old = Path(__file__).resolve().parents[2] / "analysis" / "demo_figure.py"
    proc = subprocess.run(
        [sys.executable, str(old), "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "six-panel figure" in proc.stdout
