"""baselines/import_features.py: arrays computed elsewhere -> the project's feature file, read by
the evaluations; one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.disentangle import main as disentangle_main
from baselines.import_features import main
from classification import run_trainer
from clustering.cluster_eval import main as cluster_main
from unsup3d.cli import cli_main
from unsup3d.features import load_features
from unsup3d.utils import sha256_file

REPO = Path(__file__).resolve().parents[2]


def _labels(n: int, classes: int = 3) -> np.ndarray:
    return np.arange(n) % classes


@pytest.fixture
def wplus(tmp_path):
    """A tiny W+-like array (N, 18, 8) of three well-separated classes, and its label file."""
    rs = np.random.RandomState(0)
    n = 30
    y = _labels(n)
    centres = rs.standard_normal((3, 18, 8)) * 3
    arr = (centres[y] + 0.3 * rs.standard_normal((n, 18, 8))).astype(np.float32)
    path, labels = tmp_path / "wplus.npy", tmp_path / "identity.txt"
    np.save(path, arr)
    np.savetxt(labels, y, fmt="%d")
    return path, labels, arr, y


def test_wplus_becomes_one_group_with_provenance(wplus, tmp_path, capsys):
    path, labels, arr, y = wplus
    out = tmp_path / "w.npz"
    assert main([str(path), "--labels", str(labels), "--output", str(out)]) == 0
    assert "30 samples; groups features 144" in capsys.readouterr().out
    fs = load_features(out)
    assert fs.groups == ["features"] and fs.features["features"].dtype == np.float32
    np.testing.assert_array_equal(fs.features["features"], arr.reshape(30, 144))  # row-major
    np.testing.assert_array_equal(fs.labels, y)
    assert fs.label_names == ["label"] and fs.track_ids is None
    assert fs.meta["source_sha256"] == sha256_file(path) and fs.meta["source_shape"] == [30, 18, 8]
    assert fs.meta["inputs"]["labels"]["sha256"] == sha256_file(labels)
    assert fs.meta["command"][:2] == ["baselines/import_features.py", str(path)]
    assert fs.meta["imported"] is True


def test_group_sizes_cut_columns_in_order_and_ids_are_kept(wplus, tmp_path):
    path, _, arr, y = wplus
    csv = tmp_path / "attrs.csv"
    csv.write_text("Smiling,Male\n" + "".join(f"{v % 2},{v // 2}\n" for v in y))
    tracks, ids = tmp_path / "tracks.txt", tmp_path / "ids.txt"
    np.savetxt(tracks, np.arange(30) // 5, fmt="%d")
    ids.write_text("".join(f"img_{i:03d}.png\n" for i in range(30)))
    npz, out = tmp_path / "ris.npz", tmp_path / "ris_feats.npz"
    np.savez(npz, s=arr.reshape(30, -1), other=np.zeros(3))
    argv = [str(npz), "--key", "s", "--labels", str(csv), "--output", str(out)]
    argv += ["--group-sizes", "coarse=40,fine=104", "--track-ids", str(tracks)]
    assert main([*argv, "--image-ids", str(ids), "--source-model", "ris_s_space"]) == 0
    fs = load_features(out)
    flat = arr.reshape(30, 144)
    # Groups other than the scene parameters load in alphabetical order.
    assert {g: a.shape[1] for g, a in fs.features.items()} == {"coarse": 40, "fine": 104}
    np.testing.assert_array_equal(fs.features["coarse"], flat[:, :40])
    np.testing.assert_array_equal(fs.features["fine"], flat[:, 40:])
    assert fs.label_names == ["Smiling", "Male"] and fs.labels.shape == (30, 2)
    np.testing.assert_array_equal(fs.track_ids, np.arange(30) // 5)
    assert fs.image_ids[7] == "img_007.png" and fs.meta["source_key"] == "s"
    assert fs.meta["source_model"] == "ris_s_space"


def error_line(argv, capsys) -> str:
    status = cli_main(main, [str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bad_input_is_one_line_naming_file_and_fix(wplus, tmp_path, capsys):
    path, labels, arr, y = wplus
    out = ["--output", str(tmp_path / "o.npz")]
    ok = ["--labels", str(labels), *out]

    def save(name, value, **kw):
        p = tmp_path / name
        np.save(p, value, **kw)
        return p

    msg = error_line([tmp_path / "nope.npy", *ok], capsys)
    assert "nope.npy: no such file" in msg
    obj = save("obj.npy", np.array([object()] * 30, dtype=object), allow_pickle=True)
    msg = error_line([obj, *ok], capsys)
    assert "obj.npy: holds object (pickled) arrays" in msg and "--allow_pickle" in msg
    bad = arr.copy()
    bad[4, 2, 1] = np.nan
    bad[9, 0, 0] = np.inf
    msg = error_line([save("nan.npy", bad), *ok], capsys)
    assert "nan.npy: NaN/inf in 2 of 30 rows (first: row 4)" in msg
    short = tmp_path / "short.txt"
    np.savetxt(short, y[:29], fmt="%d")
    msg = error_line([path, "--labels", short, *out], capsys)
    assert "short.txt: 29 label rows for the 30 samples of" in msg
    for shape in ((30,), (30, 3, 4, 4)):
        msg = error_line([save("shape.npy", np.zeros(shape, np.float32)), *ok], capsys)
        assert f"features have shape {shape}" in msg and "expected (N, D)" in msg
    msg = error_line([path, *ok, "--group_sizes", "a=100,b=40"], capsys)
    assert "sizes sum to 140, but" in msg and "make the sizes sum to 144" in msg
    msg = error_line([path, *ok, "--group_sizes", "a=100,a=44"], capsys)
    assert "given twice" in msg
    msg = error_line([path, *ok, "--group", "bad-name"], capsys)
    assert "group name 'bad-name'" in msg
    npz = tmp_path / "two.npz"
    np.savez(npz, a=arr, b=arr)
    assert "holds 2 arrays (a, b); pick one with --key" in error_line([npz, *ok], capsys)
    frac = tmp_path / "frac.txt"
    np.savetxt(frac, y + 0.5)
    msg = error_line([path, "--labels", frac, *out], capsys)
    assert "not all whole numbers" in msg
    main([str(path), *ok])
    assert "exists; pass --overwrite" in error_line([path, *ok], capsys)


def test_pickled_array_read_only_when_allowed(wplus, tmp_path):
    _, labels, arr, _ = wplus
    obj = tmp_path / "rows.npy"
    np.save(obj, np.array(list(arr.reshape(30, -1)), dtype=object), allow_pickle=True)
    argv = [str(obj), "--labels", str(labels), "--output", str(tmp_path / "p.npz")]
    assert main([*argv, "--allow_pickle"]) == 0
    np.testing.assert_array_equal(
        load_features(tmp_path / "p.npz").features["features"], arr.reshape(30, -1)
    )


def test_imported_file_is_read_by_the_evaluations(wplus, tmp_path, capsys):
    path, labels, arr, y = wplus
    files = {}
    for split, seed in (("train", 0), ("test", 1)):
        rs = np.random.RandomState(seed)
        noisy = tmp_path / f"{split}.npy"
        np.save(noisy, arr + 0.1 * rs.standard_normal(arr.shape).astype(np.float32))
        files[split] = tmp_path / f"{split}_feats.npz"
        argv = [noisy, "--labels", labels, "--output", files[split]]
        assert main([str(a) for a in [*argv, "--group_sizes", "coarse=64,fine=80"]]) == 0
    train, test = files["train"], files["test"]
    # Clustering: three identities, separated.
    assert cluster_main([str(train), "--output_dir", str(tmp_path / "clu")]) == 0
    rec = json.loads(next((tmp_path / "clu").glob("*.json")).read_text())
    assert rec["options"]["groups"] in (None, ["coarse", "fine"])
    assert "label" in capsys.readouterr().out
    # Frozen probe on the imported groups.
    out = tmp_path / "probe"
    argv = ["--features", train, "--eval-features", test, "--groups", "coarse,fine"]
    argv += ["--num-train", "15", "--runs", "1", "--epochs", "30", "--output_dir", out]
    assert run_trainer.main([str(a) for a in argv]) == 0
    probe = json.loads((out / "results.json").read_text())["metrics"]
    assert probe["num_classes"] == 3 and probe["results"][0]["accuracy_mean"] >= 0.9
    # Group correlation (no factors in an imported file: correlation only).
    out = tmp_path / "dis"
    argv = [str(train), "--output_dir", str(out), "--no_figures", "--cca_components", "2"]
    assert disentangle_main(argv) == 0
    m = json.loads((out / "disentanglement.json").read_text())["metrics"]
    assert m["groups"] == ["coarse", "fine"] and len(m["correlation"]["pairs"]) == 1


@pytest.mark.parametrize("where", ["root", "baselines"])
def test_script_runs_from_repo_root_and_inside_baselines(wplus, tmp_path, where):
    path, labels, _, _ = wplus
    script = "import_features.py" if where == "baselines" else "baselines/import_features.py"
    out = tmp_path / f"{where}.npz"
    proc = subprocess.run(
        [sys.executable, script, str(path), "--labels", str(labels), "--output", str(out)],
        cwd=REPO / "baselines" if where == "baselines" else REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert load_features(out).meta["command"][0] == script
