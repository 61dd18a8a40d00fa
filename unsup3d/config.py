"""The config: `Config` composes the settings sections; `load_config` reads YAML + ``--set``.

Each section's settings are one frozen dataclass defined beside the code it configures
(`unsup3d.schema`; docs/architecture.md lists where), holding every default, range and one-line
doc. This module only composes them, reads YAML, applies ``--set`` overrides and turns a bad value
into one error line naming the file, the dotted key and the fix: an unknown key (with a
did-you-mean), a wrong type, an out-of-range value, a missing or empty file. Angles are degrees in
configs (radians inside the code).

Compatibility: the paper's README switches LOOCC with a top-level ``cycle: true`` (its code read
``cyclic``); both are accepted as spellings of ``loocc.variant: LV`` (light + view, as the
release perturbed) and ``cycle: false`` of ``loocc.variant: none``.
"""

from __future__ import annotations

import copy
import difflib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from unsup3d.data.settings import DataSettings
from unsup3d.errors import UserError
from unsup3d.loocc import LooccSettings
from unsup3d.losses import LossWeights
from unsup3d.model import ModelSettings
from unsup3d.models import model_class
from unsup3d.renderer import RendererSettings
from unsup3d.schema import SettingError, as_dict, as_yaml
from unsup3d.trainer import RunSettings, TrainerSettings


@dataclass(frozen=True)
class Config:
    """A resolved experiment: one settings object per section, each defined beside its code.

    ``model`` holds the settings class of the registered model named by ``model.name``
    (`unsup3d.models`); PDR's is `unsup3d.model.ModelSettings`.
    """

    run: RunSettings = field(default_factory=RunSettings)
    data: DataSettings = field(default_factory=DataSettings)
    model: Any = field(default_factory=ModelSettings)
    renderer: RendererSettings = field(default_factory=RendererSettings)
    loss: LossWeights = field(default_factory=LossWeights)
    loocc: LooccSettings = field(default_factory=LooccSettings)
    trainer: TrainerSettings = field(default_factory=TrainerSettings)


_ALIASES = {"cycle": "loocc.variant", "cyclic": "loocc.variant"}


def _section_class(name: str, data: Any, source: str) -> type:
    """The settings class of section ``name``; for ``model``, the one of ``model.name``."""
    if name != "model":
        return typing.get_type_hints(Config)[name]
    default = ModelSettings.name  # the default model's name, defined in its settings
    model = (data or {}).get("name", default) if isinstance(data, dict) else default
    try:
        return model_class(model).Settings
    except UserError as exc:
        raise UserError(f"{source}: {exc}") from None


def _unknown_key(dotted: str, key: str, known: list[str], prefix: str, source: str) -> UserError:
    hint = difflib.get_close_matches(str(key), known, n=1)
    extra = f" (did you mean '{prefix}{hint[0]}'?)" if hint else f"; known keys: {', '.join(known)}"
    return UserError(f"{source}: unknown key '{dotted}'{extra}")


