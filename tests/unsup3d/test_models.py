"""`unsup3d.models`: the model registry (``model.name``), resolved lazily by module path."""

from __future__ import annotations

import pytest

from unsup3d import models
from unsup3d.config import load_config
from unsup3d.errors import UserError
from unsup3d.model import InverseRenderer
from unsup3d.pdr import PDR
from unsup3d.trainable import TrainableModel


def test_pdr_is_registered_and_built_from_a_config():
    assert models.model_class("pdr") is PDR
    net = models.build_model(load_config(None, ["model.preset=tiny", "data.image_size=16"]))
    assert isinstance(net, InverseRenderer) and net.image_size == 16


def test_every_registered_model_implements_the_interface():
    for name in models.MODELS:
        cls = models.model_class(name)
        assert issubclass(cls, TrainableModel), name
        assert cls.Settings().name == name and cls.feature_groups, name
        for method in ("training_terms", "get_features", "image_grids"):
            assert getattr(cls, method) is not getattr(TrainableModel, method), (name, method)


def test_an_unknown_name_repeats_it_and_lists_the_registered_ones(tmp_path):
    with pytest.raises(
        UserError,
        match="model.name 'vq_vae': unknown model; registered models: ae, betavae, fdae, gdrae, pdr, vqvae",
    ):
        models.model_class("vq_vae")
    path = tmp_path / "x.yaml"
    path.write_text("model:\n  name: vq_vae\n")
    with pytest.raises(UserError, match=r"x.yaml: model.name 'vq_vae': unknown model"):
        load_config(path)


def test_register_by_module_path_and_refuse_a_second_owner(monkeypatch):
    monkeypatch.setattr(models, "MODELS", dict(models.MODELS))
    models.register_model("pdr_alias", "unsup3d.model:InverseRenderer")
    assert models.model_class("pdr_alias") is InverseRenderer
    models.register_model("pdr_alias", "unsup3d.model:InverseRenderer")  # same owner: fine
    with pytest.raises(ValueError, match="already registered"):
        models.register_model("pdr_alias", "baselines.vqvae:VQVAE")
    with pytest.raises(ValueError, match="must be 'module:Class'"):
        models.register_model("other", "unsup3d.model.InverseRenderer")


def test_the_model_section_is_the_registered_models_settings(tmp_path):
    cfg = load_config(None, ["model.preset=small"])
    assert type(cfg.model) is InverseRenderer.Settings and cfg.model.name == "pdr"
