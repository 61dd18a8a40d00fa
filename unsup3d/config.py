"""The one configuration schema, and `load_config` (YAML + ``--set`` overrides, validated).

Every experiment YAML is checked against the nested frozen dataclasses below: an unknown key (with
a did-you-mean), a wrong type, an out-of-range value or a missing/empty file is one error line
naming the file, the dotted key and the fix. Defaults live here and nowhere else. Units are in
the field comments; angles are degrees in configs (radians inside the code).

Compatibility: the paper's README switches LOOCC with a top-level ``cycle: true`` (its code read
``cyclic``); both are accepted as spellings of ``loocc.variant: LV`` (light + view, as the
release perturbed) and ``cycle: false`` of ``loocc.variant: none``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from unsup3d.errors import UserError


def _rng(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> dict:
    return {"range": (lo, hi, lo_open)}


@dataclass(frozen=True)
class RunConfig:
    output_dir: str = "runs/default"  # run directory: config.yaml, checkpoints, metrics, logs
    seed: int = field(default=0, metadata=_rng(0))  # seeds python, numpy, torch, data, LOOCC
    deterministic: bool = True  # cudnn.benchmark off, deterministic algorithms where available


@dataclass(frozen=True)
class DataConfig:
    name: str = "synthetic_faces"  # dataset registry name (unsup3d.data.registry)
    root: str = ""  # dataset folder on disk; empty for the built-in synthetic data
    image_size: int = field(default=64, metadata=_rng(16, 512))  # pixels (S x S); 64 as the paper
    crop: list[int] = field(default_factory=list)  # [] none, [c] centre crop, [top, left, h, w]
    train_split: str = "train"
    val_split: str = "val"
    test_split: str = "test"
    num_train: int = field(default=0, metadata=_rng(0))  # synthetic: images in train (0: default)
    num_val: int = field(default=0, metadata=_rng(0))  # synthetic: images in val (0: default)
    num_test: int = field(default=0, metadata=_rng(0))  # synthetic: images in test (0: default)
    fraction: float = field(default=1.0, metadata=_rng(0.0, 1.0, lo_open=True))  # of the train set
    hflip: bool = True  # random horizontal flip of training images
    dataset_seed: int = field(default=0, metadata=_rng(0))  # synthetic data seed (fixed: the data)


@dataclass(frozen=True)
class ModelConfig:
    name: str = "pdr"  # model registry name (unsup3d.models.MODELS)
    preset: Literal["paper", "small"] = "paper"  # paper: 29.4 M params; small: 3.8 M, CPU-sized
    encoder: Literal["conv", "unet"] = "conv"  # depth/albedo down path (unet: for segmentation)
    use_conf_map: bool = True  # confidence network for the photometric / perceptual losses
    border_depth: float = field(default=1.04, metadata=_rng(0.0))  # depth of the side columns
    border_width: int = field(default=2, metadata=_rng(0))  # columns per side set to border_depth
    xyz_rotation_range_deg: float = field(default=60.0, metadata=_rng(0.0, 180.0))  # view bound
    xy_translation_range: float = field(default=0.1, metadata=_rng(0.0))  # view tx, ty bound
    z_translation_range: float = field(default=0.0, metadata=_rng(0.0))  # view tz bound (0: none)
    min_ambient: float = field(default=0.0, metadata=_rng(0.0))
    max_ambient: float = field(default=1.0, metadata=_rng(0.0))
    min_diffuse: float = field(default=0.0, metadata=_rng(0.0))
    max_diffuse: float = field(default=1.0, metadata=_rng(0.0))
    light_dxy_range: float = field(
        default=1.0, metadata=_rng(0.0, lo_open=True)
    )  # |dx|, |dy| bound


@dataclass(frozen=True)
class RendererConfig:
    fov_deg: float = field(
        default=10.0, metadata=_rng(0.0, 180.0, lo_open=True)
    )  # full field of view
    rot_center_depth: float = 1.0  # depth of the view rotation centre
    min_depth: float = field(default=0.9, metadata=_rng(0.0, lo_open=True))  # canonical depth range
    max_depth: float = field(default=1.1, metadata=_rng(0.0, lo_open=True))
    near: float = field(default=0.1, metadata=_rng(0.0, lo_open=True))  # rasteriser depth range
    far: float = field(default=10.0, metadata=_rng(0.0, lo_open=True))
    convention: Literal["clean", "nmr_compat"] = "clean"  # nmr_compat: the release's sampling


@dataclass(frozen=True)
class LossConfig:
    lam_perc: float = field(default=1.0, metadata=_rng(0.0))  # perceptual (VGG16 relu3_3) weight
    lam_flip: float = field(default=0.5, metadata=_rng(0.0))  # flipped-reconstruction weight
    lam_flip_start_epoch: int = field(default=0, metadata=_rng(0))  # flip weight 1 before this
    lam_depth_sm: float = field(default=0.0, metadata=_rng(0.0))  # depth smoothness weight
    vgg_weights: str = ""  # VGG16 state dict; empty: $TORCH_HOME/hub/checkpoints/vgg16-397923af.pth


@dataclass(frozen=True)
class LooccConfig:
    variant: Literal["none", "L", "LV"] = "none"  # LOOCC-L perturbs light; LOOCC-LV light or view
    weight: float = field(default=0.01, metadata=_rng(0.0))  # weight of the NT-Xent term
    temperature: float = field(default=0.5, metadata=_rng(0.0, lo_open=True))  # NT-Xent temperature
    compat: Literal["clean", "release"] = "clean"  # release: per-batch choice, SupCon scaling
    light_intensity_delta: float = field(default=0.5, metadata=_rng(0.0))  # ambient/diffuse +-
    light_direction_deg: float = field(default=45.0, metadata=_rng(0.0, 90.0))  # yaw/pitch +-
    view_pitch_deg: float = field(default=22.5, metadata=_rng(0.0, 180.0))  # view rx offset +-
    view_yaw_deg: float = field(default=45.0, metadata=_rng(0.0, 180.0))  # view ry offset +-


@dataclass(frozen=True)
class TrainerConfig:
    num_epochs: int = field(default=300, metadata=_rng(1))
    max_steps: int = field(default=0, metadata=_rng(0))  # stop after this many steps (0: no limit)
    batch_size: int = field(default=64, metadata=_rng(1))
    lr: float = field(default=1e-3, metadata=_rng(0.0, lo_open=True))  # Adam learning rate
    weight_decay: float = field(default=5e-4, metadata=_rng(0.0))  # Adam's coupled L2 (release)
    patience: int = field(default=10, metadata=_rng(0))  # early stopping on val recon (0: off)
    val_every: int = field(default=1, metadata=_rng(1))  # epochs between validations
    checkpoint_every: int = field(default=10, metadata=_rng(0))  # epoch_NNNN.pt every k (0: off)
    keep_checkpoints: int = field(default=3, metadata=_rng(1))  # periodic checkpoints kept
    log_freq: int = field(default=100, metadata=_rng(1))  # steps between TensorBoard logs
    tensorboard: bool = True
    amp: Literal["none", "bf16", "fp16"] = "none"  # mixed precision on CUDA only
    grad_clip: float = field(default=0.0, metadata=_rng(0.0))  # max grad norm (0: off)


@dataclass(frozen=True)
class Config:
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    renderer: RendererConfig = field(default_factory=RendererConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    loocc: LooccConfig = field(default_factory=LooccConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


_ALIASES = {"cycle": "loocc.variant", "cyclic": "loocc.variant"}


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the field type ``tp``; ints are accepted for floats."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            hint = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise UserError(
                f"{where}: {value!r} is not one of {', '.join(map(repr, choices))}{extra}"
            )
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        (item,) = typing.get_args(tp)
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _coerce(value, args[0], where)
    if tp is bool:
        if not isinstance(value, bool):
            raise UserError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise UserError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"unsupported config field type {tp!r}")  # a schema bug, not user input


def _check_range(value: Any, meta: dict, where: str) -> None:
    if "range" not in meta:
        return
    lo, hi, lo_open = meta["range"]
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise UserError(
            f"{where}: {value!r} is out of range; must be {'>' if lo_open else '>='} {lo}"
        )
    if hi is not None and value > hi:
        raise UserError(f"{where}: {value!r} is out of range; must be <= {hi}")


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{source}: '{prefix.rstrip('.')}' must be a mapping of keys, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in known:
            hint = difflib.get_close_matches(str(key), list(known), n=1)
            extra = (
                f" (did you mean '{prefix}{hint[0]}'?)"
                if hint
                else f"; known keys: {', '.join(known)}"
            )
            raise UserError(f"{source}: unknown key '{dotted}'{extra}")
        tp = hints[key]
        if is_dataclass(tp):
            kwargs[key] = _build(tp, value, f"{dotted}.", source)
        else:
            coerced = _coerce(value, tp, f"{source}: '{dotted}'")
            _check_range(coerced, known[key].metadata, f"{source}: '{dotted}'")
            kwargs[key] = coerced
    return cls(**kwargs)


def _validate(cfg: Config, source: str) -> None:
    r = cfg.renderer
    if r.min_depth >= r.max_depth:
        raise UserError(
            f"{source}: 'renderer.min_depth' ({r.min_depth}) must be < 'renderer.max_depth' ({r.max_depth})"
        )
    if r.near >= r.far:
        raise UserError(f"{source}: 'renderer.near' ({r.near}) must be < 'renderer.far' ({r.far})")
    m = cfg.model
    if m.min_ambient > m.max_ambient or m.min_diffuse > m.max_diffuse:
        raise UserError(f"{source}: light ranges need model.min_* <= model.max_*")
    if len(cfg.data.crop) not in (0, 1, 4):
        raise UserError(f"{source}: 'data.crop' must be [], [size] or [top, left, height, width]")


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
    cfg = _build(Config, _apply_aliases(dict(data), source), "", source)
    _validate(cfg, source)
    return cfg


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
        path = Path(path)
        if not path.is_file():
            raise UserError(
                f"{path}: config file not found; pass an existing YAML, e.g. experiments/demo.yaml"
            )
        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise UserError(f"{path}: not valid YAML{where}; fix the syntax") from None
        if loaded is None:
            raise UserError(f"{path}: the config file is empty; start from experiments/demo.yaml")
        if not isinstance(loaded, dict):
            raise UserError(f"{path}: the top level must be a mapping of sections")
        data = loaded
    data = _apply_aliases(dict(data), source)
    if base is not None:
        data = _merged(base, data)
    for text in overrides:
        keys, value = _parse_override(text)
        if keys[0] in _ALIASES and len(keys) == 1:
            data = _apply_aliases({**data, keys[0]: value}, f"--set {text}")
            continue
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise UserError(f"--set {text}: '{k}' is not a section")
        node[keys[-1]] = value
    cfg = _build(Config, data, "", source)
    _validate(cfg, source)
    return cfg


def config_to_dict(cfg: Config) -> dict:
    """The resolved config as a plain dict (for YAML, checkpoints and feature metadata)."""
    return dataclasses.asdict(cfg)


def dump_config(cfg: Config) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
