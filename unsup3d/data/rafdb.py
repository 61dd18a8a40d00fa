"""RAF-DB basic emotion set (7 classes) in its released layout.

Layout (``<root>`` is the ``basic`` folder of the release, or its parent)::

    <root>/EmoLabel/list_patition_label.txt   "train_00001.jpg 5"  (the release spells it
                                               "patition"; "list_partition_label.txt" works too)
    <root>/Image/aligned/train_00001_aligned.jpg   100×100 aligned faces (default)
    <root>/Image/original/train_00001.jpg          original images (``aligned=False``)

Splits: ``train`` (12,271 images) and ``test`` (3,068), from the ``train_``/``test_`` file-name
prefix, and ``all``. Label ``emotion`` = file label − 1: 0 surprise, 1 fear, 2 disgust,
3 happiness, 4 sadness, 5 anger, 6 neutral. ``image_id`` is the list's file name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from unsup3d.data.base import (
    FileImageDataset,
    Record,
    StrPath,
    check_split,
    read_rows,
    require_dir,
)
from unsup3d.errors import UserError

EMOTIONS = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")
LABEL_FILES = ("list_patition_label.txt", "list_partition_label.txt")


def rafdb_root(root: str | os.PathLike) -> Path:
    """``root`` or ``root/basic``: whichever holds EmoLabel/."""
    root = require_dir(root, "put RAF-DB's basic/ folder (EmoLabel/, Image/) there")
    if not (root / "EmoLabel").exists() and (root / "basic" / "EmoLabel").exists():
        return root / "basic"
    return root


def read_labels(path: Path) -> dict[str, int]:
    """``name label`` rows (label 1..7) → {name: label - 1}."""
    table: dict[str, int] = {}
    for lineno, fields, line in read_rows(path):
        try:
            label = int(fields[-1])
            if len(fields) < 2 or not 1 <= label <= len(EMOTIONS):
                raise ValueError
        except ValueError:
            raise UserError(
                f"{path}:{lineno}: expected '<image name> <emotion 1..7>', got {line.strip()!r}"
            ) from None
        table[fields[0]] = label - 1
    if not table:
        raise UserError(f"{path}: empty; expected one '<image name> <emotion 1..7>' line per image")
    return table


class RAFDB(FileImageDataset):
    """RAF-DB basic: face images with a 7-way ``emotion`` label.

    Args:
        root: the release's ``basic`` folder (or its parent).
        split: ``train``, ``test`` or ``all``.
        image_size: output size S (pixels).
        aligned: read ``Image/aligned/<name>_aligned.jpg`` (default) or ``Image/original/<name>``.
        verify, **common: as `FileImageDataset` (verify, crop, train, hflip, fraction, strict).
    """

    label_names = ("emotion",)
    label_classes = {"emotion": EMOTIONS}

    def __init__(
        self, root: StrPath, split: str, image_size: int, *, aligned: bool = True, **options: Any
    ) -> None:
        self.aligned = bool(aligned)
        super().__init__(root, split, image_size, **options)

    def _records(self, root: Path, split: str) -> tuple[list[Record], str]:
        check_split(split, ("train", "test", "all"), "RAF-DB basic")
        base = rafdb_root(root)
        emo = require_dir(base / "EmoLabel", "put the release's EmoLabel/ folder there")
        label_path = next((emo / n for n in LABEL_FILES if (emo / n).is_file()), None)
        if label_path is None:
            raise UserError(
                f"{emo / LABEL_FILES[0]}: file not found; put the release's label list there "
                "('<image name> <emotion 1..7>' per line)"
            )
        labels = read_labels(label_path)
        aligned = self.aligned
        sub = "aligned" if aligned else "original"
        images = require_dir(base / "Image" / sub, f"unzip the release's {sub} images there")
        records = []
        missing = []
        for name in sorted(labels):
            if split != "all" and not name.startswith(f"{split}_"):
                continue
            stem, ext = os.path.splitext(name)
            path = images / (f"{stem}_aligned{ext}" if aligned else name)
            if not path.is_file():
                missing.append(path.name)
                continue
            records.append(Record(path=path, image_id=name, labels={"emotion": labels[name]}))
        if missing:
            raise UserError(
                f"{images}: {len(missing)} image(s) of {label_path.name} are missing (e.g. "
                f"{missing[0]}); unzip all of the release's {sub} images there"
            )
        return records, f"{label_path.name} lists no '{split}_' images"
