"""ShapeNet car renders in unsup3d's ``syncar`` layout, optionally with the 5 car classes.

Layout (unsup3d's ``syncar.zip`` unpacked into ``data/``)::

    <root>/{train,val,test}/**/*.png     (the paper: 28k train, 7k val, 7k test)
    <root>/<classes file>                optional: written by `unsup3d.tools.shapenet_classes`

The release trains on crop (top 8, left 14, 100×100) then resize to 64: pass
``crop=[8, 14, 100, 100]`` (``experiments/train_shapenet_cars.yaml`` does).

With ``classes_file`` (a path, or a name relative to ``<root>``) only the images listed there are
used, each with label ``car_class`` (police_car, ambulance, limousine, jeep, sports_car by
default; the order is the file's ``class_index`` column). The file's ``path`` column is relative
to the split folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from unsup3d.data.base import FileImageDataset, Record, list_images, resolve_path
from unsup3d.data.folder import split_folder
from unsup3d.data.idlist import read_id_list
from unsup3d.errors import UserError


def read_class_list(path: Path) -> tuple[dict[str, int], tuple[str, ...]]:
    """Rows ``path, class_index, class_name`` → ({path: index}, class names by index)."""
    rows = read_id_list(path, ("path", "class_index", "class_name"))
    labels: dict[str, int] = {}
    names: dict[int, str] = {}
    for row in rows:
        try:
            idx = int(row["class_index"])
        except ValueError:
            raise UserError(
                f"{path}: class_index {row['class_index']!r} is not an integer; rewrite the file "
                "with python -m unsup3d.tools.shapenet_classes"
            ) from None
        if names.setdefault(idx, row["class_name"]) != row["class_name"]:
            raise UserError(
                f"{path}: class_index {idx} has two names ({names[idx]}, {row['class_name']})"
            )
        labels[row["path"]] = idx
    if sorted(names) != list(range(len(names))):
        raise UserError(f"{path}: class_index values {sorted(names)} are not 0..K-1")
    return labels, tuple(names[i] for i in range(len(names)))


class ShapeNetCars(FileImageDataset):
    """ShapeNet car renders under ``<root>/<split>/``; optional 5-class labels.

    Args:
        root: folder holding train/, val/, test/ (e.g. ``data/syncar``).
        split: split sub-folder.
        image_size: output size S (pixels).
        classes_file: id list from `unsup3d.tools.shapenet_classes` (``path``, ``class_index``,
            ``class_name``); keeps only the listed images and adds label ``car_class``.
        verify, **common: as `FileImageDataset` (verify, crop, train, hflip, fraction, strict).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str,
        image_size: int,
        *,
        classes_file: str | os.PathLike | None = None,
        **options: Any,
    ) -> None:
        self.classes_file = classes_file
        super().__init__(root, split, image_size, **options)

    def _records(self, root: Path, split: str) -> tuple[list[Record], str]:
        folder = split_folder(root, split, "the ShapeNet car renders (syncar)")
        fix = f"put the '{split}' car renders there (unsup3d's syncar.zip)"
        paths = {p.relative_to(folder).as_posix(): p for p in list_images(folder, fix)}
        if self.classes_file is None:
            records = [Record(path=p, image_id=rel) for rel, p in paths.items()]
        else:
            cpath = resolve_path(self.classes_file, root, folder)
            labels, names = read_class_list(cpath)
            missing = sorted(set(labels) - set(paths))
            if missing:
                raise UserError(
                    f"{cpath}: {len(missing)} listed image(s) are not in {folder} (e.g. {missing[0]}); "
                    f"the list's paths are relative to the '{split}' folder: write it for this split"
                )
            self.label_names = ("car_class",)
            self.label_classes = {"car_class": names}
            records = [
                Record(path=paths[rel], image_id=rel, labels={"car_class": labels[rel]})
                for rel in sorted(labels)
            ]
        return records, fix
