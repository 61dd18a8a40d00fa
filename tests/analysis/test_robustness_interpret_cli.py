"""analysis/robustness.py and analysis/interpret.py end to end on tiny feature files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis import interpret, robustness
from analysis.toy_codes import toy_physical_features
from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, load_features, save_features


def _split_file(path, seed, light_view_range=(0.0, 1.0), num=300):
    feats, factors, names = toy_physical_features(
        num, seed, dim=16, noise=0.5, light_view_range=light_view_range
    )
    labels = np.stack([factors[:, 0] > 0, factors[:, 5] > 0], axis=1).astype(np.int64)
    fs = FeatureSet(
        features=feats,
        labels=labels,
        label_names=["wide_face", "bright_light"],
        factors=factors,
        factor_names=names,
    )
    save_features(path, fs)
    return fs


@pytest.fixture
def splits(tmp_path):
    paths = {s: tmp_path / f"{s}.npz" for s in ("train", "test", "ood")}
    _split_file(paths["train"], 1)
    _split_file(paths["test"], 2)
    _split_file(paths["ood"], 3, light_view_range=(1.0, 2.0))
    return paths


def test_robustness_probe_and_cluster_shift(splits, tmp_path, capsys):
    out = tmp_path / "rob"
    args = [
        "--train",
        str(splits["train"]),
        "--test",
        str(splits["test"]),
        "--ood",
        str(splits["ood"]),
        "--label",
        "wide_face",
        "--group_sets",
        "depth,albedo",
        "all",
        "--output_dir",
        str(out),
    ]
    assert robustness.main(args) == 0
    assert "depth+albedo" in capsys.readouterr().out
    m = json.loads((out / "robustness.json").read_text())["metrics"]
    assert set(m["probe"]) == {"depth+albedo", "all"}
    assert m["probe"]["depth+albedo"]["in_distribution"] > 0.8  # the label is a depth factor
    assert set(m["cluster"]["all"]) == {"in_distribution", "ood", "drop"}
    assert (out / "ablation.png").read_bytes()[:4] == b"\x89PNG"


def test_robustness_chance_is_per_split(splits, tmp_path, capsys):
    # An ood split that is 80 % class 1: its chance differs from the test split's.
    fs = load_features(splits["ood"])
    y = fs.labels[:, 0]
    n1 = (y == 1).sum() // 4 * 4
    keep = np.concatenate([np.flatnonzero(y == 1)[:n1], np.flatnonzero(y == 0)[: n1 // 4]])
    ood = FeatureSet(
        features={g: f[keep] for g, f in fs.features.items()},
        labels=fs.labels[keep],
        label_names=fs.label_names,
    )
    save_features(tmp_path / "ood80.npz", ood)
    out = tmp_path / "rob"
    args = ["--train", str(splits["train"]), "--test", str(splits["test"])]
    args += ["--ood", str(tmp_path / "ood80.npz"), "--label", "wide_face", "--no_cluster"]
    assert robustness.main([*args, "--output_dir", str(out)]) == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "robustness.json").read_text())["metrics"]
    y_test = load_features(splits["test"]).labels[:, 0]
    test_major = int(np.mean(y_test) > 0.5)
    for v in m["probe"].values():
        assert v["chance_ood"] == pytest.approx(0.8) and v["majority_ood"] == 1
        assert v["chance_in_distribution"] == pytest.approx(np.mean(y_test == test_major))
        assert v["majority_in_distribution"] == test_major
        assert {"in_distribution", "ood", "drop", "chance"} <= set(v)  # the old keys stay
    assert m["label"] == "wide_face"
    assert "ood wide_face=1 (0.8000)" in printed and "chance" in printed


def test_robustness_feature_invariance_after_a_light_change(tmp_path):
    before = _split_file(tmp_path / "before.npz", 4)
    rs = np.random.RandomState(0)
    after = dict(before.features)
    after["light"] = rs.permutation(
        before.features["light"]
    )  # the light changed: new light features
    save_features(tmp_path / "after.npz", FeatureSet(features=after))
    out = tmp_path / "inv"
    assert (
        robustness.main(
            [
                "--before",
                str(tmp_path / "before.npz"),
                "--after",
                str(tmp_path / "after.npz"),
                "--output_dir",
                str(out),
            ]
        )
        == 0
    )
    inv = json.loads((out / "robustness.json").read_text())["metrics"]["invariance"]["groups"]
    assert inv["depth"]["change_vs_spread"] == 0.0
    assert inv["light"]["change_vs_spread"] > 0.8
    assert (out / "invariance.png").exists()


def test_robustness_user_errors(splits, tmp_path):
    with pytest.raises(UserError, match="all three"):
        robustness.main(["--train", str(splits["train"]), "--output_dir", str(tmp_path / "x")])
    with pytest.raises(UserError, match="nothing to do"):
        robustness.main(["--output_dir", str(tmp_path / "x")])
    with pytest.raises(UserError, match="--label nope"):
        robustness.main(
            [
                "--train",
                str(splits["train"]),
                "--test",
                str(splits["test"]),
                "--ood",
                str(splits["ood"]),
                "--label",
                "nope",
                "--output_dir",
                str(tmp_path / "y"),
            ]
        )


def test_interpret_shares_point_at_the_right_group(splits, tmp_path, capsys):
    out = tmp_path / "interp"
    assert interpret.main([str(splits["train"]), "--output_dir", str(out), "--n_steps", "16"]) == 0
    assert "wide_face" in capsys.readouterr().out
    m = json.loads((out / "interpretability.json").read_text())["metrics"]["labels"]
    wide, bright = m["wide_face"]["shares"], m["bright_light"]["shares"]
    assert max(wide, key=wide.get) == "depth"
    assert max(bright, key=bright.get) == "light"
    assert sum(wide.values()) == pytest.approx(1.0)
    assert m["wide_face"]["max_abs_delta"] < 1e-6  # linear probe: IG is exact
    assert (out / "attribution.png").read_bytes()[:4] == b"\x89PNG"


def test_interpret_unknown_label(splits, tmp_path):
    with pytest.raises(UserError, match="unknown"):
        interpret.main(
            [str(splits["train"]), "--labels", "nope", "--output_dir", str(tmp_path / "i")]
        )
