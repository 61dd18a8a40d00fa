"""The probe head, the model wrapper and the training loop."""

import pytest
import torch

from classification.data import Task
from classification.probe import ProbeHead, ProbeModel, TrainConfig, train_probe
from unsup3d.api import UserError

CPU = torch.device("cpu")
MULTICLASS3 = Task("multiclass", ("label",), (0, 1, 2))


def test_probe_model_train_mode_keeps_frozen_encoder_in_eval(tiny_backbone):
    encoder = tiny_backbone()
    model = ProbeModel(ProbeHead(12, 3), encoder, ("depth", "albedo"), trainable_encoder=False)
    model.train()
    assert model.head.training and not encoder.training and not encoder.bn.training
    model = ProbeModel(ProbeHead(12, 3), tiny_backbone(), ("depth",), trainable_encoder=True)
    model.train()
    assert model.encoder.training and model.encoder.conv.training
    assert not model.encoder.bn.training  # freeze_norm_stats


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
