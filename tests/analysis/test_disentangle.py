"""analysis/disentangle.py end to end on a tiny feature file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.disentangle import main
from analysis.records import DisentanglementMetrics
from unsup3d.cli import cli_main
from unsup3d.errors import UserError

FAST = ["--fvae_train", "200", "--fvae_eval", "200", "--cca_components", "4"]


def test_cli_writes_table_json_and_figures(toy_feature_file, tmp_path, capsys, read_back):
    out = tmp_path / "out"
    assert main([str(toy_feature_file), "--output_dir", str(out), *FAST]) == 0
    table = capsys.readouterr().out
    assert "matched_abs_r" in table and "MIG" in table and "diagonal gap" in table
    record = read_back(DisentanglementMetrics, out)
    assert record.option("cca_components", int) == 4
    assert record.metrics.table() == table.rstrip("\n")
    rec = json.loads((out / "disentanglement.json").read_text())
    m = rec["metrics"]
    assert m["groups"] == ["depth", "albedo", "light", "view"]
    assert len(m["correlation"]["pairs"]) == 6
    assert m["correlation"]["mean"]["matched_abs_r"] < 0.1  # the toy groups are independent
    assert m["factor_prediction"]["diagonal_gap"] > 0.8
    assert m["factor_metrics"]["dci"]["model"] == "lasso"
    assert set(m["factor_metrics"]) >= {"mig", "sap", "dci", "factorvae"}
    assert rec["inputs"][0]["sha256"]
    for name in ("correlation.png", "factor_prediction.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_gbt_dci_and_group_subset(toy_feature_file, tmp_path, read_back):
    out = tmp_path / "gbt"
    args = [
        str(toy_feature_file),
        "--output_dir",
        str(out),
        "--groups",
        "depth,light",
        "--metrics",
        "dci,groups",
        "--dci_model",
        "gbt",
        "--dci_estimators",
        "5",
        "--num_bins",
        "5",
        "--no_figures",
    ]
    assert main(args) == 0
    assert read_back(DisentanglementMetrics, out).metrics.factor_metrics.sap is None
    m = json.loads((out / "disentanglement.json").read_text())["metrics"]
    assert m["factor_prediction"]["feature_groups"] == ["depth", "light"]
    assert 0.0 <= m["factor_metrics"]["dci"]["disentanglement"] <= 1.0
    assert "correlation" not in m and not list(out.glob("*.png"))


def test_cli_without_factors_reports_correlation_only(
    toy_feature_file_no_factors, tmp_path, read_back
):
    out = tmp_path / "plain"
    assert main([str(toy_feature_file_no_factors), "--output_dir", str(out), *FAST]) == 0
    read_back(DisentanglementMetrics, out)
    m = json.loads((out / "disentanglement.json").read_text())["metrics"]
    assert "correlation" in m and "factor_metrics" not in m and "factor_prediction" not in m


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metrics", "dci,bogus"], "unknown ['bogus']"),
        (["--groups", "depth,normals"], "unknown feature group"),
        (["--factor_prefix", "light_"], "PREFIX=GROUP"),
    ],
)
def test_cli_user_errors(toy_feature_file, tmp_path, extra, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        main([str(toy_feature_file), "--output_dir", str(tmp_path / "o"), *extra])


def test_cli_refuses_non_empty_output_dir_and_missing_file(toy_feature_file, tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "x.txt").write_text("keep me")
    assert cli_main(main, [str(toy_feature_file), "--output_dir", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert cli_main(main, [str(tmp_path / "nope.npz")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_max_samples_subsamples_deterministically(toy_feature_file, tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"s{i}"
        main(
            [
                str(toy_feature_file),
                "--output_dir",
                str(out),
                "--max_samples",
                "300",
                "--metrics",
                "correlation",
                "--no_figures",
            ]
        )
        outs.append(json.loads((out / "disentanglement.json").read_text())["metrics"])
    assert outs[0]["num_samples"] == 300
    assert np.isclose(
        outs[0]["correlation"]["mean"]["cca_mean"], outs[1]["correlation"]["mean"]["cca_mean"]
    )
