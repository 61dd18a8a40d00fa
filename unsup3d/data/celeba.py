"""CelebA in its official on-disk format (the files torchvision's `CelebA` reads), read directly.

Layout (``<root>`` may also hold these inside ``celeba/``, torchvision's ``base_folder``)::

    <root>/img_align_celeba/000001.jpg ...   (202,599 aligned 178×218 JPEGs)
    <root>/list_attr_celeba.txt              line 1: image count; line 2: the 40 attribute names;
                                             then "000001.jpg -1  1 ..." (one ±1 per attribute)
    <root>/list_eval_partition.txt           "000001.jpg 0"  (0 train, 1 val, 2 test)
    <root>/identity_CelebA.txt               "000001.jpg 2880"  (optional: adds label identity)

Why not torchvision's reader: it verifies MD5 sums of the released files, so it refuses any other
copy of the same format (tests' fixtures, re-compressed mirrors); the format itself is simple.

Labels: the 40 attributes as 0/1 (−1 → 0), in the file's order, plus ``identity`` (the released
identity number, 1..10,177) when ``identity_CelebA.txt`` is present. ``image_id`` is the file name.
Splits: ``train``, ``val``, ``test`` (from the partition file) and ``all``. ``ids_file`` keeps only
the images in an id list (e.g. the 6,000 seeded test images written by
`unsup3d.tools.celeba_subset`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from unsup3d.data.base import (
    FileImageDataset,
    Record,
    check_split,
    read_rows,
    require_dir,
    require_file,
    resolve_path,
)
from unsup3d.data.idlist import read_id_list
from unsup3d.errors import UserError

PARTITIONS = {"train": 0, "val": 1, "test": 2}
NUM_ATTRIBUTES = 40


def celeba_root(root: str | os.PathLike) -> Path:
    """The folder holding img_align_celeba/ and the lists: ``root`` or ``root/celeba``."""
    root = require_dir(
        root, "put CelebA's img_align_celeba/ and list_*.txt files there (docs/datasets.md)"
    )
    if not (root / "img_align_celeba").exists() and (root / "celeba" / "img_align_celeba").exists():
        return root / "celeba"
    return root


def image_folder(root: Path) -> Path:
    """``img_align_celeba/``, or the nested ``img_align_celeba/img_align_celeba/`` some zips give."""
    folder = require_dir(
        root / "img_align_celeba", "unzip img_align_celeba.zip there (aligned 178×218 JPEGs)"
    )
    nested = folder / "img_align_celeba"
    if nested.is_dir() and not any(p.suffix.lower() == ".jpg" for p in folder.iterdir()):
        return nested
    return folder


def read_attributes(path: Path) -> tuple[tuple[str, ...], dict[str, list[int]]]:
    """Parse ``list_attr_celeba.txt`` → (attribute names, {file name: 0/1 values}).

    Raises:
        UserError: a header or a row that does not match the format (naming the line).
    """
    fix = "expected line 1: image count, line 2: 40 attribute names, then 'file v1 ... v40' with v in {-1, 1}"
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    if len(lines) < 2:
        raise UserError(f"{path}: too short for an attribute file; {fix}")
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise UserError(f"{path}:1: {lines[0].strip()!r} is not the image count; {fix}") from None
    names = tuple(lines[1].split())
    if not names:
        raise UserError(f"{path}:2: no attribute names; {fix}")
    table: dict[str, list[int]] = {}
    for lineno, line in enumerate(lines[2:], 3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(names) + 1:
            raise UserError(
                f"{path}:{lineno}: {len(fields) - 1} attribute values for {fields[0]}, expected "
                f"{len(names)}; {fix}"
            )
        try:
            values = [int(v) for v in fields[1:]]
        except ValueError:
            raise UserError(f"{path}:{lineno}: non-integer attribute value; {fix}") from None
        if any(v not in (-1, 0, 1) for v in values):
            raise UserError(f"{path}:{lineno}: attribute value outside {{-1, 1}}; {fix}")
        table[fields[0]] = [1 if v == 1 else 0 for v in values]
    if len(table) != count:
        raise UserError(
            f"{path}: line 1 says {count} images but {len(table)} rows follow; the rows don't match "
            "the header: use the released file unchanged"
        )
    return names, table


def read_pairs(path: Path, what: str) -> dict[str, int]:
    """Parse a ``file integer`` list (partition or identity)."""
    table: dict[str, int] = {}
    for lineno, fields, line in read_rows(path):
        try:
            if len(fields) != 2:
                raise ValueError
            table[fields[0]] = int(fields[1])
        except ValueError:
            raise UserError(
                f"{path}:{lineno}: expected '<file> <{what}>', got {line.strip()!r}"
            ) from None
    if not table:
        raise UserError(f"{path}: empty; expected one '<file> <{what}>' line per image")
    return table


class CelebA(FileImageDataset):
    """CelebA aligned images with 40 binary attributes (and identity).

    Args:
        root: folder with img_align_celeba/ and the list files (or its parent with celeba/).
        split: ``train``, ``val``, ``test`` or ``all``.
        image_size: output size S (pixels); the paper uses 64.
        ids_file: optional id list (column ``image_id``) to keep only those images; every id must
            be in the split.
        verify, **common: as `FileImageDataset` (verify, crop, train, hflip, fraction, strict).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str,
        image_size: int,
        *,
        ids_file: str | os.PathLike | None = None,
        **options: Any,
    ) -> None:
        self.ids_file = ids_file
        super().__init__(root, split, image_size, **options)

    def _records(self, root: Path, split: str) -> tuple[list[Record], str]:
        check_split(split, (*PARTITIONS, "all"), "CelebA")
        base = celeba_root(root)
        images = image_folder(base)
        attr_path = require_file(
            base / "list_attr_celeba.txt", "put CelebA's list_attr_celeba.txt (Anno/) there"
        )
        part_path = require_file(
            base / "list_eval_partition.txt", "put CelebA's list_eval_partition.txt (Eval/) there"
        )
        names, attrs = read_attributes(attr_path)
        partition = read_pairs(part_path, "0|1|2")
        ident_path = base / "identity_CelebA.txt"
        identities = read_pairs(ident_path, "identity") if ident_path.is_file() else None

        files = sorted(f for f, p in partition.items() if split == "all" or p == PARTITIONS[split])
        if self.ids_file is not None:
            ids_file = resolve_path(self.ids_file, root, base)
            wanted = [r["image_id"] for r in read_id_list(ids_file, ("image_id",))]
            outside = sorted(set(wanted) - set(files))
            if outside:
                raise UserError(
                    f"{ids_file}: {len(outside)} id(s) are not in CelebA's '{split}' split "
                    f"(e.g. {outside[0]}); write the list for this split (unsup3d.tools.celeba_subset)"
                )
            files = sorted(set(wanted))
        no_attr = [f for f in files if f not in attrs]
        if no_attr:
            raise UserError(
                f"{attr_path}: no attribute row for {len(no_attr)} image(s) of the partition list "
                f"(e.g. {no_attr[0]}); the attribute rows don't match the images: use the released "
                "list_attr_celeba.txt and list_eval_partition.txt together"
            )
        if identities is not None:
            no_id = [f for f in files if f not in identities]
            if no_id:
                raise UserError(
                    f"{ident_path}: no identity for {len(no_id)} image(s) (e.g. {no_id[0]}); use "
                    "the released identity_CelebA.txt or remove it"
                )
        on_disk = {p.name for p in images.iterdir()}
        absent = [f for f in files if f not in on_disk]
        if absent:
            raise UserError(
                f"{images}: {len(absent)} image(s) listed in {attr_path.name} are missing "
                f"(e.g. {absent[0]}); unzip the complete img_align_celeba.zip there"
            )
        self.attribute_names = names
        self.label_names = names + (("identity",) if identities is not None else ())
        records = []
        for f in files:
            labels = dict(zip(names, attrs[f]))
            if identities is not None:
                labels["identity"] = identities[f]
            records.append(Record(path=images / f, image_id=f, labels=labels))
        return records, f"CelebA's '{split}' partition lists no images"
