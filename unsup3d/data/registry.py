"""Dataset names used in configs (``data.name``) → loaders, and `build_dataset`.

Usage::

    from unsup3d.data.registry import build_dataset
    train_set = build_dataset("utkface", "data/UTKFace", "train", 64, crop=[], hflip=True)

A loader is any callable ``factory(root, split, image_size, **options) -> Dataset`` whose items
follow the contract in `unsup3d.data.base`. Register one with the decorator::

    from unsup3d.data.registry import register

    @register("my_dataset")
    class MyDataset(ImageDataset): ...

The built-in datasets, the synthetic ones included, are listed in `DATASETS` below.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

from torch.utils.data import Dataset

from unsup3d.data.base import ImageDataset
from unsup3d.data.cars3d import Cars3D
from unsup3d.data.celeba import CelebA
from unsup3d.data.celebamask import CelebAMaskHQ
from unsup3d.data.dsprites import DSprites
from unsup3d.data.faces3d import BaselFaces
from unsup3d.data.folder import ImageFolder
from unsup3d.data.mpi3d import MPI3D
from unsup3d.data.rafdb import RAFDB
from unsup3d.data.settings import DataSettings
from unsup3d.data.shapenet import ShapeNetCars
from unsup3d.data.shapes3d import Shapes3D
from unsup3d.data.smallnorb import SmallNORB
from unsup3d.data.synthetic import synthetic_factory
from unsup3d.data.tracks import BBTTracks, BuffyTracks, FaceTracks
from unsup3d.data.utkface import UTKFace
from unsup3d.errors import UserError

DatasetFactory = Callable[..., Dataset]

DATASETS: dict[str, DatasetFactory] = {
    "synthetic_faces": synthetic_factory("synthetic_faces"),
    "synthetic_cars": synthetic_factory("synthetic_cars"),
    "image_folder": ImageFolder,
    "utkface": UTKFace,
    "shapenet_cars": ShapeNetCars,
    "celeba": CelebA,
    "celebamask_hq": CelebAMaskHQ,
    "rafdb": RAFDB,
    "face_tracks": FaceTracks,
    "bbt": BBTTracks,
    "buffy": BuffyTracks,
    "dsprites": DSprites,
    "shapes3d": Shapes3D,
    "cars3d": Cars3D,
    "smallnorb": SmallNORB,
    "mpi3d_real_complex": MPI3D,
    "basel_faces": BaselFaces,
}

_POSITIONAL = ("root", "split", "image_size")


def register(name: str) -> Callable[[DatasetFactory], DatasetFactory]:
    """Decorator: make ``factory`` buildable as ``data.name: <name>``.

    Raises:
        ValueError: the name is taken by another factory (a programming error, not user input).
    """

    def decorate(factory: DatasetFactory) -> DatasetFactory:
        if DATASETS.get(name, factory) is not factory:
            raise ValueError(f"dataset name {name!r} is already registered to {DATASETS[name]!r}")
        DATASETS[name] = factory
        return factory

    return decorate


def accepted_options(factory: DatasetFactory) -> set[str] | None:
    """Keyword options a factory takes (beyond root, split, image_size); None if any.

    A class's ``**kwargs`` are followed up its base classes' ``__init__`` (the loaders pass the
    common options on to `ImageDataset`), so the names are exact for every built-in loader.
    """
    names: set[str] = set()
    targets = (
        [k.__dict__["__init__"] for k in factory.__mro__ if "__init__" in k.__dict__]
        if inspect.isclass(factory)
        else [factory]
    )
    for target in targets:
        params = inspect.signature(target).parameters.values()
        names |= {
            p.name
            for p in params
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.name not in ("self", *_POSITIONAL)
        }
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names
        if inspect.isclass(factory) and target is ImageDataset.__init__:
            return names
    return None


def build_dataset(
    name: str, root: str | os.PathLike, split: str, image_size: int, **options: Any
) -> Dataset:
    """Build a registered dataset; paths are checked now.

    Args:
        name: registry name (``data.name`` in a config), e.g. ``utkface``.
        root: dataset folder or file (``data.root``).
        split: ``train``, ``val``, ``test``, ``all``, ... (what the dataset has).
        image_size: output size S (pixels).
        **options: the common options (crop, train, hflip, fraction, strict) and the loader's own.

    Returns:
        The dataset; items follow the contract in `unsup3d.data.base`.

    Raises:
        UserError: unknown name (listing the valid ones), unknown option (listing the loader's),
            or any problem with the files on disk.
    """
    if name not in DATASETS:
        raise UserError(
            f"data.name '{name}': unknown dataset; valid names: {', '.join(sorted(DATASETS))}"
        )
    factory = DATASETS[name]
    allowed = accepted_options(factory)
    if allowed is not None:
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise UserError(
                f"dataset '{name}': unknown option(s) {', '.join(unknown)}; it accepts "
                f"{', '.join(sorted(allowed)) or 'none'}"
            )
    return factory(root, split, image_size, **options)


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
