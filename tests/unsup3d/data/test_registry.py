"""The registry: names → loaders, option checking, DataLoader batching of every item shape, and
`dataset_from_config` (a config's data section → the dataset, through the same registry)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from unsup3d.config import load_config
from unsup3d.data import registry
from unsup3d.data.registry import (
    DATASETS,
    accepted_options,
    build_dataset,
    dataset_from_config,
    register,
)
from unsup3d.data.synthetic import DEFAULT_NUM_IMAGES, SyntheticDataset
from unsup3d.errors import UserError


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(
        UserError, match=r"data.name 'utkfaces': unknown dataset; valid names: .*utkface"
    ) as err:
        build_dataset("utkfaces", "data/UTKFace", "train", 64)
    assert all(
        name in str(err.value) for name in ("celeba", "dsprites", "shapes3d", "bbt", "buffy")
    )


def test_unknown_option_lists_the_accepted_ones(utkface_root):
    with pytest.raises(
        UserError,
        match=r"dataset 'utkface': unknown option\(s\) flip; it accepts crop, fraction, hflip, strict, train, verify",
    ):
        build_dataset("utkface", utkface_root, "train", 16, flip=True)


def test_every_file_loader_takes_the_common_options():
    # The synthetic data is generated: its options are the generator's (tests/unsup3d/data/synthetic).
    for name, factory in DATASETS.items():
        if name.startswith("synthetic"):
            continue
        allowed = accepted_options(factory)
        assert allowed is None or {"crop", "train", "hflip", "fraction", "strict"} <= allowed, name


def test_register_adds_a_name_once(folder_root):
    @register("_test_folder")
    def make(root, split, image_size, **options):
        return DATASETS["image_folder"](root, split, image_size, **options)

    try:
        assert accepted_options(make) is None  # a function's **options cannot be checked
        assert len(build_dataset("_test_folder", folder_root, "val", 16, hflip=False)) == 2
        with pytest.raises(ValueError, match="already registered"):
            register("_test_folder")(lambda *a, **k: None)
    finally:
        DATASETS.pop("_test_folder")
    assert registry.DATASETS is DATASETS


@pytest.mark.parametrize(
    ("name", "fixture", "split", "options", "keys"),
    [
        ("utkface", "utkface_root", "train", {}, {"image", "labels", "image_id"}),
        ("celeba", "celeba_root", "train", {}, {"image", "labels", "image_id"}),
        ("celebamask_hq", "celebamask_root", "train", {}, {"image", "labels", "image_id", "mask"}),
        ("bbt", "tracks_root", "test", {}, {"image", "labels", "image_id", "track_id"}),
        ("dsprites", "dsprites_file", "all", {}, {"image", "labels", "image_id", "factors"}),
        ("smallnorb", "smallnorb_root", "all", {}, {"image", "labels", "image_id", "factors"}),
    ],
)
def test_default_collate_batches_every_item_shape(request, name, fixture, split, options, keys):
    ds = build_dataset(name, request.getfixturevalue(fixture), split, 16, **options)
    batch = next(iter(DataLoader(ds, batch_size=4, shuffle=False)))
    assert set(batch) == keys
    assert batch["image"].shape == (4, 3, 16, 16) and batch["image"].dtype == torch.float32
    assert len(batch["image_id"]) == 4 and all(isinstance(i, str) for i in batch["image_id"])
    assert list(batch["labels"]) == list(ds.label_names)
    assert all(v.shape == (4,) and v.dtype == torch.int64 for v in batch["labels"].values())
    if "mask" in keys:
        assert batch["mask"].shape == (4, 16, 16) and batch["mask"].dtype == torch.int64
    if "factors" in keys:
        assert (
            batch["factors"].shape == (4, len(ds.factor_names))
            and batch["factors"].dtype == torch.float32
        )
    if "track_id" in keys:
        assert batch["track_id"].tolist() == [3, 3, 3, 7]


def test_the_registry_imports_no_optional_reader():
    """h5py (3DShapes) and SciPy's MATLAB reader (Cars3D) load only with their dataset."""
    code = (
        "import sys\n"
        "import unsup3d.data.registry, unsup3d.data.settings\n"
        "print([m for m in ('h5py', 'scipy', 'scipy.io') if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


DEMO = Path(__file__).resolve().parents[3] / "experiments" / "demo.yaml"


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
