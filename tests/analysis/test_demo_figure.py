"""analysis/demo_figure.py on JSON files written by the real analysis CLIs from tiny feature files."""

from __future__ import annotations

import json
import shutil

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import run
from analysis import demo_figure, disentangle, interpret, invariance, robustness
from analysis.toy_codes import toy_physical_features
from unsup3d.cli import cli_main
from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, save_features


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


# A 1-step 16-px model for analysis/invariance.py (as in test_model_analysis.py).
TINY_RUN = """
run: {{output_dir: {out}, seed: 3}}
data: {{name: synthetic_faces, image_size: 16, num_train: 8, num_val: 4, num_test: 4}}
model: {{preset: small}}
loss: {{lam_perc: 0.0}}
trainer: {{num_epochs: 1, batch_size: 4, log_freq: 1, tensorboard: false}}
"""


def _invariance_folder(root):
    cfg = root / "tiny.yaml"
    cfg.write_text(TINY_RUN.format(out=root / "run"))
    argv = ["--config", str(cfg), "--num_workers", "0", "--set", "trainer.max_steps=1"]
    assert run.main(argv) == 0
    argv = ["--checkpoint", str(root / "run" / "last.pt"), "--num_images", "4", "--no_figures"]
    assert invariance.main([*argv, "--output_dir", str(root / "inv")]) == 0


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
    _invariance_folder(root)
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


def test_writes_the_figure(results, tmp_path, capsys):
    out = tmp_path / "figs" / "demo.png"
    assert demo_figure.main(_argv(results, out)) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(out)
    assert image.shape[:2] == (1045, 1870)  # 17 x 9.5 in at 110 dpi
    assert image[..., :3].std() > 0.05  # not blank
    assert "wrote" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["demo.png"]  # no temporary file left


def test_chance_lines_come_from_each_split(results):
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


def test_missing_key_names_file_and_fix(results, tmp_path, capsys):
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
    ],
)
def test_bad_inputs_are_one_line_errors(results, tmp_path, replace, message):
    replace = {k: [v.format(root=results) for v in vals] for k, vals in replace.items()}
    with pytest.raises(UserError, match=message):
        demo_figure.main(_argv(results, tmp_path / "x.png", **replace))


def test_existing_output_needs_overwrite(results, tmp_path):
    out = tmp_path / "demo.png"
    out.write_bytes(b"old")
    with pytest.raises(UserError, match="exists; pass --overwrite"):
        demo_figure.main(_argv(results, out))
    assert out.read_bytes() == b"old"
    assert demo_figure.main([*_argv(results, out), "--overwrite"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
