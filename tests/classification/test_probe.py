import numpy as np
import pytest
import torch

from classification import backbone as backbone_lib
from classification.data import Task
from classification.probe import ProbeHead, ProbeModel, TrainConfig, train_probe
from classification.protocol import ProtocolConfig, run_once, run_protocol
from unsup3d.errors import UserError

CPU = torch.device("cpu")
MULTICLASS3 = Task("multiclass", ("label",), (0, 1, 2))


def _cfg(**kw):
    train = TrainConfig(**{"epochs": 20, "batch_size": 32, **kw.pop("train", {})})
    return ProtocolConfig(**{"num_train": (100,), "runs": 1, "train": train, **kw})


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


def _images(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, 12, 12, generator=g) * 255).to(torch.uint8)


def _labels(n):
    return torch.arange(n) % 3


@pytest.mark.parametrize("hflip", [False, True])  # extracted-feature path and in-loop path
def test_frozen_backbone_is_bit_identical(tiny_backbone, hflip):
    encoder = tiny_backbone()
    before = backbone_lib.snapshot(encoder)
    cfg = _cfg(mode="frozen", groups=("depth", "albedo"), train={"epochs": 3, "hflip": hflip})
    result, model = run_once(
        _images(20, 0),
        _labels(20),
        _images(10, 1),
        _labels(10).numpy(),
        MULTICLASS3,
        cfg,
        CPU,
        seed=0,
        encoder=encoder,
    )
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
    cfg = _cfg(mode="finetune", groups=("depth",), train={"epochs": 2, "encoder_lr": 1e-2})
    result, _ = run_once(
        _images(20, 0),
        _labels(20),
        _images(10, 1),
        _labels(10).numpy(),
        MULTICLASS3,
        cfg,
        CPU,
        seed=0,
        encoder=encoder,
    )
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
    cfg = _cfg(mode="finetune", groups=("depth",), train={"epochs": 2, "encoder_lr": 0.0})
    run_once(
        _images(20, 0),
        _labels(20),
        _images(10, 1),
        _labels(10).numpy(),
        MULTICLASS3,
        cfg,
        CPU,
        seed=0,
        encoder=encoder,
    )
    assert backbone_lib.changed_entries(encoder, before) == []


def test_finetune_can_update_norm_statistics(tiny_backbone):
    encoder = tiny_backbone()
    before = backbone_lib.snapshot(encoder)
    cfg = _cfg(mode="finetune", groups=("depth",), freeze_norm_stats=False, train={"epochs": 1})
    run_once(
        _images(20, 0),
        _labels(20),
        _images(10, 1),
        _labels(10).numpy(),
        MULTICLASS3,
        cfg,
        CPU,
        seed=0,
        encoder=encoder,
    )
    assert "bn.running_mean" in backbone_lib.changed_entries(encoder, before)


def test_probe_model_train_mode_keeps_frozen_encoder_in_eval(tiny_backbone):
    encoder = tiny_backbone()
    model = ProbeModel(ProbeHead(12, 3), encoder, ("depth", "albedo"), trainable_encoder=False)
    model.train()
    assert model.head.training and not encoder.training and not encoder.bn.training
    model = ProbeModel(ProbeHead(12, 3), tiny_backbone(), ("depth",), trainable_encoder=True)
    model.train()
    assert model.encoder.training and model.encoder.conv.training
    assert not model.encoder.bn.training  # freeze_norm_stats


def test_check_unchanged_detects_a_change(tiny_backbone):
    encoder = tiny_backbone()
    before = backbone_lib.snapshot(encoder)
    backbone_lib.check_unchanged(encoder, before)
    with torch.no_grad():
        encoder.bn.running_var[0] += 1e-7  # one buffer, a tiny amount
    with pytest.raises(RuntimeError, match=r"frozen backbone changed.*bn.running_var"):
        backbone_lib.check_unchanged(encoder, before)


def test_non_finite_loss_names_epoch_and_step():
    x = torch.full((8, 4), float("nan"))
    model = ProbeModel(ProbeHead(4, 3))
    with pytest.raises(UserError, match="loss is nan at epoch 1, step 1; lower --lr"):
        train_probe(
            model,
            x,
            torch.arange(8) % 3,
            MULTICLASS3,
            TrainConfig(epochs=1),
            CPU,
            torch.Generator().manual_seed(0),
        )


def test_same_seed_same_result_and_subset(make_separable):
    xt, yt = make_separable(200, 24, 3, seed=0)
    xe, ye = make_separable(100, 24, 3, seed=1)
    cfg = _cfg(num_train=(30,), runs=2, train={"epochs": 3})
    a = run_protocol(xt, yt, xe, ye, MULTICLASS3, cfg, CPU)["results"][0]["runs"]
    b = run_protocol(xt, yt, xe, ye, MULTICLASS3, cfg, CPU)["results"][0]["runs"]
    assert [r["subset_sha256"] for r in a] == [r["subset_sha256"] for r in b]
    assert a[0]["subset_sha256"] != a[1]["subset_sha256"]
    assert [r["final_loss"] for r in a] == [r["final_loss"] for r in b]


def test_standardization_known_answers():
    from sklearn.preprocessing import StandardScaler

    x = torch.tensor([[1.0, 0.0, 5.0], [3.0, 0.0, 5.0], [2.0, 0.0, 5.0]])
    head = ProbeHead(3, 2)
    head.fit_standardization(x, "scale")
    rms = float(x.pow(2).mean().sqrt())
    torch.testing.assert_close(head.scale, torch.full((3,), rms))
    torch.testing.assert_close(head.mean, torch.zeros(3))
    head = ProbeHead(3, 2)
    head.fit_standardization(x, "feature")
    ref = StandardScaler().fit(x.numpy())
    torch.testing.assert_close(head.mean, torch.from_numpy(ref.mean_).float())
    torch.testing.assert_close(head.scale, torch.from_numpy(ref.scale_).float())  # constant -> 1
    head = ProbeHead(3, 2)
    head.fit_standardization(x, "none")
    assert head.scale.eq(1).all() and head.mean.eq(0).all()


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
