"""The ``data`` config section (`DataSettings`); `unsup3d.data.registry.dataset_from_config`
builds the dataset it names."""

from __future__ import annotations

from dataclasses import dataclass

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


# The data section's defaults, for code that takes one of its options outside a config (a loader
# built directly): a default there refers to this, so each is defined once, above.
DEFAULTS = DataSettings()
