"""`unsup3d.loading.load_model`: a model rebuilt from a checkpoint alone, old checkpoints included."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from unsup3d.checkpoint import save_checkpoint
from unsup3d.config import config_to_dict, load_config
from unsup3d.errors import UserError
from unsup3d.loading import load_model
from unsup3d.models import build_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_a_checkpoint_of_commit_07e5cba_loads_and_gives_its_outputs():
    # Written by tests/fixtures/make_checkpoint_07e5cba.py with the code of commit 07e5cba, the
    # head before the settings moved beside their code: its config dict has no model.name, a
    # border_depth of 1.04 and the old section layout.
    model, cfg, ckpt = load_model(FIXTURES / "checkpoint_07e5cba.pt", torch.device("cpu"))
    assert cfg.model.name == "pdr" and cfg.model.preset == "tiny" and cfg.data.image_size == 16
    assert cfg.model.border_depth == 1.04 and model.border_depth == 1.04
    assert ckpt["git_sha"].startswith("07e5cba")
    expected = torch.load(FIXTURES / "checkpoint_07e5cba_outputs.pt", weights_only=True)
    with torch.no_grad():
        out = model(expected["images"])
    torch.testing.assert_close(out.recon_image, expected["recon_image"], rtol=0, atol=1e-6)
    torch.testing.assert_close(out.canon_depth, expected["canon_depth"], rtol=0, atol=1e-6)
    for group, value in expected["features"].items():
        torch.testing.assert_close(out.features[group], value, rtol=0, atol=1e-6)
    torch.testing.assert_close(out.light, expected["light"], rtol=0, atol=1e-6)


def test_save_then_load_gives_identical_outputs(tmp_path):
    cfg = load_config(None, ["model.preset=tiny", "data.image_size=16"])
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    save_checkpoint(tmp_path / "m.pt", {"config": config_to_dict(cfg), "model": model.state_dict()})
    loaded, loaded_cfg, _ = load_model(tmp_path / "m.pt", torch.device("cpu"))
    assert loaded_cfg == cfg and not loaded.training
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(images).recon_image, loaded(images).recon_image)


def test_a_config_the_schema_rejects_names_the_checkpoint(tmp_path):
    cfg = config_to_dict(load_config(None, ["model.preset=tiny", "data.image_size=16"]))
    cfg["model"]["name"] = "vq_vae"
    save_checkpoint(tmp_path / "m.pt", {"config": cfg, "model": {}})
    with pytest.raises(
        UserError, match=r"m.pt \(saved config\): model.name 'vq_vae': unknown model"
    ):
        load_model(tmp_path / "m.pt", torch.device("cpu"))
