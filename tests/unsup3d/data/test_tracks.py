"""Face tracks (BBT, Buffy, generic): identities, track ids, the ids file."""

from __future__ import annotations

import logging

import pytest

from unsup3d.data.tracks import BBTTracks, BuffyTracks, FaceTracks
from unsup3d.errors import UserError


def test_bbt_tracks_identities_and_grouping(tracks_root, caplog):
    with caplog.at_level(logging.WARNING):
        ds = BBTTracks(tracks_root, "test", 16)
    assert len(ds) == 3 + 2 + 2 + 1  # track 20 (waiter) is not one of the 5 identities
    assert "1 of other people" in caplog.text
    assert ds.tracks == {3: [0, 1, 2], 7: [3, 4], 11: [5, 6], 12: [7]}
    names = ds.label_classes["identity"]
    assert [names[ds[i]["labels"]["identity"]] for i in (0, 3, 5, 7)] == [
        "sheldon",
        "penny",
        "sheldon",
        "leonard",
    ]
    assert ds[4]["track_id"] == 7 and ds[4]["image_id"] == "bbt_7/0001.jpg"


def test_generic_tracks_and_errors(tracks_root, tmp_path):
    ds = FaceTracks(tracks_root, "all", 16)
    assert (
        ds.label_classes["identity"] == ("leonard", "penny", "sheldon", "waiter") and len(ds) == 10
    )
    with pytest.raises(UserError, match=r"no frames of the identities xander, buffy"):
        BuffyTracks(tracks_root, "test", 16)
    with pytest.raises(UserError, match=r"split 'train': a face-track set has no such split"):
        BBTTracks(tracks_root, "train", 16)
    (tracks_root.parent / "buffy_s05e02.ids").write_text("trackid name\n")
    with pytest.raises(
        UserError, match=r"2 \*.ids files .* name the one for these tracks with the ids_file option"
    ):
        BBTTracks(tracks_root, "test", 16)
    bad = tmp_path / "bad.ids"
    bad.write_text("trackid name\n3 sheldon\nseven penny\n")
    with pytest.raises(UserError, match=r"bad.ids:3: expected '<track id> <name>'"):
        BBTTracks(tracks_root, "test", 16, ids_file=bad)
