"""Generic image folders with train/val/test sub-folders (the release's `ImageDataset` layout).

Layout::

    <root>/train/**/*.jpg|png|...   (walked recursively, sorted by relative path)
    <root>/val/**/...
    <root>/test/**/...

The split name is the sub-folder's name, so any split folder works (e.g. ``test_id``). Items have
no labels; ``image_id`` is the path relative to the split folder. `python -m unsup3d.tools.split`
makes this layout from one folder of images.
"""

from __future__ import annotations

import os
from pathlib import Path

from unsup3d.data.base import FileImageDataset, Record, list_images, require_dir


def split_folder(root: str | os.PathLike, split: str, what: str) -> Path:
    """``<root>/<split>`` checked to be a folder, with a fix that names the split tool."""
    root = Path(root)
    require_dir(root, f"put the {what} there with train/, val/ and test/ sub-folders of images")
    return require_dir(
        root / split,
        f"put the '{split}' images of {what} there, or make train/val/test with "
        f"`python -m unsup3d.tools.split <all images> {root}`",
    )


class ImageFolder(FileImageDataset):
    """Images under ``<root>/<split>/`` (no labels).

    Args:
        root: the dataset folder holding the split sub-folders.
        split: sub-folder name (``train``, ``val``, ``test``, ...).
        image_size: output size S (pixels).
        verify, **common: as `FileImageDataset` (verify, crop, train, hflip, fraction, strict).
    """

    what = "an image-folder dataset"

    def _records(self, root: Path, split: str) -> tuple[list[Record], str]:
        folder = split_folder(root, split, self.what)
        fix = f"put the '{split}' images of {self.what} there"
        records = [
            Record(path=p, image_id=p.relative_to(folder).as_posix())
            for p in list_images(folder, fix)
        ]
        return records, fix
