"""CelebAMask-HQ for face parsing: images + 19-class masks in split folders.

Layout (written by ``python -m unsup3d.tools.celebamask_prepare``, or by the face_parsing
scripts' g_mask.py + g_partition.py)::

    <root>/<split>_images/<id>.jpg|png     any image format
    <root>/<split>_masks/<id>.png          same stem; pixel value = class id 0..18, same size

Classes (g_mask.py order; later parts overwrite earlier ones): 0 background, 1 skin, 2 nose,
3 eye_g, 4 l_eye, 5 r_eye, 6 l_brow, 7 r_brow, 8 l_ear, 9 r_ear, 10 mouth, 11 u_lip, 12 l_lip,
13 hair, 14 hat, 15 ear_r, 16 neck_l, 17 neck, 18 cloth. The image is resized bilinearly and the
mask with nearest to S×S (the paper: 64×64). A mask whose size differs from its image's is an
error at build time; a class id ≥ 19 other than 255 (ignored by the segmentation loss and
metrics) is an error when the item is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from unsup3d.data.base import FileImageDataset, Record, list_images, mask_array, require_dir
from unsup3d.errors import UserError

IGNORE_INDEX = 255  # a pixel value allowed in masks: no class, left out of loss and metrics
CLASSES = (
    "background",
    "skin",
    "nose",
    "eye_g",
    "l_eye",
    "r_eye",
    "l_brow",
    "r_brow",
    "l_ear",
    "r_ear",
    "mouth",
    "u_lip",
    "l_lip",
    "hair",
    "hat",
    "ear_r",
    "neck_l",
    "neck",
    "cloth",
)


class CelebAMaskHQ(FileImageDataset):
    """CelebAMask-HQ images with per-pixel class masks (item key ``mask``, int64 (S, S)).

    Args:
        root: folder with ``<split>_images/`` and ``<split>_masks/``.
        split: ``train``, ``val`` or ``test`` (any prefix with both folders works).
        image_size: output size S (pixels).
        verify, **common: as `FileImageDataset` (verify, crop, train, hflip, fraction, strict).
    """

    num_mask_classes = len(CLASSES)
    mask_classes = CLASSES

    def _records(self, root: Path, split: str) -> tuple[list[Record], str]:
        fix_root = "make it with python -m unsup3d.tools.celebamask_prepare (docs/datasets.md)"
        root = require_dir(root, fix_root)
        img_dir = require_dir(
            root / f"{split}_images", f"put the '{split}' face images there; {fix_root}"
        )
        mask_dir = require_dir(
            root / f"{split}_masks", f"put one <id>.png class-id mask per image there; {fix_root}"
        )
        images = list_images(img_dir, f"put the '{split}' face images there", recursive=False)
        records = []
        for path in images:
            mask = mask_dir / f"{path.stem}.png"
            if not mask.is_file():
                raise UserError(
                    f"{mask}: mask not found for image {path.name}; every image needs a "
                    f"<id>.png mask of class ids 0..{len(CLASSES) - 1} in {mask_dir}"
                )
            records.append(Record(path=path, image_id=path.stem, mask_path=mask))
        return records, f"put the '{split}' face images there"

    def _mask(self, i: int) -> Image.Image | None:
        img = super()._mask(i)
        if img is not None:
            self._check_classes(img, self.records[i].mask_path)
        return img

    @staticmethod
    def _check_classes(img: Image.Image, path: Any) -> None:
        values = mask_array(img, path)
        bad = values[((values < 0) | (values >= len(CLASSES))) & (values != IGNORE_INDEX)]
        if bad.size:
            raise UserError(
                f"{path}: mask has class id {int(bad.flat[0])} outside 0..{len(CLASSES) - 1}; "
                f"pixel values must be CelebAMask-HQ class ids (background 0 … cloth 18) "
                f"or {IGNORE_INDEX} (ignored)"
            )