def _build_section(cls: type, data: Any, prefix: str, source: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{source}: '{prefix.rstrip('.')}' must be a mapping of keys, got {data!r}")
    known = [f.name for f in fields(cls)]
    for key in data:
        if key not in known:
            raise _unknown_key(f"{prefix}{key}", key, known, prefix, source)
    try:
        return cls(**data)
    except SettingError as exc:
        problem = exc.problem
        for name in exc.related:
            problem = problem.replace(f"'{name}'", f"'{prefix}{name}'")
        raise UserError(f"{source}: '{prefix}{exc.key}': {problem}") from None


def build_sections(
    config_cls: type,
    data: Any,
    source: str,
    section_class: Callable[[str, Any, str], type] | None = None,
) -> Any:
    """Validate a plain dict of sections into the dataclass ``config_cls`` (each field a
    settings section): unknown sections and keys, wrong types and out-of-range values become one
    `UserError` line naming ``source`` and the dotted key (with a did-you-mean).

    Args:
        config_cls: e.g. `Config`, or another tool's config of settings sections.
        data: {section: {key: value}} as read from YAML.
        source: the file (or other origin) named in errors.
        section_class: ``(name, section data, source) -> settings class`` where a section's
            class depends on its data (`Config`'s ``model``); default: the field's type.
    """
    if not isinstance(data, dict):
        raise UserError(f"{source}: the top level must be a mapping of sections")
    hints = typing.get_type_hints(config_cls)
    known = [f.name for f in fields(config_cls)]
    sections = {}
    for name, value in data.items():
        if name not in known:
            raise _unknown_key(name, name, known, "", source)
        cls = section_class(name, value, source) if section_class else hints[name]
        sections[name] = _build_section(cls, value, f"{name}.", source)
    return config_cls(**sections)


def _build(data: Any, source: str) -> Config:
    return build_sections(Config, data, source, _section_class)


def read_yaml_sections(path: str | Path, example: str) -> dict:
    """A config file's top-level mapping; one-line errors for a missing, unparsable, empty or
    non-mapping file (``example``: the file to start from, named in the fix)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: config file not found; pass an existing YAML, e.g. {example}")
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}: not valid YAML{where}; fix the syntax") from None
    if loaded is None:
        raise UserError(f"{path}: the config file is empty; start from {example}")
    if not isinstance(loaded, dict):
        raise UserError(f"{path}: the top level must be a mapping of sections")
    return loaded


def apply_override(data: dict, text: str) -> None:
    """Apply one ``--set section.key=value`` to ``data`` in place (the value parsed as YAML:
    ``1e-4``, ``true``, ``[8, 14]``).

    Raises:
        UserError: no ``=``, or a key path through something that is not a section.
    """
    keys, value = _parse_override(text)
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise UserError(f"--set {text}: '{k}' is not a section")
    node[keys[-1]] = value


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise UserError(f"--set {text}: expected section.key=value, e.g. --set trainer.lr=1e-4")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def _apply_aliases(data: dict, source: str) -> dict:
    for alias in _ALIASES:
        if alias in data:
            flag = data.pop(alias)
            if not isinstance(flag, bool):
                raise UserError(
                    f"{source}: '{alias}' must be true or false (the paper's LOOCC switch)"
                )
            loocc = dict(data.get("loocc") or {})
            if "variant" in loocc and loocc["variant"] != ("LV" if flag else "none"):
                raise UserError(
                    f"{source}: '{alias}: {flag}' contradicts 'loocc.variant: {loocc['variant']}'; keep one"
                )
            loocc["variant"] = "LV" if flag else "none"
            data["loocc"] = loocc
    return data


def _merged(base: dict, update: dict) -> dict:
    """``base`` with ``update`` merged in, recursively for nested mappings; inputs untouched."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def config_from_dict(data: dict, source: str = "<config>") -> Config:
    """Validate a plain dict (e.g. a checkpoint's ``config``) into a `Config`."""
    return _build(_apply_aliases(dict(data), source), source)


def load_config(
    path: str | Path | None,
    overrides: list[str] | tuple[str, ...] = (),
    base: dict | None = None,
) -> Config:
    """Load and validate an experiment YAML, then apply ``section.key=value`` overrides.

    Args:
        path: the YAML file, or None for the defaults.
        overrides: ``--set`` values; each value is parsed as YAML (``1e-4``, ``true``, ``[8, 14]``).
        base: a resolved config as a dict (e.g. a checkpoint's) to start from instead of the
            defaults; the file's keys are merged into it key by key, then the overrides.

    Raises:
        UserError: missing/empty/unparsable file, unknown key, wrong type, out-of-range value.
    """
    source = str(path) if path is not None else "<defaults>"
    data: dict = {}
    if path is not None:
        data = read_yaml_sections(path, "experiments/demo.yaml")
    data = _apply_aliases(dict(data), source)
    if base is not None:
        data = _merged(base, data)
    for text in overrides:
        keys, value = _parse_override(text)
        if keys[0] in _ALIASES and len(keys) == 1:
            data = _apply_aliases({**data, keys[0]: value}, f"--set {text}")
            continue
        apply_override(data, text)
    return _build(data, source)


def config_to_dict(cfg: Config) -> dict:
    """The resolved config as a plain dict (for YAML, checkpoints and feature metadata)."""
    return as_dict(cfg)


def dump_config(cfg: Config) -> str:
    """The resolved config as YAML text."""
    return as_yaml(cfg)
