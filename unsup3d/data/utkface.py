"""UTKFace: labels parsed from ``age_gender_race_date`` file names.

Layout (after ``python -m unsup3d.tools.split <UTKFace download> data/UTKFace``)::

    <root>/{train,val,test}/**/<age>_<gender>_<race>_<date&time>.jpg[.chip.jpg]

The "Aligned&Cropped Faces" release (23,708 files, 200×200, ``....jpg.chip.jpg``) is what the
paper used. Labels: ``age`` (years), ``gender`` (0 male, 1 female), ``race`` (0 white, 1 black,
2 asian, 3 indian, 4 others). A few released files miss a field (e.g.
``39_1_20170116174525125.jpg.chip.jpg`` has no race); such files, and any whose fields are not
integers in range, are skipped with one logged warning and a count (`UTKFace.skipped_names`),
never a crash.
"""

from __future__ import annotations

import logging
from pathlib import Path

from unsup3d.data.base import FileImageDataset, Record, list_images
from unsup3d.data.folder import split_folder

log = logging.getLogger(__name__)

GENDERS = ("male", "female")
RACES = ("white", "black", "asian", "indian", "others")
MAX_AGE = 130


def parse_utkface_name(name: str) -> dict[str, int] | None:
    """Labels from a UTKFace file name, or None if a field is missing or out of range.

    Args:
        name: the file's base name, e.g. ``"25_1_3_20170104222301547.jpg.chip.jpg"``.

    Returns:
        ``{"age": int, "gender": 0|1, "race": 0..4}`` or None.
    """
    fields = Path(name).name.split("_")
    if len(fields) < 4:
        return None
    try:
        age, gender, race = (int(f) for f in fields[:3])
    except ValueError:
        return None
    if not (0 <= age <= MAX_AGE and 0 <= gender < len(GENDERS) and 0 <= race < len(RACES)):
        return None
    return {"age": age, "gender": gender, "race": race}


class UTKFace(FileImageDataset):
    """UTKFace images under ``<root>/<split>/`` with age/gender/race labels.

    Args:
        root: folder holding train/, val/, test/ (e.g. ``data/UTKFace``).
        split: ``train``, ``val`` or ``test`` (any sub-folder name works).
        image_size: output size S (pixels); the paper uses 64.
        verify, **common: as `FileImageDataset` (verify, crop, train, hflip, fraction, strict).
    """

    label_names = ("age", "gender", "race")
    label_classes = {"gender": GENDERS, "race": RACES}

    def _records(self, root: Path, split: str) -> tuple[list[Record], str]:
        folder = split_folder(root, split, "UTKFace")
        fix = f"put the UTKFace '{split}' images (named age_gender_race_date.jpg) there"
        records = []
        self.skipped_names: list[str] = []
        for path in list_images(folder, fix):
            labels = parse_utkface_name(path.name)
            if labels is None:
                self.skipped_names.append(path.name)
                continue
            records.append(
                Record(path=path, image_id=path.relative_to(folder).as_posix(), labels=labels)
            )
        if self.skipped_names:
            log.warning(
                "%s: skipped %d file(s) whose name is not age_gender_race_date (e.g. %s)",
                folder,
                len(self.skipped_names),
                self.skipped_names[0],
            )
        return records, fix
