"""Pre-trained encoders: strict loading, the refusals, and frozen encoders staying bit-identical."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segmentation.data import SegmentationSplit
from segmentation.pretrained import read_encoders
from segmentation.train import TrainSettings, build_variant, train_run
from tests.segmentation.conftest import save_inverse_renderer
from unsup3d.api import UserError


def test_strict_load_reports_exactly_the_loaded_keys(unet_checkpoint):
    states = read_encoders(unet_checkpoint, "joint")
    model = build_variant(19, states, str(unet_checkpoint), freeze=False)
    ckpt = torch.load(unet_checkpoint, weights_only=True)["model"]
    for enc, st in zip(model.encoders, states):
        expected = sorted(k for k in ckpt if k.startswith(f"{st.net}.encoder.levels."))
        assert st.loaded == expected and len(expected) == len(enc.state_dict())
        assert st.skipped == [f"{st.net}.encoder.bottleneck.weight"]
        for key, value in enc.state_dict().items():
            torch.testing.assert_close(value, ckpt[f"{st.net}.encoder.{key}"], rtol=0, atol=0)
    assert [s.net for s in states] == ["depth_net", "albedo_net"]


def test_a_key_beyond_the_bottleneck_is_refused(unet_checkpoint):
    states = read_encoders(unet_checkpoint, "depth")
    states[0].state["extra.weight"] = torch.zeros(1)
    with pytest.raises(UserError, match=r"besides its levels.*\['bottleneck.weight'\]"):
        build_variant(19, states, "ckpt", freeze=False)


def test_shape_mismatch_is_refused(unet_checkpoint):
    states = read_encoders(unet_checkpoint, "albedo")
    states[0].state["levels.0.0.weight"] = torch.zeros(16, 3, 5, 5)
    with pytest.raises(UserError, match="albedo_net.encoder does not fit"):
        build_variant(19, states, "ckpt", freeze=False)


def test_conv_encoder_checkpoint_is_refused_naming_the_fix(conv_checkpoint):
    with pytest.raises(UserError, match=r"plain conv encoder.*model.encoder: unet") as info:
        read_encoders(conv_checkpoint, "depth")
    assert "experiments/pretrain_unet_synthetic_faces.yaml" in str(info.value)


def test_width_mismatch_names_both_widths(tmp_path):
    path = save_inverse_renderer(tmp_path / "w32.pt", unet_width=32)
    with pytest.raises(UserError, match=r"width 32 \(levels 8-16-32-64-128\).*width 64"):
        read_encoders(path, "depth")


def test_corrupt_or_foreign_file_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=str(bad)) as info:
        read_encoders(bad, "depth")
    assert "\n" not in str(info.value)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(UserError, match=f"{other}: not a PDR checkpoint"):
        read_encoders(other, "depth")


def _tiny_split(n=8, size=16, classes=19):
    g = torch.Generator().manual_seed(0)
    return SegmentationSplit(
        images=torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8),
        masks=torch.randint(0, classes, (n, size, size), generator=g).to(torch.uint8),
        image_ids=[str(i) for i in range(n)],
        identities=None,
        class_names=tuple(map(str, range(classes))),
        source="tiny",
    )


def test_freeze_leaves_the_encoders_bit_identical(unet_checkpoint, tmp_path):
    states = read_encoders(unet_checkpoint, "joint")
    model = build_variant(19, states, str(unet_checkpoint), freeze=True)
    enc_before = {k: v.clone() for k, v in model.encoders.state_dict().items()}
    dec_before = {k: v.clone() for k, v in model.decoder.state_dict().items()}
    settings = TrainSettings(epochs=1, batch_size=4, lr=1e-3, freeze=True)
    train_run(model, _tiny_split(), settings, 0, torch.device("cpu"), tmp_path, {})
    for k, v in model.encoders.state_dict().items():
        assert torch.equal(v, enc_before[k]), k  # weights and BatchNorm statistics
    assert any(not torch.equal(v, dec_before[k]) for k, v in model.decoder.state_dict().items())


def test_resumed_run_ends_identical_to_an_uninterrupted_one(tmp_path):
    split = _tiny_split()
    cpu = torch.device("cpu")
    results = []
    for name, epochs in (("straight", [2]), ("resumed", [1, 2])):
        for e in epochs:
            torch.manual_seed(5)
            model = build_variant(19, None, "", freeze=False)
            settings = TrainSettings(epochs=e, batch_size=4, lr=1e-3, freeze=False)
            history = train_run(model, split, settings, 0, cpu, tmp_path / name, {"a": 1})
        results.append((model.state_dict(), history))
    (a, ha), (b, hb) = results
    assert [h["loss"] for h in ha] == [h["loss"] for h in hb]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    with pytest.raises(UserError, match="other options"):
        train_run(model, split, settings, 0, cpu, tmp_path / "resumed", {"a": 2})
    assert np.isfinite(ha[-1]["loss"])
