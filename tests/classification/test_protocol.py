"""The protocol: accuracy on separable and random data, frozen vs finetuned backbones, seeds,
scale invariance, the per-epoch log."""

import json
import logging

import numpy as np
import pytest
import torch

from classification import backbone as backbone_lib
from classification.data import Task
from classification.probe import TrainConfig
from classification.protocol import ProtocolConfig, epoch_log, run_once, run_protocol

CPU = torch.device("cpu")
MULTICLASS3 = Task("multiclass", ("label",), (0, 1, 2))


def _cfg(**kw):
    train = TrainConfig(**{"epochs": 20, "batch_size": 32, **kw.pop("train", {})})
    return ProtocolConfig(**{"num_train": (100,), "runs": 1, "train": train, **kw})


def _images(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, 12, 12, generator=g) * 255).to(torch.uint8)


def _labels(n):
    return torch.arange(n) % 3


def _run_once(encoder, **cfg):
    """`run_once` with ``encoder`` on 20 random 12 px training images and 10 evaluation images
    (3 classes), seed 0."""
    train, evaluation = (_images(20, 0), _labels(20)), (_images(10, 1), _labels(10).numpy())
    return run_once(*train, *evaluation, MULTICLASS3, _cfg(**cfg), CPU, seed=0, encoder=encoder)


@pytest.mark.parametrize("hidden", [0, 32])
def test_separable_features_multiclass(make_separable, hidden):
    xt, yt = make_separable(300, 24, 3, seed=0)
    xe, ye = make_separable(500, 24, 3, seed=1)
    summary = run_protocol(xt, yt, xe, ye, MULTICLASS3, _cfg(hidden=hidden), CPU)
    assert summary["results"][0]["accuracy_mean"] >= 0.95
    assert summary["majority_rate"] < 0.45  # the task is not trivially solved by one class


def test_separable_features_multilabel(make_separable):
    xt, ct = make_separable(300, 24, 4, seed=0)
    xe, ce = make_separable(500, 24, 4, seed=1)
    # attribute a is "class in group a": each attribute is a union of blobs, linearly separable
    groups = np.array([[1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]])  # (A, classes)
    yt, ye = groups[:, ct].T, groups[:, ce].T  # (N, A)
    task = Task("multilabel", ("a", "b", "c"))
    summary = run_protocol(xt, yt, xe, ye, task, _cfg(), CPU)
    entry = summary["results"][0]
    assert entry["accuracy_mean"] >= 0.95
    assert min(entry["per_attribute_mean"]) >= 0.9
    assert len(entry["per_attribute_mean"]) == 3


@pytest.mark.parametrize("kind", ["multiclass", "multilabel"])
def test_random_labels_stay_at_majority_rate(kind):
    rng = np.random.default_rng(0)
    xt, xe = rng.normal(size=(300, 32)), rng.normal(size=(2000, 32))
    if kind == "multiclass":
        yt, ye = rng.integers(0, 2, 300), rng.integers(0, 2, 2000)
        task = Task("multiclass", ("label",), (0, 1))
    else:
        yt, ye = rng.integers(0, 2, (300, 3)), rng.integers(0, 2, (2000, 3))
        task = Task("multilabel", ("a", "b", "c"))
    summary = run_protocol(
        xt.astype(np.float32),
        yt,
        xe.astype(np.float32),
        ye,
        task,
        _cfg(runs=2, train={"epochs": 100}),
        CPU,
    )
    for run in summary["results"][0]["runs"]:
        # it fits the training labels, and learns nothing that carries over
        assert run["final_train_accuracy"] > 0.65  # chance is 0.5
        assert abs(run["accuracy"] - summary["majority_rate"]) <= 0.05


@pytest.mark.parametrize("hflip", [False, True])  # extracted-feature path and in-loop path
def test_frozen_backbone_is_bit_identical(tiny_backbone, hflip):
    encoder = tiny_backbone()
    before = backbone_lib.snapshot(encoder)
    cfg = {"mode": "frozen", "groups": ("depth", "albedo"), "train": {"epochs": 3, "hflip": hflip}}
    result, model = _run_once(encoder, **cfg)
    assert result["backbone_changed"] == 0
    assert backbone_lib.changed_entries(encoder, before) == []
    assert not any(p.requires_grad for p in encoder.parameters())
    assert not encoder.training
    # the head did train
    assert result["final_loss"] < 5


