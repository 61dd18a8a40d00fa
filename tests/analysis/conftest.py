"""Fixtures for the analysis tests: toy codes and feature files in the real on-disk format, a
tiny trained checkpoint, and a check that a CLI's results read back through its record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import run
from analysis.records import read, to_json
from analysis.toy_codes import toy_physical_features
from unsup3d.features import FeatureSet, save_features


def _write(path, num: int, leakage: float, seed: int):
    feats, factors, names = toy_physical_features(num, seed, dim=32, leakage=leakage)
    labels = (factors[:, 0] > 0).astype(np.int64)  # "wide face": decided by a depth factor
    fs = FeatureSet(
        features=feats,
        labels=labels,
        label_names=["wide"],
        factors=factors,
        factor_names=names,
        meta={"split": "test", "source": "analysis.toy_codes.toy_physical_features"},
    )
    save_features(path, fs)
    return path


@pytest.fixture
def toy_feature_file(tmp_path):
    """A 600-sample feature file with four 32-d ReLU groups, each driven by its own factors."""
    return _write(tmp_path / "toy_features.npz", 600, leakage=0.0, seed=0)


@pytest.fixture
def toy_feature_file_no_factors(tmp_path):
    feats, _, _ = toy_physical_features(200, 1, dim=16)
    path = tmp_path / "plain.npz"
    save_features(path, FeatureSet(features=feats, labels=np.zeros(200, dtype=np.int64)))
    return path


def _split_file(path, seed, light_view_range=(0.0, 1.0), num=300):
    """A labelled toy split: ``wide_face`` (a depth factor), ``bright_light`` (a light factor)."""
    feats, factors, names = toy_physical_features(
        num, seed, dim=16, noise=0.5, light_view_range=light_view_range
    )
    labels = np.stack([factors[:, 0] > 0, factors[:, 5] > 0], axis=1).astype(np.int64)
    fs = FeatureSet(
        features=feats,
        labels=labels,
        label_names=["wide_face", "bright_light"],
        factors=factors,
        factor_names=names,
    )
    save_features(path, fs)
    return fs


@pytest.fixture
def make_split():
    """``make_split(path, seed, light_view_range=(0, 1), num=300) -> FeatureSet`` (written)."""
    return _split_file


@pytest.fixture
def splits(tmp_path):
    """train / test / ood toy feature files; ood has light and view outside the training range."""
    paths = {s: tmp_path / f"{s}.npz" for s in ("train", "test", "ood")}
    _split_file(paths["train"], 1)
    _split_file(paths["test"], 2)
    _split_file(paths["ood"], 3, light_view_range=(1.0, 2.0))
    return paths


TINY_RUN = """
run: {{output_dir: {out}, seed: 3}}
data: {{name: synthetic_faces, image_size: 16, num_train: 24, num_val: 4, num_test: 8}}
model: {{preset: small}}
loss: {{lam_perc: 0.0}}
loocc: {{variant: LV}}
trainer: {{num_epochs: 1, batch_size: 4, lr: 1.0e-3, log_freq: 1, tensorboard: false}}
"""


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A 1-step 16-px checkpoint and its train feature file (24 images, 3 identities)."""
    root = tmp_path_factory.mktemp("model_analysis")
    cfg = root / "cfg.yaml"
    cfg.write_text(TINY_RUN.format(out=root / "run"))
    argv = ["--config", str(cfg), "--num_workers", "0", "--set", "trainer.max_steps=1"]
    assert run.main(argv) == 0
    ckpt = root / "run" / "last.pt"
    feats = root / "train.npz"
    argv = ["extract", "--checkpoint", str(ckpt), "--split", "train", "--output", str(feats)]
    assert run.main([*argv, "--num_workers", "0"]) == 0
    return ckpt, feats, root


@pytest.fixture
def read_back():
    """``read_back(MetricsClass, folder)``: the folder's results read through the record, after
    checking that the record describes every key and value of the file's ``metrics``."""

    def read_results(metrics_class, folder):
        record = read(metrics_class, folder)
        raw = json.loads((Path(folder) / metrics_class.FILE).read_text())["metrics"]
        again = to_json(record.metrics)
        assert json.dumps(again, sort_keys=True) == json.dumps(raw, sort_keys=True)
        return record

    return read_results


@pytest.fixture(scope="session")
def relabelled_checkpoint(tiny_run):
    """``relabelled_checkpoint(section, key, value)``: a copy of the tiny checkpoint whose saved
    config says ``<section>.<key>: <value>`` (e.g. another model's ``model.name``)."""
    import torch

    ckpt_path, _, root = tiny_run

    def make(section: str, key: str, value):
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        ckpt["config"][section][key] = value
        path = root / f"relabelled_{section}_{key}_{value}.pt"
        torch.save(ckpt, path)
        return path

    return make
