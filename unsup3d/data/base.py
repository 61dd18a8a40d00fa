"""The item contract shared by every loader, and the pieces they share: checks, decoding, transforms.

Item contract
-------------
Every dataset in `unsup3d.data` returns from ``__getitem__`` a dict::

    {
        "image":    float32 tensor (3, S, S) in [0, 1]   # RGB; grey sources are repeated to 3 channels
        "labels":   dict[str, int]                       # same keys for every item of a dataset ({} if none)
        "image_id": str                                  # stable id: path relative to the split folder,
                                                         # a file name, or the index in a factor grid
        # optional; a dataset gives each key for all of its items or for none:
        "mask":     int64 tensor (S, S)                  # class id per pixel (CelebAMask-HQ: 0..18)
        "factors":  float32 tensor (K,)                  # ground-truth factor indices (0..size-1)
        "track_id": int                                  # face track the frame belongs to
    }

PyTorch's default ``collate_fn`` batches it: ``image`` (B, 3, S, S), ``labels`` {name: int64 (B,)},
``image_id`` list[str], ``mask`` (B, S, S), ``factors`` (B, K), ``track_id`` int64 (B,).

Every dataset has the attributes ``label_names`` (the label keys, in order), ``label_classes``
({label: class names} for categorical labels whose names are known), ``factor_names`` and
``factor_sizes`` (factor-grid benchmarks; empty otherwise).

Common options (every loader takes them; `unsup3d.data.registry.build_dataset` passes them on):
    crop:     None / [] (none), ``c`` or ``[c]`` (centre crop of c×c pixels) or
              ``[top, left, height, width]`` (out-of-bounds parts are zero-padded); applied to the
              source image before the resize, and to the mask with it.
    train:    this is a training set (random horizontal flip); default: ``split == "train"``.
    hflip:    flip training images (and masks) left-right with probability 0.5 (default True).
    fraction: keep the first fraction of the (sorted) item list, (0, 1] (deterministic subset).
    strict:   a corrupt image is an error (`UserError`) instead of skipped with a logged count.

Images are decoded with PIL and resized to S×S bilinearly (PIL's filter widens with the scale, so
down-sampling is antialiased); masks are resized with nearest. Paths are checked when a dataset is
built; every problem is a `UserError` of the form ``<path>: <problem>; <fix>``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from unsup3d.data.settings import DEFAULTS
from unsup3d.errors import UserError

log = logging.getLogger(__name__)

StrPath = str | os.PathLike  # a path argument (typeshed's name)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp")
SPLITS = ("train", "val", "test")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


class CorruptImageError(Exception):
    """An image file that PIL cannot decode (internal; turned into a skip or a `UserError`)."""


# ----------------------------------------------------------------------------------- path checks
def _require(path: StrPath, fix: str, kind: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: {kind} not found; {fix}")
    if not (path.is_dir() if kind == "folder" else path.is_file()):
        raise UserError(f"{path}: not a {kind}; {fix}")
    return path


def require_dir(path: StrPath, fix: str) -> Path:
    """Return ``path`` as a `Path` if it is a folder, else raise `UserError` with ``fix``."""
    return _require(path, fix, "folder")


def require_file(path: StrPath, fix: str) -> Path:
    """Return ``path`` as a `Path` if it is a file, else raise `UserError` with ``fix``."""
    return _require(path, fix, "file")


def resolve_path(path: str | os.PathLike, *bases: str | os.PathLike) -> Path:
    """``path`` as given if absolute or existing, else the first ``base / path`` that exists.

    Lets options such as ``classes_file`` or ``ids_file`` name a file inside the dataset folder.
    An unresolved path is returned unchanged, so the caller's error names what the user wrote.
    """
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    for base in bases:
        if (Path(base) / path).exists():
            return Path(base) / path
    return path


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether the file name ends with an image extension (case-insensitive)."""
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder: str | os.PathLike, fix: str, recursive: bool = True) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted by relative path); error if none.

    Args:
        folder: the folder to walk; must exist.
        fix: what to put there, for the error messages.
        recursive: walk sub-folders (following symbolic links, as the split tool writes links).

    Returns:
        The image paths, sorted by their POSIX path relative to ``folder``.
    """
    folder = require_dir(folder, fix)
    if recursive:
        found = []
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            dirnames.sort()
            found.extend(Path(dirpath) / f for f in filenames if is_image_file(f))
    else:
        found = [p for p in folder.iterdir() if p.is_file() and is_image_file(p.name)]
    found.sort(key=lambda p: p.relative_to(folder).as_posix())
    if not found:
        raise UserError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)}); {fix}")
    return found


def read_rows(path: str | os.PathLike) -> Iterator[tuple[int, list[str], str]]:
    """The non-blank lines of a whitespace-separated text table (CelebA's and RAF-DB's lists,
    track ids, identity files).

    Yields:
        (line number from 1, the line's fields, the line).
    """
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if fields:
                yield lineno, fields, line


def check_split(split: str, allowed: Sequence[str], dataset: str) -> str:
    """Raise `UserError` unless ``split`` is one of ``allowed``."""
    if split not in allowed:
        raise UserError(
            f"split '{split}': {dataset} has no such split; use one of {', '.join(allowed)}"
        )
    return split


# ------------------------------------------------------------------------- deterministic splits
def hash_order(keys: Iterable[str], seed: int) -> list[str]:
    """``keys`` sorted by SHA-256 of ``"<seed>:<key>"``: a seeded shuffle that needs no RNG.

    The order depends only on the keys and the seed (not on NumPy's or Python's version, nor on
    the order the keys are given in), so two users with the same files get the same split.
    """
    return sorted(set(keys), key=lambda k: (hashlib.sha256(f"{seed}:{k}".encode()).hexdigest(), k))


def split_sizes(n: int, ratios: Sequence[float]) -> list[int]:
    """Sizes of consecutive parts of ``n`` items: boundaries at round(cumsum(ratios) / sum · n)."""
    total = float(sum(ratios))
    bounds = [0] + [round(n * float(np.sum(ratios[: i + 1])) / total) for i in range(len(ratios))]
    bounds[-1] = n
    return [bounds[i + 1] - bounds[i] for i in range(len(ratios))]


def assign_splits(
    keys: Sequence[str],
    ratios: Sequence[float],
    seed: int,
    groups: Mapping[str, str] | None = None,
) -> list[int]:
    """Assign each key to a part (0..len(ratios)-1), deterministically, by key or by group.

    Args:
        keys: item keys (e.g. relative paths); unique.
        ratios: part sizes, e.g. (0.8, 0.1, 0.1); normalised by their sum.
        seed: shuffles the order (`hash_order`).
        groups: optional key -> group (e.g. identity); all keys of a group land in one part.
            Groups are taken in hashed order and each goes to the part whose share of items the
            running count has not yet reached, so part sizes are as close as groups allow.

    Returns:
        Part index per key, in the order of ``keys``.
    """
    part_of: dict[str, int] = {}
    if groups is None:
        order = hash_order(keys, seed)
        sizes = split_sizes(len(order), ratios)
        start = 0
        for part, size in enumerate(sizes):
            for key in order[start : start + size]:
                part_of[key] = part
            start += size
        return [part_of[k] for k in keys]
    members: dict[str, list[str]] = {}
    for key in keys:
        members.setdefault(groups[key], []).append(key)
    total = float(sum(ratios))
    bounds = [len(keys) * float(np.sum(ratios[: i + 1])) / total for i in range(len(ratios))]
    count = 0
    part = 0
    for group in hash_order(members, seed):
        while part < len(ratios) - 1 and count >= bounds[part]:
            part += 1
        for key in members[group]:
            part_of[key] = part
        count += len(members[group])
    return [part_of[k] for k in keys]


# ------------------------------------------------------------------------------- image decoding
def decode_image(path: str | os.PathLike) -> Image.Image:
    """Decode an image file fully; raise `CorruptImageError` if PIL cannot."""
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    except _DECODE_ERRORS as exc:
        raise CorruptImageError(f"{path}: cannot decode image ({exc})") from exc


def image_size_of(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from the file header only; `CorruptImageError` if it is not an image."""
    try:
        with Image.open(path) as img:
            return img.size
    except _DECODE_ERRORS as exc:
        raise CorruptImageError(f"{path}: not a readable image ({exc})") from exc


def normalize_crop(crop: Any) -> tuple[int, ...] | None:
    """Check a crop option: None/[] → None, c or [c] → (c,), [top, left, h, w] → 4-tuple."""
    if crop is None:
        return None
    if isinstance(crop, (int, np.integer)) and not isinstance(crop, bool):
        values: tuple = (int(crop),)
    elif isinstance(crop, (list, tuple)) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in crop
    ):
        values = tuple(int(v) for v in crop)
    else:
        raise UserError(
            f"crop {crop!r}: must be integers; use [] (none), [c] (centre c×c) or [top, left, height, width]"
        )
    if len(values) == 0:
        return None
    if len(values) not in (1, 4):
        raise UserError(
            f"crop {list(values)}: needs 1 or 4 integers; use [c] (centre c×c) or [top, left, height, width]"
        )
    sizes = values if len(values) == 1 else values[2:]
    if any(s <= 0 for s in sizes):
        raise UserError(f"crop {list(values)}: sizes must be positive pixels")
    return values


