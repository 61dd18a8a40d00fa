"""Checkpoints for the segmentation tests: a tiny inverse renderer with U-Net (width 64) or conv
encoders, saved as run.py saves them (format_version, config, model)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from unsup3d.api import build_model, config_to_dict, load_config


def save_inverse_renderer(path: Path, encoder: str = "unet", unet_width: int = 64) -> Path:
    cfg = load_config(
        None,
        [
            "data.image_size=16",
            "model.preset=tiny",
            f"model.encoder={encoder}",
            f"model.unet_width={unet_width}",
            "model.use_conf_map=false",
            "loss.lam_perc=0",
        ],
    )
    torch.manual_seed(1)
    model = build_model(cfg)
    torch.save(
        {"format_version": 1, "config": config_to_dict(cfg), "model": model.state_dict()}, path
    )
    return path


@pytest.fixture(scope="session")
def unet_checkpoint(tmp_path_factory) -> Path:
    return save_inverse_renderer(tmp_path_factory.mktemp("ckpt") / "unet.pt")


@pytest.fixture(scope="session")
def conv_checkpoint(tmp_path_factory) -> Path:
    return save_inverse_renderer(tmp_path_factory.mktemp("ckpt") / "conv.pt", encoder="conv")
