"""Labelled inputs for the probe: feature files, image files, label tasks and subsampling.

Two kinds of split, both held in memory (the paper's sets are at most a few thousand images):

- **features**: a feature `.npz` read by `unsup3d.features.load_features` (project or paper layout),
  with the chosen ``--groups`` concatenated: float32 (N, D).
- **images**: uint8 (N, 3, S, S), from either
  - an ``.npz`` with ``images`` uint8 (N, 3, S, S) (or (N, S, S, 3)), ``labels`` int (N,) or
    (N, A) and optional ``label_names`` (str, one per column); or
  - a folder with ``labels.csv`` (or the path of that CSV): a header row with a ``filename``
    column (image path relative to the CSV's folder) and one integer column per label, e.g.
    ``filename,Smiling,Male`` / ``000001.jpg,1,0``. One label column gives (N,) labels.
  Images are resized to S x S (bilinear) when their size differs.

Labels become a `Task`: multi-class (N,) class ids, or multi-label (N, A) 0/1 (CelebA's -1/1
is mapped to 0/1).
"""

from __future__ import annotations

import csv
import logging
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from unsup3d.api import UserError, load_features

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
TASKS = ("auto", "multiclass", "multilabel")


@dataclass
class LabelledSplit:
    """One split (train or evaluation) in memory.

    Attributes:
        inputs: float32 (N, D) features, or uint8 (N, 3, S, S) images.
        labels: int64 (N,) or (N, A) as read, or None when the file has none.
        label_names: one name per label column.
        source: the path, for messages.
        kind: ``"features"`` or ``"images"``.
        files: files whose SHA-256 goes into the results (the data file or the labels CSV).
        groups: feature splits: the groups concatenated into ``inputs``, in order.
    """

    inputs: np.ndarray
    labels: np.ndarray | None
    label_names: list[str]
    source: str
    kind: str
    files: list[Path] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def head(self, m: int | None) -> LabelledSplit:
        """The first ``m`` samples (file order, as the paper's first-6,000 evaluation set)."""
        if m is None or m >= len(self):
            return self
        labels = None if self.labels is None else self.labels[:m]
        return LabelledSplit(
            self.inputs[:m],
            labels,
            self.label_names,
            self.source,
            self.kind,
            self.files,
            self.groups,
        )


def load_feature_split(
    path: str | os.PathLike, groups: str | None, allow_pickle: bool = False
) -> LabelledSplit:
    """Read a feature file and concatenate ``groups`` (e.g. ``"depth,albedo"``, ``"all"``)."""
    fs = load_features(path, allow_pickle=allow_pickle)
    names = fs.resolve_groups(groups, source=str(path))
    inputs = fs.select(names, source=str(path)).astype(np.float32, copy=False)
    return LabelledSplit(
        inputs=inputs,
        groups=names,
        labels=fs.labels,
        label_names=list(fs.label_names),
        source=str(path),
        kind="features",
        files=[Path(path)],
    )