def crop_box(crop: tuple[int, ...] | None, width: int, height: int) -> tuple[int, int, int, int]:
    """PIL box (left, upper, right, lower) of a normalised crop on a ``width``×``height`` image."""
    if crop is None:
        return (0, 0, width, height)
    if len(crop) == 1:
        c = crop[0]
        top = int(round((height - c) / 2.0))
        left = int(round((width - c) / 2.0))
        return (left, top, left + c, top + c)
    top, left, h, w = crop
    return (left, top, left + w, top + h)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB image → float32 (3, H, W) in [0, 1]."""
    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)  # (H, W, 3)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)  # (3, H, W)


def mask_array(img: Image.Image, path: str | os.PathLike) -> np.ndarray:
    """Class ids of a mask image (mode L, P, I or I;16; RGB only with equal channels)."""
    if img.mode in ("L", "P", "I", "I;16", "1"):
        return np.asarray(img).astype(np.int64)
    if img.mode in ("RGB", "RGBA"):
        arr = np.asarray(img)[..., :3]
        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
            return arr[..., 0].astype(np.int64)
    raise UserError(
        f"{path}: mask has mode {img.mode} with differing colour channels; save masks as "
        "single-channel PNGs whose pixel values are class ids"
    )


# ------------------------------------------------------------------------------------- datasets
@dataclass
class Record:
    """One item of a file-backed dataset, before decoding."""

    path: Path
    image_id: str
    labels: dict[str, int] = field(default_factory=dict)
    mask_path: Path | None = None
    track_id: int | None = None


class ImageDataset(Dataset):
    """Base of every loader: crop, resize, training flip, fraction, and corrupt-image handling.

    Subclasses call `_finish` with their number of items once the files are checked (it applies
    ``fraction``), and implement `_image` (the source PIL image of raw item i), `_meta` (image_id,
    labels and the optional keys of raw item i) and, for masks, `_mask`.

    Args:
        root: the dataset's folder or file (kept as ``self.source``, for messages).
        split: the split name.
        image_size: output size S (pixels).
        crop, train, hflip, fraction, strict: the common options (module docstring).
    """

    label_names: tuple[str, ...] = ()
    label_classes: Mapping[str, tuple[str, ...]] = {}
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()
    num_mask_classes: int = 0

    def __init__(
        self,
        root: str | os.PathLike,
        split: str,
        image_size: int,
        *,
        crop: Any = DEFAULTS.crop,
        train: bool | None = None,
        hflip: bool = DEFAULTS.hflip,
        fraction: float = DEFAULTS.fraction,
        strict: bool = False,
    ) -> None:
        if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)):
            raise UserError(f"image_size {image_size!r}: must be an integer number of pixels")
        if image_size < 1:
            raise UserError(f"image_size {image_size}: must be a positive number of pixels")
        if not 0.0 < float(fraction) <= 1.0:
            raise UserError(f"fraction {fraction}: must be in (0, 1]; 1 keeps every item")
        self.source = Path(root)
        self.split = split
        self.image_size = int(image_size)
        self.crop = normalize_crop(crop)
        self.train = (split == "train") if train is None else bool(train)
        self.flip = self.train and bool(hflip)
        self.fraction = float(fraction)
        self.strict = bool(strict)
        self.skipped_corrupt = 0
        self._index: list[int] = []

    # -- subclass hooks
    def _image(self, i: int) -> Image.Image:
        raise NotImplementedError

    def _mask(self, i: int) -> Image.Image | None:
        return None

    def _meta(self, i: int) -> dict[str, Any]:
        raise NotImplementedError

    def _finish(self, n: int, fix: str) -> None:
        """Keep the first ``fraction`` of ``n`` items; error if nothing is left."""
        if n == 0:
            raise UserError(f"{self.source}: no usable items for split '{self.split}'; {fix}")
        keep = max(1, int(round(n * self.fraction)))
        self._index = list(range(min(n, keep)))
        log.info(
            "%s[%s]: %d items from %s", type(self).__name__, self.split, len(self), self.source
        )

    # -- Dataset protocol
    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        for attempt in range(len(self)):
            raw = self._index[(index + attempt) % len(self)]
            try:
                return self._item(raw)
            except CorruptImageError as exc:
                if self.strict:
                    raise UserError(f"{exc}; replace or delete the file, or drop strict") from exc
                self.skipped_corrupt += 1
                log.warning(
                    "%s; using the next item (%d skipped so far)", exc, self.skipped_corrupt
                )
        raise UserError(f"{self.source}: no image of split '{self.split}' could be decoded")

    def _item(self, raw: int) -> dict[str, Any]:
        img = self._image(raw)
        mask_img = self._mask(raw)
        flip = self.flip and bool(torch.rand(()) < 0.5)
        box = crop_box(self.crop, *img.size)
        if self.crop is not None:
            img = img.crop(box)
        size = (self.image_size, self.image_size)
        if img.size != size:
            img = img.resize(size, Image.BILINEAR)
        if flip:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        item = {"image": to_tensor(img)}
        item.update(self._meta(raw))
        if mask_img is not None:
            if self.crop is not None:
                mask_img = mask_img.crop(box)
            if mask_img.size != size:
                mask_img = mask_img.resize(size, Image.NEAREST)
            mask = torch.from_numpy(mask_array(mask_img, self._mask_path(raw)))  # (S, S)
            if flip:
                mask = mask.flip(-1)
            item["mask"] = mask.contiguous()
        return item

    def _mask_path(self, raw: int) -> str:
        return str(self.source)


class FileImageDataset(ImageDataset):
    """A dataset of image files described by `Record`s (image folders, UTKFace, CelebA, ...).

    Subclasses implement `_records` (the split's records, read from the dataset's files; a class
    with options of its own stores them before calling this constructor). The records are checked
    once at build time: each image's header must be readable (a corrupt file is skipped with a
    logged count, or a `UserError` with ``strict``), and a mask, when there is one, must exist and
    have the image's size.

    Args:
        root, split, image_size: as `ImageDataset`.
        verify: check every image header (and mask size) at build time.
        **common: crop, train, hflip, fraction, strict (module docstring).
    """

    def __init__(
        self, root: StrPath, split: str, image_size: int, *, verify: bool = True, **common: Any
    ) -> None:
        super().__init__(root, split, image_size, **common)
        records, fix = self._records(Path(root), split)
        self._setup(records, fix, verify)

    def _records(self, root: Path, split: str) -> tuple[list[Record], str]:
        """The records of ``split`` and what to put where if none of them is usable."""
        raise NotImplementedError

    def _setup(self, records: Sequence[Record], fix: str, verify: bool = True) -> None:
        kept: list[Record] = []
        corrupt: list[Path] = []
        for rec in records:
            if verify:
                try:
                    size = image_size_of(rec.path)
                except CorruptImageError as exc:
                    if self.strict:
                        raise UserError(
                            f"{exc}; replace or delete the file, or drop strict"
                        ) from exc
                    corrupt.append(rec.path)
                    continue
                if rec.mask_path is not None:
                    self._check_mask_file(rec, size)
            kept.append(rec)
        if corrupt:
            self.skipped_corrupt = len(corrupt)
            log.warning(
                "%s: skipped %d corrupt image(s), e.g. %s (strict=True makes this an error)",
                self.source,
                len(corrupt),
                corrupt[0],
            )
        self.records = kept
        self._finish(len(kept), fix)

    def _check_mask_file(self, rec: Record, size: tuple[int, int]) -> None:
        try:
            mask_size = image_size_of(rec.mask_path)
        except CorruptImageError as exc:
            raise UserError(f"{exc}; masks are PNGs of class ids, one per image") from exc
        if mask_size != size:
            raise UserError(
                f"{rec.mask_path}: mask is {mask_size[0]}×{mask_size[1]} but its image {rec.path.name} "
                f"is {size[0]}×{size[1]}; masks must have their image's size"
            )

    def _image(self, i: int) -> Image.Image:
        return decode_image(self.records[i].path)

    def _mask(self, i: int) -> Image.Image | None:
        rec = self.records[i]
        if rec.mask_path is None:
            return None
        try:
            return decode_image(rec.mask_path)
        except CorruptImageError as exc:
            raise UserError(f"{exc}; masks are PNGs of class ids, one per image") from exc

    def _mask_path(self, raw: int) -> str:
        return str(self.records[raw].mask_path)

    def _meta(self, i: int) -> dict[str, Any]:
        rec = self.records[i]
        meta: dict[str, Any] = {"labels": dict(rec.labels), "image_id": rec.image_id}
        if rec.track_id is not None:
            meta["track_id"] = rec.track_id
        return meta


class ArrayImageDataset(ImageDataset):
    """A factor-grid benchmark held in (or mapped from) an array of images.

    Subclasses set ``self.factors`` (int64 (N, K) factor indices), ``factor_names``,
    ``factor_sizes``, ``self._ids`` (the grid index of each item) and implement `_array`
    (uint8 (H, W) or (H, W, 3) of raw item i); then call `_select`.

    Splits: ``all`` is the whole grid; ``train``/``val``/``test`` are a deterministic 80/10/10
    partition of the grid indices (`assign_splits` with ``split_seed``).
    """

    def _select(self, n: int, split: str, split_seed: int, fix: str) -> None:
        check_split(split, ("all", *SPLITS), type(self).__name__)
        ids = np.arange(n)
        if split != "all":
            keys = [str(i) for i in range(n)]
            parts = np.asarray(assign_splits(keys, (0.8, 0.1, 0.1), split_seed))
            ids = ids[parts == SPLITS.index(split)]
        self._ids = ids
        self.label_names = tuple(self.factor_names)
        self._finish(len(ids), fix)

    def _array(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def _image(self, i: int) -> Image.Image:
        arr = np.asarray(self._array(int(self._ids[i])))
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        return Image.fromarray(
            np.ascontiguousarray(arr, dtype=np.uint8)
        )  # (H, W) → L, (H, W, 3) → RGB

    def _meta(self, i: int) -> dict[str, Any]:
        gid = int(self._ids[i])
        fac = self.factors[gid]
        return {
            "labels": {name: int(v) for name, v in zip(self.factor_names, fac)},
            "image_id": str(gid),
            "factors": torch.from_numpy(fac.astype(np.float32)),  # (K,)
        }


class FactorGridDataset(ArrayImageDataset):
    """A factor-grid benchmark loaded at build time (Cars3D, and the one-file ones below).

    Subclasses implement `_load` (read the data under ``root``; set ``self.factors``,
    ``self.factor_sizes`` and what `_array` reads).

    Args:
        root: the dataset's file or folder.
        split: ``all`` (the whole grid) or ``train``/``val``/``test`` (a seeded 80/10/10).
        image_size: output size S (pixels); 64 is the benchmarks' size.
        split_seed: seed of the train/val/test partition.
        **common: crop, train, hflip, fraction, strict (module docstring).
    """

    def __init__(
        self,
        root: StrPath,
        split: str = "all",
        image_size: int = DEFAULTS.image_size,
        *,
        split_seed: int = 0,
        **common: Any,
    ) -> None:
        super().__init__(root, split, image_size, **common)
        n, fix = self._load(Path(root))
        self._select(n, split, split_seed, fix)

    def _load(self, root: Path) -> tuple[int, str]:
        """Read the data; (number of items, what to put where if there are none)."""
        raise NotImplementedError


def find_data_file(root: str | os.PathLike, name: str, pattern: str, what: str) -> Path:
    """``root`` itself if a file, else ``root/name``, else the only ``pattern`` match in root."""
    root = Path(root)
    if root.is_file():
        return root
    if (root / name).is_file():
        return root / name
    if root.is_dir():
        found = sorted(root.glob(pattern))
        if len(found) == 1:
            return found[0]
    return require_file(root / name, f"put {what} there")


@dataclass(frozen=True)
class GridFile:
    """Where a factor-grid benchmark's file is found, and its grid when the file has no factors.

    Attributes:
        name: the release's file name; ``pattern``: any single match in the folder works too.
        what: what to put there, for the missing-file message.
        factor_sizes: the release's grid (items in C order) when the file stores no factors.
        stored_factors: the file's member holding the factors, if it can have one.
        item_noun, holder: what the file's items and the file are called in messages.
    """

    name: str
    pattern: str
    what: str
    factor_sizes: tuple[int, ...]
    stored_factors: str = ""
    item_noun: str = "images"
    holder: str = "file"

    @property
    def grid_fix(self) -> str:
        """How a file whose size does not match the grid is fixed."""
        full = f"the {self.holder} must hold the full grid in C order"
        return (
            f"without {self.stored_factors} {full}"
            if self.stored_factors
            else f"{full} (or set factor_sizes)"
        )


class FactorFileDataset(FactorGridDataset):
    """A factor-grid benchmark in one file (dSprites, 3DShapes, MPI3D, Basel faces).

    The file is ``root`` itself, ``root/<grid_file.name>`` or the only ``grid_file.pattern``
    match in ``root``. Subclasses set ``grid_file`` (a `GridFile`) and implement `_read` (the
    file's images, and its factor indices when it stores them); without stored factors, the items
    are taken to be the factor grid ``factor_sizes`` in C order.

    Args:
        root, split, image_size, split_seed, **common: as `FactorGridDataset`.
        factor_sizes: the grid, when the file does not store factors (default the release's,
            ``grid_file.factor_sizes``).
    """

    grid_file: GridFile

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "all",
        image_size: int = DEFAULTS.image_size,
        *,
        factor_sizes: Sequence[int] | None = None,
        **options: Any,
    ) -> None:
        self._grid_sizes = self.grid_file.factor_sizes if factor_sizes is None else factor_sizes
        super().__init__(root, split, image_size, **options)

    def _read(self, path: Path) -> int:
        """Read the file; the number of items. Sets ``self.factors`` and ``self.factor_sizes``
        when the file stores the factors."""
        raise NotImplementedError

    def _load(self, root: Path) -> tuple[int, str]:
        spec = self.grid_file
        path = find_data_file(root, spec.name, spec.pattern, spec.what)
        self.source = path
        self.factors: np.ndarray | None = None
        n = self._read(path)
        if self.factors is None:
            sizes = check_factor_sizes(self._grid_sizes, len(self.factor_names))
            if int(np.prod(sizes)) != n:
                raise UserError(
                    f"{path}: {n} {spec.item_noun} but the factor grid {list(sizes)} has "
                    f"{int(np.prod(sizes))}; {spec.grid_fix}"
                )
            self.factors = grid_factors(sizes)
            self.factor_sizes = sizes
        return n, f"{path} holds no {spec.item_noun}"


def grid_factors(sizes: Sequence[int]) -> np.ndarray:
    """All index tuples of a factor grid in C order: int64 (prod(sizes), len(sizes))."""
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=1).astype(np.int64)


def check_factor_sizes(
    sizes: Any, expected_len: int, option: str = "factor_sizes"
) -> tuple[int, ...]:
    """Validate a factor-size option: ``expected_len`` positive integers."""
    try:
        values = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        values = ()
    if len(values) != expected_len or any(v < 1 for v in values):
        raise UserError(f"{option} {sizes!r}: needs {expected_len} positive integers")
    return values
