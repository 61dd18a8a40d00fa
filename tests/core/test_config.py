from pathlib import Path

import pytest

from unsup3d.config import Config, config_from_dict, config_to_dict, dump_config, load_config
from unsup3d.errors import UserError

EXPERIMENTS = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml"))


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
