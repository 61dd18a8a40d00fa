"""Face tracks from TV episodes (BBT s01e01, Buffy s05e02): one folder per track + an ids file.

Layout (the release's ``./multimedia/``)::

    <root>/<prefix>_<track id>/**/*.jpg    one folder per track; its frames (any image format)
    <ids file>                            first line a header, then "<track id> <name>" per track

``<root>`` is e.g. ``multimedia/bbt_tracks``; the ids file (e.g. ``multimedia/bbt_s01e01.ids``)
is ``ids_file``, or found as the only ``*.ids`` file in ``<root>`` or its parent. Tracks whose name
is not one of the identities (``bbt``: howard, leonard, penny, raj, sheldon; ``buffy``: xander,
buffy, dawn, anya, willow, giles; ``face_tracks``: every name in the file) are skipped, as are
track folders without an ids entry; both are counted in a log line. The paper's sets have 644
(BBT, 5 identities) and 568 (Buffy, 6 identities) tracks.

Items are frames: label ``identity`` (index into ``label_classes["identity"]``) and ``track_id``;
``tracks`` maps each track id to its item indices, for per-track averaging. The frames are resized
to S and scaled to [0, 1] like every other image (the release fed them raw, 0-255, unresized).
The sets are evaluation-only: split ``test`` or ``all`` (the same frames).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from unsup3d.data.base import (
    FileImageDataset,
    Record,
    check_split,
    list_images,
    read_rows,
    require_dir,
    resolve_path,
)
from unsup3d.errors import UserError

log = logging.getLogger(__name__)

BBT_IDENTITIES = ("howard", "leonard", "penny", "raj", "sheldon")
BUFFY_IDENTITIES = ("xander", "buffy", "dawn", "anya", "willow", "giles")


def find_ids_file(root: Path) -> Path:
    """The only ``*.ids`` file in ``root`` or, failing that, in its parent."""
    for folder in (root, root.parent):
        found = sorted(folder.glob("*.ids"))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UserError(
                f"{folder}: {len(found)} *.ids files ({', '.join(p.name for p in found)}); "
                "name the one for these tracks with the ids_file option"
            )
    raise UserError(
        f"{root}: no *.ids file here or in {root.parent}; put the track → name list there "
        "(e.g. bbt_s01e01.ids) or pass ids_file"
    )


def read_track_names(path: Path) -> dict[int, str]:
    """``<track id> <name>`` rows after an optional header line → {track id: lower-case name}."""
    table: dict[int, str] = {}
    for lineno, fields, line in read_rows(path):
        try:
            track = int(fields[0])
        except ValueError:
            if lineno == 1:
                continue  # the header line
            raise UserError(
                f"{path}:{lineno}: expected '<track id> <name>', got {line.strip()!r}"
            ) from None
        if len(fields) < 2:
            raise UserError(
                f"{path}:{lineno}: track {track} has no name; expected '<track id> <name>'"
            )
        table[track] = fields[1].lower()
    if not table:
        raise UserError(f"{path}: no '<track id> <name>' lines after the header")
    return table


def track_id_of(folder: Path) -> int | None:
    """The integer after the last underscore of a track folder's name (or the whole name)."""
    token = folder.name.rsplit("_", 1)[-1]
    try:
        return int(token)
    except ValueError:
        return None


class FaceTracks(FileImageDataset):
    """Face-track frames with identity labels and track ids.

    Args:
        root: folder with one sub-folder per track.
        split: ``test`` or ``all`` (the same frames; the sets are for evaluation).
        image_size: output size S (pixels).
        ids_file: the track → name list (default: the only ``*.ids`` in root or its parent).
        identities: names kept, in label order (default: the class's ``default_identities``;
            none: every name in the ids file, sorted).
        verify, **common: as `FileImageDataset` (verify, crop, train, hflip, fraction, strict).
    """

    label_names = ("identity",)
    default_identities: tuple[str, ...] = ()

    def __init__(
        self,
        root: str | os.PathLike,
        split: str,
        image_size: int,
        *,
        ids_file: str | os.PathLike | None = None,
        identities: tuple[str, ...] | list[str] | None = None,
        **options: Any,
    ) -> None:
        self.ids_file = ids_file
        self.identities = self.default_identities if identities is None else tuple(identities)
        super().__init__(root, split, image_size, **options)

    def _records(self, root: Path, split: str) -> tuple[list[Record], str]:
        check_split(split, ("test", "all"), "a face-track set")
        root = require_dir(root, "put one folder of frames per track there (<prefix>_<track id>/)")
        ids_file = self.ids_file
        ids_path = resolve_path(ids_file, root, root.parent) if ids_file else find_ids_file(root)
        if not ids_path.is_file():
            raise UserError(
                f"{ids_path}: ids file not found; put the '<track id> <name>' list there"
            )
        names = read_track_names(ids_path)
        keep = (
            tuple(n.lower() for n in self.identities)
            if self.identities
            else tuple(sorted(set(names.values())))
        )
        self.label_classes = {"identity": keep}
        folders = sorted(  # by track id, then name (a plain name sort puts 11 before 3)
            (p for p in root.iterdir() if p.is_dir()),
            key=lambda p: (track_id_of(p) is None, track_id_of(p) or 0, p.name),
        )
        if not folders:
            raise UserError(f"{root}: no track folders; put one folder of frames per track there")
        records: list[Record] = []
        unnamed, other, empty, bad = [], 0, 0, []
        for folder in folders:
            track = track_id_of(folder)
            if track is None:
                bad.append(folder.name)
                continue
            if track not in names:
                unnamed.append(track)
                continue
            if names[track] not in keep:
                other += 1
                continue
            frames = [p for p in _images_or_none(folder)]
            if not frames:
                empty += 1
                continue
            label = keep.index(names[track])
            for p in frames:
                records.append(
                    Record(
                        path=p,
                        image_id=p.relative_to(root).as_posix(),
                        labels={"identity": label},
                        track_id=track,
                    )
                )
        if bad or unnamed or other or empty:
            log.warning(
                "%s: skipped %d folder(s) not named <prefix>_<track id>, %d track(s) missing from "
                "%s, %d of other people, %d without frames",
                root,
                len(bad),
                len(unnamed),
                ids_path.name,
                other,
                empty,
            )
        return records, f"no frames of the identities {', '.join(keep)} (check {ids_path})"

    @property
    def tracks(self) -> dict[int, list[int]]:
        """Track id → indices of its frames in this dataset (for per-track averaging)."""
        out: dict[int, list[int]] = {}
        for i, raw in enumerate(self._index):
            out.setdefault(self.records[raw].track_id, []).append(i)
        return out


def _images_or_none(folder: Path) -> list[Path]:
    try:
        return list_images(folder, "")
    except UserError:
        return []


class BBTTracks(FaceTracks):
    """The Big Bang Theory s01e01 tracks: 5 identities (the paper: 644 tracks)."""

    default_identities = BBT_IDENTITIES


class BuffyTracks(FaceTracks):
    """Buffy the Vampire Slayer s05e02 tracks: 6 identities (the paper: 568 tracks)."""

    default_identities = BUFFY_IDENTITIES
