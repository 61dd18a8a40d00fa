import dataclasses
from pathlib import Path

import pytest

from unsup3d.config import Config, config_from_dict, config_to_dict, dump_config, load_config
from unsup3d.errors import UserError
from unsup3d.schema import Settings, field_doc

# pipeline_*.yaml follow the pipeline's schema (tests/pipeline/test_settings.py loads them).
EXPERIMENTS = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml")
    if not p.name.startswith("pipeline_")
)


def _write(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    return path


def test_defaults_and_overrides():
    cfg = load_config(
        None, ["trainer.lr=1e-4", "data.crop=[8, 14, 100, 100]", "renderer.convention=nmr_compat"]
    )
    assert cfg.trainer.lr == 1e-4 and cfg.data.crop == [8, 14, 100, 100]
    assert cfg.renderer.convention == "nmr_compat" and cfg.trainer.patience == 10


def test_roundtrip_through_dict(tmp_path):
    cfg = load_config(None, ["loocc.variant=L", "model.preset=small"])
    assert config_from_dict(config_to_dict(cfg)) == cfg
    path = _write(tmp_path, dump_config(cfg))
    assert load_config(path) == cfg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "renderer:\n  fov_dg: 10\n",
            "unknown key 'renderer.fov_dg' (did you mean 'renderer.fov_deg'?)",
        ),
        ("trainr:\n  lr: 1\n", "unknown key 'trainr' (did you mean 'trainer'?)"),
        ("trainer:\n  lr: fast\n", "'trainer.lr': expected a number, got str 'fast'"),
        ("trainer:\n  batch_size: 0\n", "'trainer.batch_size': 0 is out of range; must be >= 1"),
        ("trainer:\n  batch_size: 2.5\n", "'trainer.batch_size': expected an integer"),
        ("trainer:\n  tensorboard: 1\n", "'trainer.tensorboard': expected true or false"),
        ("renderer:\n  fov_deg: 0\n", "'renderer.fov_deg': 0.0 is out of range; must be > 0.0"),
        (
            "loocc:\n  variant: LVX\n",
            "'loocc.variant': 'LVX' is not one of 'none', 'L', 'LV' (did you mean 'LV'?)",
        ),
        (
            "renderer:\n  min_depth: 1.2\n",
            "'renderer.min_depth': 1.2 must be < 'renderer.max_depth' (1.1)",
        ),
        ("trainer: 3\n", "'trainer' must be a mapping"),
        ("", "the config file is empty"),
        ("a: [1,\n", "not valid YAML at line"),
        ("cycle: true\nloocc:\n  variant: L\n", "contradicts 'loocc.variant: L'"),
    ],
)
def test_errors_name_file_key_and_fix(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as exc:
        load_config(path)
    assert str(exc.value).startswith(str(path))
    assert message in str(exc.value)


def test_missing_file_and_bad_override(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(UserError, match="expected section.key=value"):
        load_config(None, ["trainer.lr"])
    with pytest.raises(UserError, match="unknown key 'trainer.lrr'"):
        load_config(None, ["trainer.lrr=1"])


@pytest.mark.parametrize("spelling", ["cycle", "cyclic"])
def test_paper_cycle_key(tmp_path, spelling):
    assert load_config(_write(tmp_path, f"{spelling}: true\n")).loocc.variant == "LV"
    assert load_config(_write(tmp_path, f"{spelling}: false\n")).loocc.variant == "none"
    assert load_config(None, [f"{spelling}=true"]).loocc.variant == "LV"


def test_yaml_exponent_without_dot(tmp_path):
    # YAML 1.1 reads 1e-4 as a string; a learning rate written that way must still work.
    assert load_config(_write(tmp_path, "trainer:\n  lr: 1e-4\n")).trainer.lr == 1e-4


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().trainer.lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_every_experiment_config_loads(path):
    load_config(path)


def test_base_config_is_merged_key_by_key(tmp_path):
    base = config_to_dict(load_config(None, ["data.image_size=32", "model.preset=small"]))
    partial = tmp_path / "data_only.yaml"
    partial.write_text("data:\n  num_test: 7\ncycle: false\n")
    cfg = load_config(partial, ["data.num_val=5"], base=base)
    assert (cfg.data.image_size, cfg.data.num_test, cfg.data.num_val) == (32, 7, 5)
    assert cfg.model.preset == "small" and cfg.loocc.variant == "none"
    assert base["data"]["num_test"] != 7  # the base dict is not modified


# -- every setting is defined once ---------------------------------------------------------------

# (module, qualified name, parameter): why a parameter named like a setting may have a default.
NOT_A_SETTING = {
    ("unsup3d.renderer.rasterize", "rasterize", "near"): "the primitive's clip plane (no clip)",
    ("unsup3d.renderer.rasterize", "rasterize", "far"): "the primitive's clip plane (no clip)",
    ("unsup3d.renderer.rasterize", "rasterize_depth", "near"): "the primitive's clip plane",
    ("unsup3d.renderer.rasterize", "rasterize_depth", "far"): "the primitive's clip plane",
    ("unsup3d.renderer.reference", "reference_rasterize", "near"): "the loop reference's clip",
    ("unsup3d.renderer.reference", "reference_rasterize", "far"): "the loop reference's clip",
    ("unsup3d.renderer.render", "Renderer._check_depth", "name"): "a label in error messages",
}


def _core_modules():
    import importlib
    import pkgutil

    import unsup3d

    return [
        importlib.import_module(m.name) for m in pkgutil.walk_packages(unsup3d.__path__, "unsup3d.")
    ]


def _setting_names() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for section in dataclasses.fields(Config):
        for f in dataclasses.fields(getattr(Config(), section.name)):
            names.setdefault(f.name, []).append(f"{section.name}.{f.name}")
    return names


def test_every_section_is_a_settings_class_whose_fields_carry_a_doc():
    cfg = Config()
    for section in dataclasses.fields(Config):
        obj = getattr(cfg, section.name)
        assert isinstance(obj, Settings), section.name
        for f in dataclasses.fields(obj):
            assert field_doc(f), (
                f"{section.name}.{f.name} has no one-line doc (declare it with setting())"
            )


def _literal_defaults(fn) -> set[str]:
    """The parameters of ``fn`` whose default is written as a literal (a number, a string, None,
    a list of those...), as opposed to a reference such as ``DEFAULTS.image_size``."""
    import ast
    import inspect
    import textwrap

    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    args = node.args
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    literal = set()
    for arg, default in pairs:
        try:
            ast.literal_eval(default)
        except ValueError:
            continue
        literal.add(arg.arg)
    return literal


def test_every_setting_is_defined_once():
    """No dataclass field or function parameter in the core, other than the settings classes'
    own, writes a default for a name that is a config key (a copied default drifts: border_depth
    was 1.04 in the schema and None in the model's settings). A default that refers to the
    settings (``image_size: int = DEFAULTS.image_size``) is the same definition, not a copy."""
    import inspect

    names = _setting_names()
    sections = {type(getattr(Config(), s.name)) for s in dataclasses.fields(Config)}
    copies = []
    seen: set[int] = set()
    for module in _core_modules():
        for obj in vars(module).values():
            if getattr(obj, "__module__", None) != module.__name__ or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isclass(obj) and obj in sections:
                continue
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
                for f in dataclasses.fields(obj):
                    has_default = (
                        f.default is not dataclasses.MISSING
                        or f.default_factory is not dataclasses.MISSING
                    )
                    if f.name in names and has_default:
                        copies.append(
                            f"{module.__name__}.{obj.__name__}.{f.name} ~ {names[f.name]}"
                        )
            functions = []
            if inspect.isfunction(obj):
                functions = [obj]
            elif inspect.isclass(obj):
                functions = [v for v in vars(obj).values() if inspect.isfunction(v)]
            for fn in functions:
                named = [p for p in inspect.signature(fn).parameters if p in names]
                if not named or fn.__code__.co_filename.startswith("<"):
                    continue  # generated (a dataclass's __init__: its fields are checked above)
                for p in sorted(set(named) & _literal_defaults(fn)):
                    if (module.__name__, fn.__qualname__, p) not in NOT_A_SETTING:
                        copies.append(f"{module.__name__}.{fn.__qualname__}({p}=...) ~ {names[p]}")
    assert copies == [], "defaults defined a second time:\n" + "\n".join(sorted(copies))


def test_the_once_check_sees_a_copied_default(monkeypatch):
    import unsup3d.renderer.render as render

    def copied(image_size: int, fov_deg: float = 10.0) -> None:
        """A constructor that repeats renderer.fov_deg's default."""

    copied.__module__ = render.__name__
    monkeypatch.setattr(render, "copied", copied, raising=False)
    with pytest.raises(AssertionError, match=r"copied\(fov_deg=\.\.\.\) ~ \['renderer.fov_deg'\]"):
        test_every_setting_is_defined_once()


def test_choices_match_the_tables_they_index():
    import typing

    from unsup3d.loocc import VARIANTS, LooccSettings
    from unsup3d.model import ModelSettings
    from unsup3d.networks import PRESETS

    hints = typing.get_type_hints(ModelSettings)
    assert typing.get_args(hints["preset"]) == tuple(PRESETS)
    assert typing.get_args(typing.get_type_hints(LooccSettings)["variant"]) == tuple(VARIANTS)