def _resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    # (N, 3, S0, S0) uint8 -> (N, 3, size, size) uint8, antialiased when shrinking.
    out = []
    for start in range(0, images.shape[0], 256):
        batch = torch.from_numpy(images[start : start + 256]).float()
        batch = F.interpolate(
            batch, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
        out.append(batch.round().clamp_(0, 255).to(torch.uint8).numpy())
    return np.concatenate(out, axis=0)


def _image_npz(path: Path, image_size: int) -> LabelledSplit:
    source = str(path)
    if not zipfile.is_zipfile(path):
        raise UserError(
            f"{source}: not a .npz archive; expected 'images' (N, 3, S, S) uint8 + 'labels'"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(
            f"{source}: not a readable .npz ({exc}); re-save it with np.savez"
        ) from None
    if "images" not in data:
        hint = (
            "; this looks like a feature file: pass it with --features"
            if any(k.startswith("features") or k == "feats" for k in data)
            else ""
        )
        raise UserError(
            f"{source}: no 'images' array (keys: {', '.join(sorted(data)) or 'none'}); "
            f"expected images uint8 (N, 3, S, S) and labels{hint}"
        )
    images = data["images"]
    if images.ndim == 4 and images.shape[-1] == 3 and images.shape[1] != 3:
        images = images.transpose(0, 3, 1, 2)  # (N, S, S, 3) -> (N, 3, S, S)
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise UserError(
            f"{source}: images have shape {images.shape}; expected (N, 3, S, S) square RGB"
        )
    if images.dtype != np.uint8:
        raise UserError(
            f"{source}: images have dtype {images.dtype}; expected uint8 in 0..255 "
            "(convert with (x * 255).round().astype(np.uint8))"
        )
    images = np.ascontiguousarray(images)
    if images.shape[2] != image_size:
        log.info("%s: resizing %d px images to %d px", source, images.shape[2], image_size)
        images = _resize_uint8(images, image_size)
    labels = None
    names: list[str] = []
    if "labels" in data:
        labels = _integer_labels(data["labels"], source)
        if labels.shape[0] != images.shape[0]:
            raise UserError(
                f"{source}: {labels.shape[0]} labels for {images.shape[0]} images; "
                "expected one label row per image"
            )
        cols = 1 if labels.ndim == 1 else labels.shape[1]
        if "label_names" in data:
            names = [str(s) for s in np.asarray(data["label_names"]).reshape(-1)]
            if len(names) != cols:
                raise UserError(f"{source}: {len(names)} label_names for {cols} label column(s)")
        else:
            names = ["label"] if cols == 1 else [f"attr_{i}" for i in range(cols)]
    return LabelledSplit(images, labels, names, source, "images", [path])


def _integer_labels(raw: np.ndarray, source: str) -> np.ndarray:
    labels = np.asarray(raw)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim not in (1, 2):
        raise UserError(f"{source}: labels have shape {labels.shape}; expected (N,) or (N, A)")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or not np.all(labels == np.round(labels)):
            raise UserError(f"{source}: labels are not whole numbers; expected integer classes")
    elif labels.dtype.kind not in "iub":
        raise UserError(f"{source}: labels have dtype {labels.dtype}; expected integers")
    return labels.astype(np.int64)


def _image_folder(csv_path: Path, image_size: int) -> LabelledSplit:
    from PIL import Image  # only this format needs PIL

    source = str(csv_path)
    root = csv_path.parent
    with open(csv_path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or "filename" not in [c.strip() for c in rows[0]]:
        raise UserError(
            f"{source}: the first row must be a header with a 'filename' column and one column "
            "per label, e.g. 'filename,Smiling,Male'"
        )
    header = [c.strip() for c in rows[0]]
    name_col = header.index("filename")
    label_cols = [i for i in range(len(header)) if i != name_col]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    if not body:
        raise UserError(f"{source}: no data rows; add one row per image")
    images = np.empty((len(body), 3, image_size, image_size), dtype=np.uint8)
    labels = np.empty((len(body), len(label_cols)), dtype=np.int64)
    for i, row in enumerate(body):
        line = i + 2
        if len(row) != len(header):
            raise UserError(f"{source}:{line}: {len(row)} fields, header has {len(header)}")
        file = root / row[name_col].strip()
        if not file.is_file():
            raise UserError(
                f"{source}:{line}: image {file} not found; paths are relative to {root}"
            )
        try:
            values = [int(row[c]) for c in label_cols]
        except ValueError:
            raise UserError(f"{source}:{line}: labels must be integers, got {row}") from None
        labels[i] = values
        try:
            with Image.open(file) as img:
                rgb = img.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
        except OSError as exc:
            raise UserError(f"{source}:{line}: cannot read {file} ({exc})") from None
        images[i] = np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)  # (S, S, 3) -> (3, S, S)
    names = [header[c] for c in label_cols]
    if not names:
        raise UserError(f"{source}: no label columns next to 'filename'")
    flat = labels[:, 0] if len(names) == 1 else labels
    return LabelledSplit(images, flat, names, source, "images", [csv_path])


def load_image_split(path: str | os.PathLike, image_size: int) -> LabelledSplit:
    """Read labelled images from an ``.npz`` or a folder with ``labels.csv`` (module docstring).

    Args:
        path: the ``.npz``, the folder, or the CSV itself.
        image_size: S; images of another size are resized (bilinear).

    Returns:
        A split with uint8 (N, 3, S, S) inputs.
    """
    path = Path(path)
    if path.is_dir():
        csv_path = path / "labels.csv"
        if not csv_path.is_file():
            raise UserError(
                f"{path}: no labels.csv in this folder; write one with a header "
                "'filename,<label>,...' and one row per image"
            )
        return _image_folder(csv_path, image_size)
    if not path.is_file():
        raise UserError(
            f"{path}: no such file or folder; pass an images .npz or a folder with labels.csv"
        )
    if path.suffix.lower() == ".csv":
        return _image_folder(path, image_size)
    return _image_npz(path, image_size)


@dataclass(frozen=True)
class Task:
    """What the head predicts.

    Attributes:
        kind: ``"multiclass"`` (softmax + CE, top-1) or ``"multilabel"`` (sigmoid + BCE).
        names: multi-label: the A attribute names; multi-class: the one label column's name.
        classes: multi-class: the K original label values, sorted (target k means classes[k]).
    """

    kind: str
    names: tuple[str, ...]
    classes: tuple[int, ...] = ()

    @property
    def num_outputs(self) -> int:
        return len(self.classes) if self.kind == "multiclass" else len(self.names)


def _require_labels(split: LabelledSplit) -> np.ndarray:
    if split.labels is None:
        raise UserError(
            f"{split.source}: no 'labels' array; the probe needs labels: int (N,) class ids or "
            "(N, A) 0/1 attributes, with 'label_names'"
        )
    return split.labels


def _pick_column(split: LabelledSplit, labels: np.ndarray, column: str) -> np.ndarray:
    if column not in split.label_names:
        raise UserError(
            f"{split.source}: no label column '{column}'; columns: {', '.join(split.label_names)}"
        )
    if labels.ndim == 1:
        return labels
    return labels[:, split.label_names.index(column)]


def _binary(labels: np.ndarray, source: str) -> np.ndarray:
    values = set(np.unique(labels).tolist())
    if values <= {-1, 1}:
        return (labels == 1).astype(np.int64)  # CelebA's list_attr convention
    if values <= {0, 1}:
        return labels
    shown = sorted(values)[:6]
    raise UserError(
        f"{source}: multi-label targets must be 0/1 (or -1/1), found values {shown}; "
        "for class ids pick one column with --task multiclass --label-column NAME"
    )


def _pick_attributes(
    train: LabelledSplit, y_train: np.ndarray, y_eval: np.ndarray, attributes: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The chosen columns of an (N, A) label table as a multi-label table; ``["binary"]``
    picks every column whose values are 0/1 (or -1/1) in both splits."""
    if y_train.ndim != 2:
        raise UserError(
            f"{train.source}: labels are (N,) class ids; --attributes picks columns of an (N, A) "
            "label table"
        )
    names = list(train.label_names)
    if list(attributes) == ["binary"]:
        both = np.concatenate([y_train, y_eval])
        chosen = [i for i in range(len(names)) if set(np.unique(both[:, i]).tolist()) <= {-1, 0, 1}]
        if not chosen:
            raise UserError(f"{train.source}: no 0/1 label column for --attributes binary")
    else:
        unknown = [a for a in attributes if a not in names]
        if unknown or not attributes:
            raise UserError(
                f"{train.source}: --attributes {','.join(attributes)}: no label column "
                f"{unknown or attributes}; columns: {', '.join(names)}"
            )
        chosen = [names.index(a) for a in dict.fromkeys(attributes)]
    return y_train[:, chosen], y_eval[:, chosen], [names[i] for i in chosen]


def resolve_task(
    train: LabelledSplit,
    evaluation: LabelledSplit,
    task: str = "auto",
    label_column: str | None = None,
    attributes: Sequence[str] | None = None,
) -> tuple[Task, np.ndarray, np.ndarray]:
    """Decide the task from the label shape and turn labels into training targets.

    Args:
        train, evaluation: the two splits; they must have the same label columns.
        task: ``"auto"`` ((N,) -> multiclass, (N, A) -> multilabel), ``"multiclass"``,
            ``"multilabel"``.
        label_column: take this one column of an (N, A) table as multi-class labels.
        attributes: take these columns of an (N, A) table as a multi-label table (``["binary"]``:
            every 0/1 column, e.g. a dataset's attributes beside its identity and emotion).

    Returns:
        (task, train targets, evaluation targets): multi-class int64 (N,) in [0, K);
        multi-label int64 (N, A) in {0, 1}.

    Raises:
        UserError: labels missing, different label columns in the two splits, unknown column,
            a task that does not fit the label shape, non-binary multi-label values.
    """
    if task not in TASKS:
        raise UserError(f"--task {task}: unknown task; use one of {', '.join(TASKS)}")
    y_train, y_eval = _require_labels(train), _require_labels(evaluation)
    if train.label_names != evaluation.label_names:
        raise UserError(
            f"{evaluation.source}: label columns {evaluation.label_names[:5]} differ from "
            f"{train.source}'s {train.label_names[:5]}; use train and evaluation files of the "
            "same dataset"
        )
    names = list(train.label_names)
    if attributes and label_column is not None:
        raise UserError(
            "--attributes and --label-column: give one (several 0/1 columns, or one class column)"
        )
    if attributes:
        if task == "multiclass":
            raise UserError("--attributes picks a multi-label table; drop --task multiclass")
        y_train, y_eval, names = _pick_attributes(train, y_train, y_eval, attributes)
    if label_column is not None:
        if task == "multilabel":
            raise UserError(
                f"--label-column {label_column}: picks one multi-class column; "
                "drop it for --task multilabel"
            )
        y_train = _pick_column(train, y_train, label_column)
        y_eval = _pick_column(evaluation, y_eval, label_column)
        names = [label_column]
    kind = task if task != "auto" else ("multiclass" if y_train.ndim == 1 else "multilabel")
    if kind == "multiclass":
        if y_train.ndim != 1:
            raise UserError(
                f"{train.source}: labels are an (N, {y_train.shape[1]}) attribute table, not "
                f"class ids; use --task multilabel, or --label-column NAME for one column "
                f"({', '.join(names[:8])}{', ...' if len(names) > 8 else ''})"
            )
        classes = np.unique(np.concatenate([y_train, y_eval]))
        targets = [np.searchsorted(classes, y).astype(np.int64) for y in (y_train, y_eval)]
        if len(np.unique(y_train)) < 2:
            raise UserError(f"{train.source}: all training labels are equal; nothing to learn")
        return (
            Task("multiclass", tuple(names), tuple(int(c) for c in classes)),
            targets[0],
            targets[1],
        )
    if y_train.ndim != 2:
        raise UserError(
            f"{train.source}: labels are (N,) class ids, not an (N, A) 0/1 attribute table; "
            "use --task multiclass"
        )
    y_train = _binary(y_train, train.source)
    y_eval = _binary(y_eval, evaluation.source)
    return Task("multilabel", tuple(names)), y_train, y_eval


def check_num_train(num_train: Sequence[int], available: int, source: str = "train") -> None:
    """Refuse a labelled-set size the training split cannot supply.

    Args:
        num_train: the sizes N to draw. available: labelled training samples.
        source: the training file, named in the message.

    Raises:
        UserError: naming the first N that is too large.
    """
    for n in num_train:
        if n > available:
            raise UserError(
                f"--num-train {n}: {source} has only {available} labelled samples; "
                f"use N <= {available}"
            )


def draw_subset(targets: np.ndarray, n: int, seed: int, source: str = "train") -> np.ndarray:
    """Draw exactly ``n`` training indices, reproducibly, class-balanced where possible.

    Multi-class (1-D targets): classes get equal shares (water-filling: a class with fewer
    samples than its share gives the rest to the others; when ``n`` is not a multiple of the
    number of classes, or ``n`` is smaller than it, a seeded choice of classes gets one more).
    Multi-label (2-D targets, no single class to balance): a uniform draw without replacement.

    Args:
        targets: (N,) class indices or (N, A) 0/1.
        n: how many to draw (1 <= n <= N).
        seed: the same (targets, n, seed) always gives the same indices.
        source: named in errors.

    Returns:
        int64 (n,) sorted, distinct indices into ``targets``.
    """
    total = targets.shape[0]
    if n < 1:
        raise UserError(f"--num-train {n}: must be at least 1")
    check_num_train([n], total, source)
    rng = np.random.default_rng([seed, n])
    if targets.ndim != 1:
        return np.sort(rng.choice(total, size=n, replace=False)).astype(np.int64)
    classes = np.unique(targets)
    members = [rng.permutation(np.flatnonzero(targets == c)) for c in classes]
    counts = np.array([len(m) for m in members])
    quota = np.zeros(len(classes), dtype=np.int64)
    remaining = n
    while remaining > 0:
        open_ = np.flatnonzero(quota < counts)
        share = remaining // len(open_)
        if share == 0:  # fewer left than open classes: a seeded choice gets one each
            chosen = rng.choice(open_, size=remaining, replace=False)
            quota[chosen] += 1
            break
        add = np.minimum(share, counts[open_] - quota[open_])
        quota[open_] += add
        remaining -= int(add.sum())
    picked = np.concatenate([m[:q] for m, q in zip(members, quota)])
    return np.sort(picked).astype(np.int64)
