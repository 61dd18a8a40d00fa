"""The ``data`` config section (`DataSettings`) and the dataset it names (`dataset_from_config`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unsup3d.data.registry import DATASETS, accepted_options, build_dataset
from unsup3d.schema import SettingError, Settings, setting


@dataclass(frozen=True)
class DataSettings(Settings):
    """Which dataset to train and evaluate on, and how its images are prepared (``data.*``)."""

    name: str = setting("synthetic_faces", "dataset registry name (unsup3d.data.registry)")
    root: str = setting("", "dataset folder on disk; empty for the built-in synthetic data")
    image_size: int = setting(64, "image side S in pixels (S x S); 64 as the paper", lo=16, hi=512)
    crop: list[int] = setting([], "[] none, [c] centre crop, [top, left, height, width]")
    train_split: str = setting("train", "the dataset's split used for training")
    val_split: str = setting("val", "the dataset's split used for validation")
    test_split: str = setting("test", "the dataset's split used for testing")
    num_train: int = setting(0, "synthetic: images in train (0: the default count)", lo=0)
    num_val: int = setting(0, "synthetic: images in val (0: the default count)", lo=0)
    num_test: int = setting(0, "synthetic: images in test (0: the default count)", lo=0)
    fraction: float = setting(1.0, "fraction of the train split used", lo=0.0, hi=1.0, lo_open=True)
    hflip: bool = setting(True, "random horizontal flip of training images")
    dataset_seed: int = setting(0, "synthetic data seed (fixes the data, not the training)", lo=0)

    def validate(self) -> None:
        if len(self.crop) not in (0, 1, 4):
            raise SettingError("crop", "must be [], [size] or [top, left, height, width]")


def dataset_from_config(cfg: Any, split: str, keys: tuple[str, ...] | None = None):
    """The dataset split named by a config's ``data`` section, built by `build_dataset`.

    Each option the section implies goes to the datasets whose factory accepts it (the registry's
    `accepted_options`): the common image options (``crop``; for the train split ``hflip`` and
    ``fraction``; ``train``) to the loaders of files, the generator's (``seed`` from
    ``data.dataset_seed``, ``num_images`` from ``data.num_<split>`` when not 0, ``keys``) to the
    synthetic data. A factory whose options cannot be read gets the common ones.

    Args:
        cfg: a resolved `unsup3d.config.Config` (its ``data`` section is read).
        split: ``train``/``val``/``test`` (mapped through ``data.*_split``) or any other split
            the dataset has (synthetic: ``ood``, ``ood_light``, ``ood_view``, ``tracks``).
        keys: limit the synthetic data's items to these keys (training needs only ``image``);
            loaders of files return their own items.

    Returns:
        The dataset; items follow the contract in `unsup3d.data.base`.
    """
    d: DataSettings = cfg.data
    common: dict[str, Any] = {}
    if d.crop:
        common["crop"] = list(d.crop)
    # Training augmentation follows the split's role, whatever data.train_split is called.
    common["train"] = split == "train"
    if split == "train":
        common["hflip"] = d.hflip
        if d.fraction < 1:
            common["fraction"] = d.fraction
    generator: dict[str, Any] = {"seed": d.dataset_seed, "keys": keys}
    count = {"train": d.num_train, "val": d.num_val, "test": d.num_test}.get(split)
    if count:
        generator["num_images"] = count
    factory = DATASETS.get(d.name)  # an unknown name is build_dataset's error
    accepted = accepted_options(factory) if factory is not None else set()
    options = (
        common
        if accepted is None
        else {k: v for k, v in {**common, **generator}.items() if k in accepted}
    )
    split_name = {"train": d.train_split, "val": d.val_split, "test": d.test_split}.get(
        split, split
    )
    return build_dataset(d.name, d.root, split_name, d.image_size, **options)
