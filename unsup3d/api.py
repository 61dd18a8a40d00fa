"""The core's public API: what evaluation and model packages may import from ``unsup3d``.

Evaluation packages (``clustering``, ``classification``, ``segmentation``, ``analysis``) and
model packages (``baselines``) import from this module, the CLI kit (`unsup3d.cli`) and the
evaluation kit (``evalkit``), never from another core module: everything else in ``unsup3d`` is an
internal that may change. ``tests/test_imports.py`` enforces the rule.

Names resolve lazily (PEP 562), so ``from unsup3d.api import load_features`` does not import
torch-heavy modules it does not need.

- Errors: `UserError`.
- Config: `Config`, `load_config`, `config_from_dict`, `config_to_dict`; for another tool's
  config of settings sections (the pipeline's): `read_yaml_sections`, `apply_override`,
  `build_sections`.
- Models: `MODELS`, `register_model`, `model_class` (the model registry, ``model.name``),
  `build_model` (random initialisation from a config), `load_model` (a checkpoint -> model,
  config, checkpoint dict), `load_checkpoint`, `load_model_state`, `InverseRenderer`,
  `InverseRendering`, `GROUPS`.
- The model interface: `TrainableModel` (what every registered model implements), `PDR` (the
  registered inverse renderer with its objective), `Settings`, `setting`, `SettingError` (to
  declare a model's settings section), `LossWeights`, `photometric_l1`, `perceptual_loss`,
  `perceptual_net` (the frozen VGG16 of a perceptual term).
- Networks: `DownPath`, `UpPath`, `PRESETS` (PDR's encoder, decoder and widths), `EncoderDecoder`, `ParameterEncoder`, `UNetDownPath` (the segmentation U-Net's down
  path), `BOTTLENECK_SIZE`, `count_parameters`.
- Rendering and LOOCC: `Renderer`, `depth_to_normals`, `PERTURBABLE`, `LooccSettings`,
  `sample_choice`, `perturb`, `render_perturbed` (perturb a predicted scene and re-render it).
- Data: `build_dataset` (registry name -> dataset), `dataset_from_config`, `DATASETS`,
  `iterate_batches`, `SyntheticDataset`, `synthetic_faces`.
- Features: `FeatureSet`, `load_features`, `save_features`, `SCENE_GROUPS`, `DEFAULT_GROUPS`.
- Training: `Trainer`.
- Utilities: `seed_everything`, `resolve_device`, `sha256_file`, `atomic_path`,
  `atomic_write_text`, `git_sha`.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> "module:attribute"
_EXPORTS: dict[str, str] = {
    "UserError": "unsup3d.errors:UserError",
    "Config": "unsup3d.config:Config",
    "load_config": "unsup3d.config:load_config",
    "config_from_dict": "unsup3d.config:config_from_dict",
    "config_to_dict": "unsup3d.config:config_to_dict",
    "build_sections": "unsup3d.config:build_sections",
    "read_yaml_sections": "unsup3d.config:read_yaml_sections",
    "apply_override": "unsup3d.config:apply_override",
    "MODELS": "unsup3d.models:MODELS",
    "register_model": "unsup3d.models:register_model",
    "model_class": "unsup3d.models:model_class",
    "build_model": "unsup3d.models:build_model",
    "load_model": "unsup3d.loading:load_model",
    "load_checkpoint": "unsup3d.checkpoint:load_checkpoint",
    "load_model_state": "unsup3d.checkpoint:load_model_state",
    "clean_state_dict": "unsup3d.checkpoint:clean_state_dict",
    "InverseRenderer": "unsup3d.model:InverseRenderer",
    "InverseRendering": "unsup3d.model:InverseRendering",
    "GROUPS": "unsup3d.loocc:GROUPS",
    "TrainableModel": "unsup3d.trainable:TrainableModel",
    "Settings": "unsup3d.schema:Settings",
    "setting": "unsup3d.schema:setting",
    "SettingError": "unsup3d.schema:SettingError",
    "PDR": "unsup3d.pdr:PDR",
    "LossWeights": "unsup3d.losses:LossWeights",
    "photometric_l1": "unsup3d.losses:photometric_l1",
    "perceptual_loss": "unsup3d.losses:perceptual_loss",
    "perceptual_net": "unsup3d.objective:perceptual_net",
    "DownPath": "unsup3d.networks:DownPath",
    "UpPath": "unsup3d.networks:UpPath",
    "PRESETS": "unsup3d.networks:PRESETS",
    "EncoderDecoder": "unsup3d.networks:EncoderDecoder",
    "ParameterEncoder": "unsup3d.networks:ParameterEncoder",
    "UNetDownPath": "unsup3d.networks:UNetDownPath",
    "BOTTLENECK_SIZE": "unsup3d.networks:BOTTLENECK_SIZE",
    "count_parameters": "unsup3d.networks:count_parameters",
    "Renderer": "unsup3d.renderer:Renderer",
    "depth_to_normals": "unsup3d.renderer:depth_to_normals",
    "light_direction": "unsup3d.renderer:light_direction",
    "PERTURBABLE": "unsup3d.loocc:PERTURBABLE",
    "LooccSettings": "unsup3d.loocc:LooccSettings",
    "sample_choice": "unsup3d.loocc:sample_choice",
    "Perturbation": "unsup3d.loocc:Perturbation",
    "perturb": "unsup3d.loocc:perturb",
    "render_perturbed": "unsup3d.loocc:render_perturbed",
    "build_dataset": "unsup3d.data.registry:build_dataset",
    "IMAGE_EXTENSIONS": "unsup3d.data.base:IMAGE_EXTENSIONS",
    "DATASETS": "unsup3d.data.registry:DATASETS",
    "dataset_from_config": "unsup3d.data.registry:dataset_from_config",
    "iterate_batches": "unsup3d.trainer:iterate_batches",
    "SyntheticDataset": "unsup3d.data.synthetic:SyntheticDataset",
    "synthetic_faces": "unsup3d.data.synthetic:synthetic_faces",
    "SYNTHETIC_DATASETS": "unsup3d.data.synthetic:DATASET_NAMES",
    "FeatureSet": "unsup3d.features:FeatureSet",
    "load_features": "unsup3d.features:load_features",
    "save_features": "unsup3d.features:save_features",
    "SCENE_GROUPS": "unsup3d.features:SCENE_GROUPS",
    "DEFAULT_GROUPS": "unsup3d.features:DEFAULT_GROUPS",
    "Trainer": "unsup3d.trainer:Trainer",
    "seed_everything": "unsup3d.utils:seed_everything",
    "resolve_device": "unsup3d.utils:resolve_device",
    "sha256_file": "unsup3d.utils:sha256_file",
    "atomic_path": "unsup3d.utils:atomic_path",
    "atomic_write_text": "unsup3d.utils:atomic_write_text",
    "git_sha": "unsup3d.utils:git_sha",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"unsup3d.api has no {name!r}; the public names are {__all__}")
    module, attr = _EXPORTS[name].split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return __all__
