"""The baselines behind the model registry: sizes, one trainer step each, save/load, extract ->
the evaluation CLIs, and the one-line errors (issue "Baselines trained and evaluated like PDR")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import run
from analysis import disentangle
from classification import run_trainer
from clustering import cluster_eval
from unsup3d.api import (
    MODELS,
    Trainer,
    UserError,
    build_model,
    count_parameters,
    load_checkpoint,
    load_config,
    load_features,
    load_model,
)
from unsup3d.cli import cli_main

ROOT = Path(__file__).resolve().parents[2]

# Tiny settings per model at 16 px (the beta-VAE halves twice: 16 -> 4).
TINY_MODEL = {
    "pdr": "  preset: tiny\n  use_conf_map: false\n",
    "ae": "  preset: tiny\n",
    "vqvae": "  embedding_dim: 8\n  num_embeddings: 16\n",
    "betavae": "  hidden_dims: [8, 16]\n  latent_dim: 6\n",
    "gdrae": "  nz: 4\n  ncs: [16, 8, 4]\n  hidden_ncs: [16, 8, 4]\n  middle_ns_flows: [1, 1]\n"
    "  enc_ncs: [8, 8]\n  enc_hidden: 16\n",
    "fdae": "  preset: tiny\n  num_concepts: 2\n  sample_steps: 2\n",
}

CONFIG = """
run:
  output_dir: {out}
  seed: 1
data:
  name: synthetic_faces
  image_size: 16
  num_train: {num_train}
  num_val: 4
  num_test: 24
model:
  name: {name}
{model}loss:
  lam_perc: 0.0
trainer:
  num_epochs: {epochs}
  batch_size: 4
  lr: 1.0e-3
  checkpoint_every: 0
  tensorboard: false
