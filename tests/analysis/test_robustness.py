"""analysis/robustness.py end to end on tiny feature files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis import robustness
from analysis.records import RobustnessMetrics, read
from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, load_features, save_features


def _probe_args(splits, ood=None, label="wide_face"):
    args = ["--train", str(splits["train"]), "--test", str(splits["test"])]
    return [*args, "--ood", str(ood or splits["ood"]), "--label", label]


def test_robustness_probe_and_cluster_shift(splits, tmp_path, capsys, read_back):
    out = tmp_path / "rob"
    args = [*_probe_args(splits), "--group_sets", "depth,albedo", "all", "--output_dir", str(out)]
    assert robustness.main(args) == 0
    assert "depth+albedo" in capsys.readouterr().out
    m = read_back(RobustnessMetrics, out).metrics
    assert set(m.probe) == {"depth+albedo", "all"}
    assert m.probe["depth+albedo"].in_distribution > 0.8  # the label is a depth factor
    raw = json.loads((out / "robustness.json").read_text())["metrics"]
    assert set(raw["cluster"]["all"]) == {"in_distribution", "ood", "drop"}
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
    args = [*_probe_args(splits, ood=tmp_path / "ood80.npz"), "--no_cluster"]
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


def test_robustness_feature_invariance_after_a_light_change(tmp_path, make_split, read_back):
    before = make_split(tmp_path / "before.npz", 4)
    rs = np.random.RandomState(0)
    after = dict(before.features)
    after["light"] = rs.permutation(before.features["light"])  # the light changed
    save_features(tmp_path / "after.npz", FeatureSet(features=after))
    out = tmp_path / "inv"
    args = ["--before", str(tmp_path / "before.npz"), "--after", str(tmp_path / "after.npz")]
    assert robustness.main([*args, "--output_dir", str(out)]) == 0
    inv = read_back(RobustnessMetrics, out).metrics.invariance
    assert inv.change == "light"
    assert inv.groups["depth"].change_vs_spread == 0.0
    assert inv.groups["light"].change_vs_spread > 0.8
    assert (out / "invariance.png").exists()


def test_robustness_user_errors(splits, tmp_path):
    with pytest.raises(UserError, match="all three"):
        robustness.main(["--train", str(splits["train"]), "--output_dir", str(tmp_path / "x")])
    with pytest.raises(UserError, match="nothing to do"):
        robustness.main(["--output_dir", str(tmp_path / "x")])
    with pytest.raises(UserError, match="--label nope"):
        robustness.main([*_probe_args(splits, label="nope"), "--output_dir", str(tmp_path / "y")])


def test_robustness_hyphenated_flags_and_output_dir_default(splits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [*_probe_args(splits), "--group-sets", "all", "--no-cluster", "--no-figures"]
    assert robustness.main(args) == 0
    rec = read(RobustnessMetrics, tmp_path / "robustness")  # the default --output_dir
    assert list(rec.metrics.probe) == ["all"] and rec.metrics.cluster is None
    assert rec.options["group_sets"] == ["all"] and rec.options["seed"] == 0
    assert rec.command[:2] == ["analysis/robustness.py", "--train"]
    with pytest.raises(UserError, match="not empty; pass --overwrite"):
        robustness.main(args)
