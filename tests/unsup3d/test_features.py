import json

import numpy as np
import pytest

from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, load_features, save_features


def _fs(n=6, rng=None):
    rng = rng or np.random.default_rng(0)
    return FeatureSet(
        features={
            g: rng.normal(size=(n, 4)).astype(np.float32)
            for g in ("depth", "albedo", "light", "view")
        },
        labels=np.arange(n) % 2,
        label_names=["identity"],
        track_ids=np.arange(n) // 2,
        factors=rng.normal(size=(n, 3)).astype(np.float32),
        factor_names=["a", "b", "c"],
        image_ids=np.array([f"img{i}.png" for i in range(n)]),
        meta={"split": "test"},
    )


def test_roundtrip_exact(tmp_path):
    fs = _fs()
    path = tmp_path / "f.npz"
    save_features(path, fs)
    back = load_features(path)
    assert back.groups == ["depth", "albedo", "light", "view"]
    for g in fs.features:
        np.testing.assert_array_equal(back.features[g], fs.features[g])
    np.testing.assert_array_equal(back.labels, fs.labels)
    assert back.labels.dtype == np.int64
    np.testing.assert_array_equal(back.track_ids, fs.track_ids)
    assert back.factor_names == ["a", "b", "c"]
    assert list(back.image_ids) == list(fs.image_ids)
    assert back.meta["split"] == "test"
    # Loads without pickle: every array is plain.
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_select_groups(tmp_path):
    fs = _fs()
    assert fs.select().shape == (6, 8)  # depth+albedo default
    assert fs.select("all").shape == (6, 16)
    np.testing.assert_array_equal(fs.select("light"), fs.features["light"])
    with pytest.raises(UserError, match="unknown feature group.*'shape'"):
        fs.select("shape")


def test_paper_layout(tmp_path):
    feats = np.random.default_rng(1).normal(size=(5, 1, 1024)).astype(np.float32)
    np.savez(tmp_path / "paper.npz", feats=feats, labels=np.array([0, 1, 1, 0, 2]))
    fs = load_features(tmp_path / "paper.npz")
    assert fs.groups == ["depth", "albedo", "light", "view"]
    np.testing.assert_array_equal(fs.features["view"], feats[:, 0, 768:])


def test_pickled_npy_refused_without_flag(tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, {"features": np.zeros((3, 7)), "labels": np.array([0, 1, 0])}, allow_pickle=True)
    with pytest.raises(UserError, match="--allow-pickle"):
        load_features(path)
    fs = load_features(path, allow_pickle=True)
    assert fs.groups == ["features"] and len(fs) == 3


def test_pickle_refusal_shows_the_callers_command(tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, {"features": np.zeros((3, 7)), "labels": np.array([0, 1, 0])}, allow_pickle=True)
    hint = f"python clustering/cluster_eval.py {path} --allow-pickle"
    with pytest.raises(UserError) as err:
        load_features(path, rerun_hint=hint)
    msg = str(err.value)
    assert f"re-run as: {hint}; or convert it once with: python -c" in msg
    assert f"np.savez('{tmp_path / 'data.npz'}', **d)" in msg and "\n" not in msg


def test_bad_inputs(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_features(tmp_path / "missing.npz")
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="corrupt.npz: not a .npz archive"):
        load_features(tmp_path / "corrupt.npz")
    bad = _fs()
    bad.features["depth"][2, 1] = np.nan
    with pytest.raises(UserError, match="NaN/inf in 1 of 6 rows"):
        save_features(tmp_path / "nan.npz", bad)
    short = _fs()
    short.labels = short.labels[:4]
    with pytest.raises(UserError, match="labels has 4 rows but features have 6"):
        save_features(tmp_path / "short.npz", short)
    np.savez(tmp_path / "nokeys.npz", x=np.zeros(3))
    with pytest.raises(UserError, match="no features found"):
        load_features(tmp_path / "nokeys.npz")


def test_meta_is_json(tmp_path):
    save_features(tmp_path / "m.npz", _fs())
    with np.load(tmp_path / "m.npz") as npz:
        assert json.loads(str(npz["meta"]))["format_version"] == 1