"""


def write_config(
    tmp_path: Path, name: str, epochs: int = 1, num_train: int = 8
) -> tuple[Path, Path]:
    out = tmp_path / f"run_{name}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        CONFIG.format(
            out=out, name=name, model=TINY_MODEL[name], epochs=epochs, num_train=num_train
        )
    )
    return path, out


def test_every_registered_model_has_a_tiny_setting_here():
    assert set(TINY_MODEL) == set(MODELS)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model.name=vqvae", "model.embedding_dim=512", "model.num_embeddings=512"], 19_199_491),
        (["model.name=vqvae", "model.embedding_dim=416", "model.num_embeddings=512"], 12_724_195),
        (["model.name=betavae", "data.image_size=128"], 15_741_027),
    ],
)
def test_parameter_counts_of_the_facts(overrides, expected):
    assert count_parameters(build_model(load_config(None, overrides))) == expected


def test_vqvae_count_does_not_depend_on_the_image_size_but_betavae_heads_do():
    vq = [
        count_parameters(
            build_model(load_config(None, ["model.name=vqvae", f"data.image_size={s}"]))
        )
        for s in (32, 64)
    ]
    assert vq[0] == vq[1] == 12_724_195
    assert (
        count_parameters(
            build_model(load_config(None, ["model.name=betavae", "data.image_size=64"]))
        )
        < 15_741_027
    )


@pytest.mark.parametrize("name", sorted(TINY_MODEL))
def test_one_trainer_step_save_load_and_identical_outputs(tmp_path, name):
    cfg_path, out = write_config(tmp_path, name)
    cfg = load_config(cfg_path, ["trainer.max_steps=1"])
    trainer = Trainer(cfg, torch.device("cpu"))
    state = trainer.fit()
    assert state.step == 1 and np.isfinite(state.best_val)
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert np.isfinite(record["train/total"]) and np.isfinite(record["val/recon"])
    model, _, ckpt = load_model(out / "last.pt", torch.device("cpu"))
    assert ckpt["config"]["model"]["name"] == name and type(model) is type(trainer.model)
    trainer.model.eval()
    images = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        a, b = trainer.model.get_features(images), model.get_features(images)
        assert list(a) == list(model.feature_groups)
        for g in a:
            torch.testing.assert_close(a[g], b[g], rtol=0, atol=0)
        ga, gb = trainer.model.image_grids(images), model.image_grids(images)
        torch.testing.assert_close(ga["images"]["recon"], gb["images"]["recon"], rtol=0, atol=0)
    # The validation loss is deterministic (a VAE's noise comes from a per-batch seed).
    first, second = trainer.evaluate(trainer.val_set), trainer.evaluate(trainer.val_set)
    assert first == second


@pytest.mark.parametrize("name", ["ae", "vqvae", "betavae"])
def test_extract_feeds_clustering_the_probe_and_disentangle(tmp_path, name, capsys):
    cfg_path, out = write_config(tmp_path, name, epochs=3, num_train=16)  # 12 steps
    assert run.main(["--config", str(cfg_path)]) == 0
    feats = tmp_path / f"{name}.npz"
    argv = ["extract", "--checkpoint", str(out / "best.pt"), "--split", "test"]
    assert run.main([*argv, "--output", str(feats)]) == 0
    fs = load_features(feats)
    model = load_model(out / "best.pt", torch.device("cpu"))[0]
    assert fs.groups == list(model.feature_groups) and len(fs) == 24
    assert fs.meta["model"] == name and fs.meta["image_size"] == 16
    assert fs.factors is not None and fs.labels is not None
    groups = ",".join(fs.groups[:2])
    clusters = [str(feats), "--groups", groups, "--attributes", "identity,emotion"]
    assert cluster_eval.main([*clusters, "--output_dir", str(tmp_path / "c")]) == 0
    probe = ["--features", str(feats), "--eval_features", str(feats), "--groups", groups]
    probe += ["--num_train", "16", "--runs", "1", "--epochs", "2"]
    assert (
        run_trainer.main([*probe, "--label_column", "emotion", "--output_dir", str(tmp_path / "p")])
        == 0
    )
    # The attribute probe: every 0/1 column of the label table (not identity, not emotion).
    assert (
        run_trainer.main([*probe, "--attributes", "binary", "--output_dir", str(tmp_path / "a")])
        == 0
    )
    probed = json.loads((tmp_path / "a" / "results.json").read_text())
    assert "Smiling" in json.dumps(probed) and "identity" not in json.dumps(
        probed["task"] if "task" in probed else {}
    )
    fast = ["--fvae_train", "50", "--fvae_eval", "50", "--cca_components", "2"]
    assert disentangle.main([str(feats), "--output_dir", str(tmp_path / "d"), *fast]) == 0
    # run.py test of a baseline: its grids and the image metrics.
    assert run.main(["test", "--checkpoint", str(out / "best.pt"), "--max_images", "4"]) == 0
    test_dir = out / "test_test"
    assert len(list((test_dir / "recon").glob("*.png"))) >= 4
    metrics = json.loads((test_dir / "image_metrics.json").read_text())
    assert metrics["covered_fraction"] == 1.0 and np.isfinite(metrics["recon_psnr_mean"])


def test_vqvae_feature_grid_pools_the_quantised_latent():
    cfg = load_config(
        None,
        ["model.name=vqvae", "model.embedding_dim=8", "data.image_size=32", "model.feature_grid=2"],
    )
    model = build_model(cfg).eval()
    assert model.get_features(torch.rand(2, 3, 32, 32))["latent"].shape == (2, 8 * 2 * 2)
    full = build_model(
        load_config(None, ["model.name=vqvae", "model.embedding_dim=8", "data.image_size=32"])
    )
    assert full.eval().get_features(torch.rand(2, 3, 32, 32))["latent"].shape == (2, 8 * 8 * 8)


def test_betavae_capacity_ramp():
    model = build_model(load_config(None, ["model.name=betavae", "data.image_size=32"]))
    assert model.capacity(0) == 0 and model.capacity(5000) == 12.5 and model.capacity(10**6) == 25


def test_bad_sizes_and_settings_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(UserError, match="multiple of 32"):
        build_model(load_config(None, ["model.name=betavae", "data.image_size=48"]))
    with pytest.raises(UserError, match="unknown key 'model.preset'"):
        load_config(None, ["model.name=vqvae", "model.preset=small"])
    with pytest.raises(UserError, match="'model.num_embeddings'"):
        load_config(None, ["model.name=vqvae", "model.num_embeddings=1"])


def test_a_checkpoint_of_one_model_with_another_models_config_is_refused(tmp_path, capsys):
    cfg_vq, out_vq = write_config(tmp_path, "vqvae")
    assert run.main(["--config", str(cfg_vq), "--set", "trainer.max_steps=1"]) == 0
    # test / extract with a PDR config.
    cfg_pdr, _ = write_config(tmp_path, "pdr")
    argv = ["test", "--checkpoint", str(out_vq / "best.pt"), "--config", str(cfg_pdr)]
    assert cli_main(run.main, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model.name 'pdr', but the checkpoint holds a 'vqvae' model" in err[0]
    # training another model into the run dir of the VQ-VAE: refused, nothing overwritten.
    text = cfg_pdr.read_text().replace(str(tmp_path / "run_pdr"), str(out_vq))
    cfg_pdr.write_text(text)
    assert cli_main(run.main, ["--config", str(cfg_pdr)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different config.yaml" in err[0]
    assert load_checkpoint(out_vq / "last.pt")["config"]["model"]["name"] == "vqvae"


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_same_weights_for_a_baseline(tmp_path, kill_and_resume):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # The beta-VAE: its objective draws noise every step and follows the step (capacity ramp).
    cfg_a, out_a = write_config(tmp_path / "a", "betavae", epochs=3, num_train=64)
    cfg_b, out_b = write_config(tmp_path / "b", "betavae", epochs=3, num_train=64)
    kill_and_resume(cfg_a, out_a, cfg_b, out_b, epochs=3)


def test_invariance_refuses_a_baseline_in_render_mode_and_measures_it_in_data_mode(
    tmp_path, capsys
):
    from analysis import invariance

    cfg_path, out = write_config(tmp_path, "vqvae")
    assert run.main(["--config", str(cfg_path), "--set", "trainer.max_steps=1"]) == 0
    ckpt = str(out / "best.pt")
    argv = ["--checkpoint", ckpt, "--num_images", "4", "--output_dir"]
    assert cli_main(invariance.main, [*argv, str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a vqvae checkpoint" in err[0] and "--mode data" in err[0]
    assert not (tmp_path / "r").exists()
    assert invariance.main([*argv, str(tmp_path / "d"), "--mode", "data"]) == 0
    metrics = json.loads((tmp_path / "d" / "invariance.json").read_text())["metrics"]
    assert metrics["mode"] == "data"
    assert set(metrics["invariance"]) == {"light", "view"}
    assert all(list(v) == ["latent"] for v in metrics["invariance"].values())
