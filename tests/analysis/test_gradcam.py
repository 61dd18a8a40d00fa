"""analysis/gradcam.py end to end on a tiny trained checkpoint."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import gradcam
from analysis.records import GradCamMetrics
from unsup3d.errors import UserError
from unsup3d.features import load_features


def test_gradcam_cli(tiny_run, capsys, read_back):
    ckpt, feats, root = tiny_run
    out = root / "gradcam"
    args = ["--checkpoint", str(ckpt), "--features", str(feats), "--num_images", "4"]
    assert gradcam.main([*args, "--output_dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "depth_net.encoder.stages.3" in printed and "zero maps" in printed
    rec = read_back(GradCamMetrics, out)
    m = rec.metrics
    assert m.groups == ["depth", "albedo"] and m.label == "identity"
    assert m.num_images == 4 and len(m.predicted) == 4
    assert vars(m.layers["albedo"]) == {
        "module": "albedo_net.encoder.stages.3",
        "output_size": [4, 4],
    }
    assert math.isclose(sum(m.ig.shares.values()), 1.0, rel_tol=1e-6)
    assert all(c.finite for c in m.cam.values())
    assert [i.path for i in rec.inputs] == [str(ckpt), str(feats)]
    with np.load(out / "gradcam_maps.npz", allow_pickle=False) as z:
        assert z["images"].shape == (4, 3, 16, 16)
        for g in ("depth", "albedo"):
            cam = z[f"cam_{g}"]
            assert cam.shape == (4, 16, 16) and np.isfinite(cam).all() and cam.min() >= 0
            zero = int(np.sum(cam.reshape(4, -1).max(axis=1) == 0))
            assert m.cam[g].zero_images == zero
            assert f"{zero}/4" in printed.splitlines()[1 + ("depth", "albedo").index(g)]
    assert (out / "gradcam.png").stat().st_size > 0

    # A binary attribute over all four encoders; an existing output folder needs --overwrite.
    fs = load_features(feats)
    binary = next(
        n
        for i, n in enumerate(fs.label_names)
        if n != "identity" and len(np.unique(fs.labels[:, i])) == 2
    )
    with pytest.raises(UserError, match="not empty"):
        gradcam.main([*args, "--output_dir", str(out)])
    more = ["--label", binary, "--groups", "all", "--output_dir", str(out), "--overwrite"]
    assert gradcam.main([*args, *more, "--num_images", "2"]) == 0
    m = read_back(GradCamMetrics, out).metrics
    assert list(m.cam) == ["depth", "albedo", "light", "view"] and m.label == binary


def test_gradcam_errors(tiny_run):
    ckpt, feats, root = tiny_run
    base = ["--checkpoint", str(ckpt), "--features", str(feats), "--output_dir", str(root / "e")]
    with pytest.raises(UserError, match="--label nope: not in"):
        gradcam.main([*base, "--label", "nope"])
    with pytest.raises(UserError, match="unknown feature group"):
        gradcam.main([*base, "--groups", "depth,extra"])
    with pytest.raises(UserError, match="checkpoint not found"):
        gradcam.main([*base[:1], str(root / "missing.pt"), *base[2:]])


def test_gradcam_refuses_another_models_checkpoint(tiny_run, relabelled_checkpoint, tmp_path):
    other = relabelled_checkpoint("model", "name", "betavae")
    argv = ["--checkpoint", str(other), "--features", str(tiny_run[1])]
    with pytest.raises(
        UserError,
        match=r"a betavae checkpoint; Grad-CAM per physical encoder needs a "
        r"PDR \(model.name: pdr\) checkpoint; .*analysis/interpret.py",
    ):
        gradcam.main([*argv, "--output_dir", str(tmp_path / "g")])
    assert not (tmp_path / "g").exists()  # refused before any output is written
