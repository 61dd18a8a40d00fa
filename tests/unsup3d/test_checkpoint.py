import random

import numpy as np
import pytest
import torch

from unsup3d.checkpoint import (
    clean_state_dict,
    load_checkpoint,
    load_model_state,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from unsup3d.errors import UserError


def test_roundtrip_weights_only_and_rng(tmp_path):
    model = torch.nn.Linear(3, 2)
    torch.manual_seed(1)
    state = rng_state()
    expected = (torch.rand(3), np.random.rand(2), random.random())  # noqa: NPY002
    save_checkpoint(
        tmp_path / "c.pt", {"model": model.state_dict(), "rng": state, "metrics": [{"a": 1.0}]}
    )
    # Loads under weights_only=True: no pickled objects inside.
    raw = torch.load(tmp_path / "c.pt", weights_only=True)
    assert raw["format_version"] == 1
    ckpt = load_checkpoint(tmp_path / "c.pt")
    set_rng_state(ckpt["rng"])
    got = (torch.rand(3), np.random.rand(2), random.random())  # noqa: NPY002
    torch.testing.assert_close(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[2] == expected[2]
    other = torch.nn.Linear(3, 2)
    load_model_state(other, ckpt["model"])
    torch.testing.assert_close(other.weight, model.weight)


def test_truncated_checkpoint_refused_previous_still_loads(tmp_path):
    model = torch.nn.Linear(3, 2)
    save_checkpoint(tmp_path / "good.pt", {"model": model.state_dict()})
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "bad.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="bad.pt: truncated or corrupt checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    assert "model" in load_checkpoint(tmp_path / "good.pt")


def test_pickled_object_refused(tmp_path):
    import argparse

    # DINO-style: a pickled argparse.Namespace inside the checkpoint.
    torch.save(
        {"model": {}, "format_version": 1, "args": argparse.Namespace(lr=1)}, tmp_path / "p.pt"
    )
    with pytest.raises(UserError, match="not a weights-only checkpoint"):
        load_checkpoint(tmp_path / "p.pt")


def test_not_a_checkpoint_and_missing(tmp_path):
    torch.save({"weights": torch.zeros(1)}, tmp_path / "w.pt")
    with pytest.raises(UserError, match="not a PDR checkpoint"):
        load_checkpoint(tmp_path / "w.pt")
    with pytest.raises(UserError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt")


def test_prefix_stripping_and_strict_load():
    sd = {"module._orig_mod.weight": torch.zeros(2, 3), "module.bias": torch.zeros(2)}
    assert set(clean_state_dict(sd)) == {"weight", "bias"}
    model = torch.nn.Linear(3, 2)
    load_model_state(model, sd)
    with pytest.raises(UserError, match="missing \\['bias'\\]"):
        load_model_state(model, {"weight": torch.zeros(2, 3)})
    load_model_state(model, {"weight": torch.zeros(2, 3)}, expect_missing={"bias"})
    with pytest.raises(UserError, match="unexpected"):
        load_model_state(model, {**sd, "extra": torch.zeros(1)})


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "last.pt", {"model": {"w": torch.ones(1)}})

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint(tmp_path / "last.pt", {"model": {"w": torch.zeros(1)}})
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "last.pt")["model"]["w"].item() == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left behind