def test_finetune_changes_backbone_with_its_own_lr(tiny_backbone):
    torch.manual_seed(0)
    encoder = tiny_backbone()
    before = backbone_lib.snapshot(encoder)
    finetune = {"mode": "finetune", "groups": ("depth",)}
    result, _ = _run_once(encoder, **finetune, train={"epochs": 2, "encoder_lr": 1e-2})
    changed = backbone_lib.changed_entries(encoder, before)
    assert result["backbone_changed"] == len(changed) > 0
    assert "conv.weight" in changed and "depth.weight" in changed
    # freeze_norm_stats (default): BatchNorm statistics are the pre-trained ones
    assert "bn.running_mean" not in changed and "bn.num_batches_tracked" not in changed
    assert "bn.weight" in changed  # its affine weights still train
    assert "albedo.weight" not in changed  # not a requested group: no gradient

    # encoder_lr 0: the backbone stays as it was while the head trains
    encoder = tiny_backbone()
    before = backbone_lib.snapshot(encoder)
    _run_once(encoder, **finetune, train={"epochs": 2, "encoder_lr": 0.0})
    assert backbone_lib.changed_entries(encoder, before) == []


def test_finetune_can_update_norm_statistics(tiny_backbone):
    encoder = tiny_backbone()
    before = backbone_lib.snapshot(encoder)
    cfg = {"mode": "finetune", "groups": ("depth",), "freeze_norm_stats": False}
    _run_once(encoder, **cfg, train={"epochs": 1})
    assert "bn.running_mean" in backbone_lib.changed_entries(encoder, before)


def test_same_seed_same_result_and_subset(make_separable):
    xt, yt = make_separable(200, 24, 3, seed=0)
    xe, ye = make_separable(100, 24, 3, seed=1)
    cfg = _cfg(num_train=(30,), runs=2, train={"epochs": 3})
    a = run_protocol(xt, yt, xe, ye, MULTICLASS3, cfg, CPU)["results"][0]["runs"]
    b = run_protocol(xt, yt, xe, ye, MULTICLASS3, cfg, CPU)["results"][0]["runs"]
    assert [r["subset_sha256"] for r in a] == [r["subset_sha256"] for r in b]
    assert a[0]["subset_sha256"] != a[1]["subset_sha256"]
    assert [r["final_loss"] for r in a] == [r["final_loss"] for r in b]


def test_scale_normalisation_makes_the_probe_scale_invariant(make_separable):
    xt, yt = make_separable(100, 24, 3, seed=0, noise=1.5)
    xe, ye = make_separable(200, 24, 3, seed=1, noise=1.5)
    cfg = _cfg(num_train=(60,), train={"epochs": 5})
    runs = [
        run_protocol(xt * k, yt, xe * k, ye, MULTICLASS3, cfg, CPU)["results"][0]["runs"][0]
        for k in (1.0, 1000.0)
    ]
    assert runs[0]["accuracy"] == pytest.approx(runs[1]["accuracy"], abs=0.011)
    assert runs[0]["final_loss"] == pytest.approx(runs[1]["final_loss"], rel=1e-3)
    raw = _cfg(num_train=(60,), standardize="none", train={"epochs": 5})
    big = run_protocol(xt * 1000, yt, xe * 1000, ye, MULTICLASS3, raw, CPU)["results"][0]
    assert big["runs"][0]["final_loss"] > 2 * runs[0]["final_loss"]  # raw is not invariant


def test_epoch_log_writes_every_epoch_and_logs_first_tenth_and_last(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    records = [
        {
            "num_train": 8,
            "run": 0,
            "epoch": e,
            "loss": 1.0 / e,
            "train_accuracy": 0.5,
            "seconds": 0.1,
        }
        for e in range(1, 13)
    ]
    with caplog.at_level(logging.INFO, logger="classification.protocol"):
        with epoch_log(path, epochs=12) as on_epoch:
            for record in records:
                on_epoch(record)
    assert [json.loads(line) for line in path.read_text().splitlines()] == records
    logged = [r.getMessage() for r in caplog.records if r.name == "classification.protocol"]
    assert [m.split(":")[0] for m in logged] == [
        "N=8 run 0 epoch 1/12",
        "N=8 run 0 epoch 10/12",
        "N=8 run 0 epoch 12/12",
    ]
    assert "80.0 samples/s" in logged[0]
