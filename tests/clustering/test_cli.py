"""clustering/cluster_eval.py end to end: main([...]), the JSON, the script, one-line errors."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clustering.cluster_eval import main
from clustering.finch_hierarchy import finch_available
from evalkit import METRIC_NAMES
from unsup3d.cli import cli_main
from unsup3d.utils import sha256_file

REPO = Path(__file__).resolve().parents[2]


def run_cli(argv, capsys):
    """cli_main(main, argv) -> (exit status, stdout, stderr)."""
    status = cli_main(main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def error_line(argv, capsys):
    status, _, err = run_cli(argv, capsys)
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert status == 2 and len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_main_end_to_end_writes_json(feature_file, tmp_path, capsys):
    path = feature_file(n_per=6, k=3)
    status, out, _ = run_cli([path, "--output_dir", tmp_path / "res"], capsys)
    assert status == 0
    assert "identity  3    1.0000" in out
    record = json.loads((tmp_path / "res" / "feats_cluster_hac.json").read_text())
    metrics = record["metrics"]
    assert metrics["attributes"]["identity"] == {"n_clusters": 3, **{m: 1.0 for m in METRIC_NAMES}}
    assert metrics["groups"] == ["depth", "albedo"] and metrics["unit"] == "sample"
    assert record["inputs"] == [{"path": str(path), "sha256": sha256_file(path)}]
    assert record["options"]["method"] == "hac" and record["options"]["standardize"] is False
    assert record["command"][1:] == [str(path), "--output_dir", str(tmp_path / "res")]

    # noise groups only: far from perfect; the JSON next to the input is replaced on a re-run
    # with --overwrite, and only then
    status, out, _ = run_cli([path, "--groups", "light,view"], capsys)
    assert status == 0 and "(replaced the previous results)" not in out
    line = error_line([path, "--groups", "albedo"], capsys)
    assert line == (
        f"error: {tmp_path / 'feats_cluster_hac.json'}: exists; pass --overwrite to replace it, "
        "or choose another --output_dir"
    )
    status, out, _ = run_cli([path, "--groups", "light,view", "--overwrite"], capsys)
    assert status == 0 and "(replaced the previous results)" in out
    record = json.loads((tmp_path / "feats_cluster_hac.json").read_text())
    assert record["metrics"]["groups"] == ["light", "view"]
    assert record["metrics"]["attributes"]["identity"]["nmi"] < 0.5


def test_tracks_attributes_and_runs(feature_file, tmp_path, capsys):
    k, n_per = 3, 8
    identity = np.repeat(np.arange(k), n_per)
    labels = np.stack([identity, identity % 2, np.arange(k * n_per) // 2 % 2], axis=1)
    tracks = np.arange(k * n_per) // 2  # pairs of frames, same labels within a pair
    path = feature_file(
        n_per=n_per, k=k, labels=labels, label_names=["id", "odd", "alt"], track_ids=tracks
    )
    out_json = tmp_path / "r.json"

    status, out, _ = run_cli([path, "--attributes", "id,1", "--output", out_json], capsys)
    assert status == 0
    metrics = json.loads(out_json.read_text())["metrics"]
    assert metrics["unit"] == "track" and metrics["n_units"] == 12 and metrics["n_samples"] == 24
    assert metrics["label_names"] == ["id", "odd"]
    assert metrics["attributes"]["id"]["cluster_accuracy"] == 1.0
    assert "mean" in out.splitlines()[-2]

    status, _, _ = run_cli(
        [
            path,
            "--tracks",
            "off",
            "--runs",
            "2",
            "--subsample",
            "20",
            "--standardize",
            "--output",
            out_json,
            "--overwrite",
        ],
        capsys,
    )
    assert status == 0
    metrics = json.loads(out_json.read_text())["metrics"]
    assert metrics["unit"] == "sample" and metrics["n_clustered"] == 20
    assert [r["seed"] for r in metrics["runs"]] == [0, 1]
    assert set(metrics["attributes_std"]) == {"id", "odd", "alt"}

    ids_file = tmp_path / "tracks.txt"
    ids_file.write_text("\n".join(str(t) for t in np.arange(24) // 4))
    status, _, _ = run_cli(
        [path, "--attributes", "id", "--track_ids", ids_file, "--output", out_json, "--overwrite"],
        capsys,
    )
    record = json.loads(out_json.read_text())
    assert status == 0 and record["metrics"]["n_units"] == 6
    assert record["inputs"][1]["path"] == str(ids_file)


def test_paper_layout_and_groups(tmp_path, make_blobs, capsys):
    x, y = make_blobs(n_per=6, k=3, dim=1024)
    np.savez(tmp_path / "paper.npz", feats=x[:, None, :], labels=y[:, None])  # (N,1,F), (N,1)
    status, out, _ = run_cli([tmp_path / "paper.npz", "--groups", "all"], capsys)
    assert status == 0 and "identity" not in out and "\nlabel  3    1.0000" in out
    metrics = json.loads((tmp_path / "paper_cluster_hac.json").read_text())["metrics"]
    assert metrics["groups"] == ["depth", "albedo", "light", "view"]


def test_pickled_npy_refused_with_exact_command(tmp_path, make_blobs, capsys):
    x, y = make_blobs(n_per=5, k=2)
    npy = tmp_path / "data.npy"
    np.save(npy, {"features": x, "labels": y}, allow_pickle=True)
    line = error_line([npy, "--standardize"], capsys)
    assert (
        f"re-run as: python clustering/cluster_eval.py {npy} --standardize --allow-pickle;" in line
    )
    assert f"np.savez('{tmp_path / 'data.npz'}', **d)" in line
    status, out, _ = run_cli([npy, "--allow-pickle"], capsys)
    assert status == 0 and "1.0000" in out


def _bad_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("case", "extra", "message"),
    [
        ("nan", [], "features_depth has NaN/inf in 1 of 12 rows"),
        ("length", [], "labels has 11 rows but features have 12"),
        ("single", [], "label 'label' has a single value (0) over 12 samples"),
        ("ok", ["--groups", "depth,shape"], "unknown feature group(s) ['shape']"),
        ("ok", ["--attributes", "age"], "unknown label 'age' in --attributes"),
        ("ok", ["--max_memory_gb", "1e-6"], "ward HAC on 12 samples needs ~0.0 GB"),
        ("ok", ["--tracks", "on"], "--tracks on but the file has no track_ids"),
        ("nolabels", [], "no 'labels' array"),
        ("missing", [], "no such file"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, case, extra, message):
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(12, 4)).astype(np.float32)
    labels = np.arange(12) % 3
    arrays = {"features_depth": feats, "features_albedo": feats, "labels": labels}
    if case == "nan":
        arrays["features_depth"] = feats.copy()
        arrays["features_depth"][3, 1] = np.inf
    elif case == "length":
        arrays["labels"] = labels[:11]
    elif case == "single":
        arrays["labels"] = np.zeros(12, dtype=np.int64)
    elif case == "nolabels":
        del arrays["labels"]
    path = tmp_path / "bad.npz"
    if case != "missing":
        _bad_npz(path, **arrays)
    line = error_line([path, *extra], capsys)
    assert message in line
    assert line.startswith(f"error: {path}") or line.startswith("error: --")


@pytest.mark.skipif(not finch_available(), reason="finch-clust is not installed")
def test_finch_method(feature_file, capsys):
    path = feature_file(n_per=8, k=3, seed=2)  # its FINCH hierarchy has 6 and 3 clusters
    status, out, _ = run_cli([path, "--method", "finch", "--finch_distance", "euclidean"], capsys)
    assert status == 0 and "FINCH hierarchy" in out
    record = json.loads(path.with_name("feats_cluster_finch.json").read_text())
    levels = record["metrics"]["runs"][0]["levels"]
    assert len(levels) >= 1 and all(lv["attributes"]["identity"] for lv in levels)
    identity = record["metrics"]["attributes"]["identity"]
    assert identity["finch_clusters"] == 3 and identity["cluster_accuracy"] == 1.0
    assert re.search(rf"^{identity['level']}\s+3\s+1\.0000", out, re.M)  # hierarchy table


def test_help_lists_each_shared_flag_once_with_underscores(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = [m[1] for m in re.findall(r"^  (-v, )?(--\w+)", capsys.readouterr().out, re.M)]
    shared = ["--output_dir", "--output", "--overwrite", "--seed", "--verbose"]
    assert [flag for flag in listed if flag in shared] == shared
    assert "--allow_pickle" in listed and "--allow-pickle" not in listed


@pytest.mark.parametrize("where", ["clustering", "."])
def test_script_runs_from_repo_root_and_inside_clustering(feature_file, tmp_path, where):
    path = feature_file(n_per=5, k=2)
    script = "cluster_eval.py" if where == "clustering" else "clustering/cluster_eval.py"
    proc = subprocess.run(
        [sys.executable, script, str(path), "--output_dir", str(tmp_path / where)],
        cwd=REPO / where,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "identity  2    1.0000" in proc.stdout
    record = json.loads((tmp_path / where / "feats_cluster_hac.json").read_text())
    assert record["command"][0] == script


@pytest.mark.skipif(not finch_available(), reason="finch-clust is not installed")
def test_finch_runs_as_a_script_from_inside_clustering(feature_file, tmp_path):
    # The script's folder comes first on sys.path: no module of clustering/ may be named like
    # the finch-clust package it imports.
    path = feature_file(n_per=10, k=2)
    proc = subprocess.run(
        [sys.executable, "cluster_eval.py", str(path), "--method", "finch"]
        + ["--output_dir", str(tmp_path / "f")],
        cwd=REPO / "clustering",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "not installed" not in proc.stderr
