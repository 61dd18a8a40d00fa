"""What a probe run trains on: the two labelled splits and, for images, the encoder to build.

One function per kind of input (the CLI's ``--features``, ``--checkpoint``, ``--baseline``):

- `feature_inputs`: frozen features from a training and an evaluation feature file (same groups,
  same width);
- `checkpoint_inputs`: labelled images and the encoders of a ``run.py`` checkpoint, at the image
  size the checkpoint was trained on;
- `baseline_inputs`: labelled images and a randomly initialised ResNet-18.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from classification import backbone as backbone_lib
from classification.baseline import GROUP as BASELINE_GROUP
from classification.baseline import ResNet18Encoder
from classification.data import LabelledSplit, load_feature_split, load_image_split
from unsup3d.api import SCENE_GROUPS, UserError

DEFAULT_IMAGE_SIZE = 64  # the paper's probe images


@dataclass
class ProbeInputs:
    """The inputs of one probe protocol.

    Attributes:
        kind: ``"features"``, ``"checkpoint"`` or ``"baseline"``.
        train, evaluation: the labelled splits (all samples, as read).
        groups: the feature groups the head sees, concatenated in this order.
        mode: ``"frozen"`` or ``"finetune"``.
        title: one line naming what is probed, printed above the tables.
        image_size: S of the images, None for features.
        make_encoder: builds a fresh backbone per run (images), None for features.
        files: the files whose SHA-256 goes into the results, in order.
    """

    kind: str
    train: LabelledSplit
    evaluation: LabelledSplit
    groups: tuple[str, ...]
    mode: str
    title: str
    image_size: int | None = None
    make_encoder: Callable[[], nn.Module] | None = None
    files: list[Path] = field(default_factory=list)


def feature_inputs(
    train_path: str | os.PathLike,
    eval_path: str | os.PathLike,
    groups: str | None,
    allow_pickle: bool = False,
) -> ProbeInputs:
    """Frozen features of two feature files.

    Args:
        train_path, eval_path: feature ``.npz`` files (`unsup3d.api.load_features` layouts).
        groups: ``--groups`` (e.g. ``"depth,albedo"``, ``"all"``; None = the file's default).
        allow_pickle: read pickled ``.npy`` feature dicts.

    Raises:
        UserError: the two files differ in groups or feature width (or any read error).
    """
    train = load_feature_split(train_path, groups, allow_pickle)
    evaluation = load_feature_split(eval_path, groups, allow_pickle)
    if train.groups != evaluation.groups:
        raise UserError(
            f"{eval_path}: groups {evaluation.groups} differ from "
            f"{train_path}'s {train.groups}; extract both files with the same groups"
        )
    if train.inputs.shape[1] != evaluation.inputs.shape[1]:
        raise UserError(
            f"{eval_path}: {evaluation.inputs.shape[1]}-d features but "
            f"{train_path} has {train.inputs.shape[1]}-d; extract both with one checkpoint"
        )
    names = tuple(train.groups)
    title = f"frozen {'+'.join(names)} features of {train.source}"
    files = train.files + evaluation.files
    return ProbeInputs("features", train, evaluation, names, "frozen", title, files=files)


def checkpoint_inputs(
    checkpoint: str | os.PathLike,
    data: str | os.PathLike,
    eval_data: str | os.PathLike,
    groups: str | None,
    image_size: int | None,
    mode: str,
    device: torch.device,
) -> ProbeInputs:
    """Labelled images and the encoders of a ``run.py`` checkpoint.

    Args:
        checkpoint: the ``.pt``; it is loaded once here, so a bad one fails before the images
            are read, and once per run by ``make_encoder``.
        data, eval_data: labelled images (`load_image_split` formats).
        groups: ``--groups``: scene parameters, comma-separated, or ``all`` (None = depth,albedo).
        image_size: ``--image-size``, or None for the checkpoint's (else `DEFAULT_IMAGE_SIZE`).
        mode: ``"frozen"`` or ``"finetune"``.
        device: where the backbone goes.

    Raises:
        UserError: unknown groups, an image size the checkpoint was not trained on, a checkpoint
            that does not load, unreadable images.
    """
    names = tuple(_scene_groups(groups or "depth,albedo"))
    trained_size = backbone_lib.backbone_image_size(backbone_lib.load_backbone(checkpoint, device))
    if image_size is None:
        image_size = trained_size or DEFAULT_IMAGE_SIZE
    elif trained_size is not None and image_size != trained_size:
        raise UserError(
            f"--image-size {image_size}: {checkpoint} was trained on {trained_size} px images; "
            f"drop --image-size or pass {trained_size}"
        )

    def make_encoder() -> nn.Module:
        return backbone_lib.load_backbone(checkpoint, device)

    train, evaluation = load_image_split(data, image_size), load_image_split(eval_data, image_size)
    title = f"{mode} {'+'.join(names)} encoders of {checkpoint}"
    files = [Path(checkpoint), *train.files, *evaluation.files]
    return ProbeInputs(
        "checkpoint", train, evaluation, names, mode, title, image_size, make_encoder, files
    )


def baseline_inputs(
    name: str,
    stem: str,
    data: str | os.PathLike,
    eval_data: str | os.PathLike,
    groups: str | None,
    image_size: int | None,
    mode: str,
) -> ProbeInputs:
    """Labelled images and a supervised baseline from random init (`ResNet18Encoder`).

    Args:
        name: the baseline (``"resnet18"``). stem: its ``--resnet-stem``.
        data, eval_data: labelled images (`load_image_split` formats).
        groups: ``--groups``: None or the baseline's one group.
        image_size: ``--image-size``, or None for `DEFAULT_IMAGE_SIZE`.
        mode: ``"frozen"`` or ``"finetune"``.
    """
    if groups not in (None, BASELINE_GROUP):
        raise UserError(
            f"--groups {groups}: the {name} baseline has only the '{BASELINE_GROUP}' group; "
            "drop --groups"
        )
    image_size = image_size or DEFAULT_IMAGE_SIZE

    def make_encoder() -> nn.Module:
        return ResNet18Encoder(stem)

    train, evaluation = load_image_split(data, image_size), load_image_split(eval_data, image_size)
    title = f"supervised {name} ({mode}, {stem} stem)"
    files = train.files + evaluation.files
    return ProbeInputs(
        "baseline",
        train,
        evaluation,
        (BASELINE_GROUP,),
        mode,
        title,
        image_size,
        make_encoder,
        files,
    )


def _scene_groups(value: str) -> list[str]:
    """``--groups`` for a checkpoint: scene parameters, comma-separated, or ``all``."""
    groups = [g.strip() for g in value.split(",") if g.strip()]
    if groups == ["all"]:
        return list(SCENE_GROUPS)
    unknown = [g for g in groups if g not in SCENE_GROUPS]
    if unknown or not groups:
        raise UserError(
            f"--groups {value}: unknown group(s) {unknown or groups}; "
            f"choose from {','.join(SCENE_GROUPS)} or all"
        )
    return list(dict.fromkeys(groups))
