"""The probe's inputs per kind: feature files, a checkpoint's encoders, the baseline."""

from pathlib import Path

import numpy as np
import pytest

from classification.baseline import ResNet18Encoder
from classification.inputs import baseline_inputs, checkpoint_inputs, feature_inputs
from unsup3d.api import FeatureSet, UserError, save_features


def test_feature_inputs(feature_files):
    train, test = feature_files()
    inputs = feature_inputs(train, test, "depth,light")
    assert (inputs.kind, inputs.mode, inputs.groups) == ("features", "frozen", ("depth", "light"))
    assert inputs.title == f"frozen depth+light features of {train}"
    assert inputs.files == [Path(train), Path(test)] and inputs.make_encoder is None
    assert inputs.train.inputs.shape == (120, 16) and inputs.evaluation.inputs.shape == (200, 16)
    assert inputs.image_size is None


def test_feature_inputs_refuse_files_that_do_not_match(feature_files, tmp_path):
    train, test = feature_files()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 10)
    narrow = tmp_path / "narrow.npz"
    features = {g: rng.normal(size=(10, 4)).astype(np.float32) for g in ("depth", "albedo")}
    save_features(narrow, FeatureSet(features=features, labels=y, label_names=["identity"]))
    with pytest.raises(UserError) as err:
        feature_inputs(train, narrow, None)
    assert str(err.value) == (
        f"{narrow}: 8-d features but {train} has 16-d; extract both with one checkpoint"
    )
    paper = tmp_path / "paper.npz"
    np.savez(paper, feats=rng.normal(size=(10, 20)).astype(np.float32), labels=y)
    with pytest.raises(UserError, match=r"groups \['features'\] differ from .*same groups"):
        feature_inputs(train, paper, None)


def test_baseline_inputs(image_npz):
    train, test = image_npz(n_train=4, n_eval=4, size=16)
    inputs = baseline_inputs("resnet18", "standard", train, test, None, None, "finetune")
    assert (inputs.kind, inputs.groups, inputs.image_size) == ("baseline", ("resnet18",), 64)
    assert inputs.train.inputs.shape == (4, 3, 64, 64)  # resized to the paper's 64 px
    assert inputs.title == "supervised resnet18 (finetune, standard stem)"
    encoder = inputs.make_encoder()
    assert isinstance(encoder, ResNet18Encoder) and encoder is not inputs.make_encoder()
    assert encoder.net.conv1.kernel_size == (7, 7)  # the standard stem
    with pytest.raises(UserError) as err:
        baseline_inputs("resnet18", "small", train, test, "depth", 16, "finetune")
    assert str(err.value) == (
        "--groups depth: the resnet18 baseline has only the 'resnet18' group; drop --groups"
    )


def test_checkpoint_inputs(real_checkpoint, image_npz):
    train, test = image_npz(n_train=4, n_eval=4, size=16)
    inputs = checkpoint_inputs(
        real_checkpoint, train, test, "view,depth,view", None, "frozen", "cpu"
    )
    assert (inputs.kind, inputs.groups, inputs.image_size) == ("checkpoint", ("view", "depth"), 16)
    assert inputs.files == [Path(real_checkpoint), Path(train), Path(test)]
    assert inputs.title == f"frozen view+depth encoders of {real_checkpoint}"
    first, second = inputs.make_encoder(), inputs.make_encoder()
    assert first is not second and callable(first.get_features)
