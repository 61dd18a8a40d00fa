"""Materialized synthetic data loads back through the real loaders bit-exactly; re-runs resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unsup3d.data.registry import build_dataset
from unsup3d.data.synthetic import EMOTIONS, synthetic_faces
from unsup3d.data.synthetic.materialize import RAFDB_LABEL, materialize
from unsup3d.errors import UserError

S = 16
FACE_OPTS = {"frames_per_track": 4, "track_identities": 2, "images_per_identity": 3}


def _quantised(images: torch.Tensor) -> torch.Tensor:
    """What an 8-bit PNG of the images decodes to."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).float().div_(255.0)


def _stack(ds, key="image"):
    return torch.stack([ds[i][key] for i in range(len(ds))])


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("faces")
    materialize(
        "synthetic_faces",
        out,
        S,
        ("train", "test", "tracks"),
        (9, 6, 8),
        workers=1,
        chunk=5,
        **FACE_OPTS,
    )
    return out


def _faces(split, n):
    return synthetic_faces(split, S, num_images=n, **FACE_OPTS).generate_batch(range(n))


def test_image_folders_load_back_bit_exactly(faces_dir):
    for split, n in (("train", 9), ("test", 6)):
        loaded = build_dataset("image_folder", faces_dir, split, S, hflip=False)
        assert [loaded[i]["image_id"] for i in range(n)] == [f"{i:06d}.png" for i in range(n)]
        torch.testing.assert_close(
            _stack(loaded), _quantised(_faces(split, n)["image"]), rtol=0, atol=0
        )


def test_celeba_tables_load_back(faces_dir):
    gen = {s: _faces(s, n) for s, n in (("train", 9), ("test", 6))}
    for split in ("train", "test"):
        loaded = build_dataset("celeba", faces_dir / "celeba", split, S, hflip=False)
        g = gen[split]
        torch.testing.assert_close(_stack(loaded), _quantised(g["image"]), rtol=0, atol=0)
        for i in range(len(loaded)):
            labels = loaded[i]["labels"]
            assert loaded[i]["image_id"] == f"{split}_{i:06d}.png"
            assert labels["identity"] == int(g["labels"]["identity"][i])
            for name in synthetic_faces().attribute_names:
                assert labels[name] == int(g["labels"][name][i]), name
    ids = {
        build_dataset("celeba", faces_dir / "celeba", s, S)[0]["labels"]["identity"] for s in gen
    }
    assert len(ids) == 2  # train and test identities differ


def test_celebamask_masks_load_back(faces_dir):
    loaded = build_dataset("celebamask_hq", faces_dir / "celebamask", "test", S, hflip=False)
    g = _faces("test", 6)
    torch.testing.assert_close(_stack(loaded, "mask"), g["mask"], rtol=0, atol=0)
    torch.testing.assert_close(_stack(loaded), _quantised(g["image"]), rtol=0, atol=0)


def test_face_tracks_load_back(faces_dir):
    loaded = build_dataset("face_tracks", faces_dir / "tracks", "test", S, hflip=False)
    g = _faces("tracks", 8)
    assert len(loaded) == 8
    torch.testing.assert_close(_stack(loaded), _quantised(g["image"]), rtol=0, atol=0)
    assert [loaded[i]["track_id"] for i in range(8)] == g["track_id"].tolist()
    names = loaded.label_classes["identity"]
    got = [names[loaded[i]["labels"]["identity"]] for i in range(8)]
    assert got == [f"id{v}" for v in g["labels"]["identity"].tolist()]
    assert loaded.tracks == {0: [0, 1, 2, 3], 1: [4, 5, 6, 7]}


def test_rafdb_emotions_load_back(faces_dir):
    from unsup3d.data.rafdb import EMOTIONS as RAF

    loaded = build_dataset("rafdb", faces_dir / "rafdb", "test", S, hflip=False)
    g = _faces("test", 6)
    torch.testing.assert_close(_stack(loaded), _quantised(g["image"]), rtol=0, atol=0)
    for i in range(6):
        ours = EMOTIONS[int(g["labels"]["emotion"][i])]
        assert loaded[i]["labels"]["emotion"] == RAFDB_LABEL[ours] - 1
        assert RAF[loaded[i]["labels"]["emotion"]].startswith(ours[:3])


def test_ground_truth_files(faces_dir):
    with np.load(faces_dir / "ground_truth" / "test.npz", allow_pickle=False) as z:
        g = _faces("test", 6)
        np.testing.assert_array_equal(z["factors"], g["factors"].numpy())
        np.testing.assert_array_equal(z["view"], g["view"].numpy())
        assert list(z["factor_names"]) == list(synthetic_faces().factor_names)
        names = list(z["label_names"])
        np.testing.assert_array_equal(
            z["labels"][:, names.index("emotion")], g["labels"]["emotion"].numpy()
        )
    with np.load(faces_dir / "ground_truth" / "tracks.npz", allow_pickle=False) as z:
        assert z["track_ids"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_rerun_skips_existing_files_and_resumes(tmp_path):
    args = ("synthetic_faces", tmp_path, S, ("val",), 6)
    first = materialize(*args, workers=1, chunk=4)
    assert first["stats"]["val"]["rendered"] == 6
    image = tmp_path / "val" / "000004.png"
    stamp = image.stat().st_mtime_ns
    again = materialize(*args, workers=1, chunk=4)
    assert again["stats"]["val"]["rendered"] == 0 and again["stats"]["val"]["files_written"] == 0
    assert image.stat().st_mtime_ns == stamp
    # an interrupted run: a missing image and a missing link are written again, nothing else
    image.unlink()
    (tmp_path / "celeba" / "img_align_celeba" / "val_000001.png").unlink()
    resumed = materialize(*args, workers=1, chunk=4)
    assert resumed["stats"]["val"]["files_written"] == 2
    assert resumed["stats"]["val"]["rendered"] == 2  # only the items with a missing file
    loaded = build_dataset("celeba", tmp_path / "celeba", "val", S)
    g = synthetic_faces("val", S, num_images=6).generate_batch(range(6))
    torch.testing.assert_close(_stack(loaded), _quantised(g["image"]), rtol=0, atol=0)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".link"))]


def test_other_options_into_the_same_folder_are_refused(tmp_path):
    materialize("synthetic_faces", tmp_path, S, ("val",), 3, workers=1)
    with pytest.raises(UserError, match=r"other options \(seed\)"):
        materialize("synthetic_faces", tmp_path, S, ("val",), 3, seed=1, workers=1)
    with pytest.raises(UserError, match=r"num_images\[val\]"):
        materialize("synthetic_faces", tmp_path, S, ("val",), 4, workers=1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=f"{other}: folder is not empty; pass --overwrite"):
        materialize("synthetic_faces", other, S, ("val",), 3, workers=1)  # and no manifest.json


@pytest.mark.slow  # spawns two interpreters that import torch (~10 s on 2 busy cores)
def test_worker_processes_write_the_same_bytes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    materialize("synthetic_faces", one, S, ("test",), 6, workers=1, chunk=2)
    materialize("synthetic_faces", two, S, ("test",), 6, workers=2, chunk=2)
    for i in range(6):
        for sub in ("test", "celebamask/test_masks"):
            a, b = one / sub / f"{i:06d}.png", two / sub / f"{i:06d}.png"
            assert a.read_bytes() == b.read_bytes(), (sub, i)
