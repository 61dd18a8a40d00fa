"""The data section: `dataset_from_config` builds every dataset through the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from unsup3d.config import load_config
from unsup3d.data.registry import DATASETS, register
from unsup3d.data.settings import dataset_from_config
from unsup3d.data.synthetic import DEFAULT_NUM_IMAGES, SyntheticDataset
from unsup3d.errors import UserError

DEMO = Path(__file__).resolve().parents[2] / "experiments" / "demo.yaml"


def test_synthetic_options_come_from_the_data_section():
    cfg = load_config(DEMO, ["data.dataset_seed=3", "data.num_val=0"])
    train = dataset_from_config(cfg, "train", keys=("image",))
    assert isinstance(train, SyntheticDataset) and train.name == "synthetic_faces"
    assert (train.split, train.image_size, train.seed, len(train)) == ("train", 32, 3, 1024)
    assert train.keys == ("image",) and set(train[0]) == {"image"}
    test = dataset_from_config(cfg, "test")
    assert len(test) == 128 and "depth" in test.keys  # no keys: every key
    # 0 (data.num_val here) and the splits without a count take the generator's default
    assert len(dataset_from_config(cfg, "val")) == DEFAULT_NUM_IMAGES["val"]
    assert len(dataset_from_config(cfg, "tracks")) == DEFAULT_NUM_IMAGES["tracks"]
    # the same object as the registry builds with the same options
    same = DATASETS["synthetic_faces"]("", "train", 32, seed=3, num_images=1024, keys=("image",))
    assert repr(same) == repr(train)


def test_file_loader_options_follow_the_split_role(folder_root):
    sets = [
        "data.name=image_folder",
        f"data.root={folder_root}",
        "data.image_size=16",
        "data.crop=[2, 2, 20, 20]",
        "data.fraction=0.5",
        "data.val_split=test",
    ]
    cfg = load_config(None, sets)
    train = dataset_from_config(cfg, "train", keys=("image",))  # keys: not a loader option
    assert train.flip and train.crop == (2, 2, 20, 20) and len(train) == 2  # half of 4
    val = dataset_from_config(cfg, "val")
    assert not val.flip and val.split == "test" and len(val) == 2 and val.fraction == 1.0
    no_flip = dataset_from_config(load_config(None, [*sets, "data.hflip=false"]), "train")
    assert not no_flip.flip


def test_each_factory_gets_the_options_it_accepts(folder_root):
    seen = []

    @register("_test_some_options")
    def some(root, split, image_size, *, train=False, seed=0):
        seen.append({"train": train, "seed": seed})

    @register("_test_any_options")
    def any_options(root, split, image_size, **options):
        seen.append(options)

    try:
        for name in ("_test_some_options", "_test_any_options"):
            cfg = load_config(None, [f"data.name={name}", "data.dataset_seed=5"])
            dataset_from_config(cfg, "train", keys=("image",))
    finally:
        DATASETS.pop("_test_some_options")
        DATASETS.pop("_test_any_options")
    assert seen == [{"train": True, "seed": 5}, {"train": True, "hflip": True}]


def test_a_root_for_generated_data_and_an_unknown_name_are_errors(folder_root):
    cfg = load_config(DEMO, [f"data.root={folder_root}"])
    with pytest.raises(UserError, match="synthetic_faces is generated, not read from disk"):
        dataset_from_config(cfg, "train")
    with pytest.raises(UserError, match=r"data.name 'synthetic_chairs': unknown dataset"):
        dataset_from_config(load_config(DEMO, ["data.name=synthetic_chairs"]), "train")
