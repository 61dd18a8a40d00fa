"""Tiny fixtures (4-16 images, 16-32 px) in each dataset's exact on-disk layout, under tmp_path."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from unsup3d.data.smallnorb import FILES as NORB_FILES
from unsup3d.data.smallnorb import write_norb

CELEBA_ATTRS = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
    "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
    "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


def rgb(seed: int, size: tuple[int, int] = (24, 24)) -> np.ndarray:
    """A deterministic random RGB image, uint8 (H, W, 3); size is (width, height)."""
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def save(path: Path, array: np.ndarray) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return array


FOLDER_NAMES = {
    "train": ["a.png", "b.png", "sub/c.png", "sub/d.png"],
    "val": ["e.png", "f.png"],
    "test": ["g.png", "h.png"],
}


def folder_seed(split: str, name: str) -> int:
    return 100 * "train val test".split().index(split) + FOLDER_NAMES[split].index(name)


@pytest.fixture
def folder_root(tmp_path: Path) -> Path:
    """image_folder / syncar layout: root/{train,val,test}/ with a nested folder and a stray file."""
    root = tmp_path / "folder"
    for split, names in FOLDER_NAMES.items():
        for name in names:
            save(root / split / name, rgb(folder_seed(split, name)))
    (root / "train" / "notes.txt").write_text("not an image")
    return root


UTK_NAMES = {
    "train": [
        "25_0_0_20170104222301547.jpg.chip.jpg",
        "31_1_2_20170105163720152.jpg.chip.jpg",
        "4_1_3_20170109191432566.jpg.chip.jpg",
        "67_0_4_20170117195439234.jpg.chip.jpg",
        "39_1_20170116174525125.jpg.chip.jpg",  # released file with no race field
    ],
    "val": ["18_1_1_20170112213500903.jpg.chip.jpg", "50_0_3_20170119180524116.jpg.chip.jpg"],
    "test": ["2_0_2_20161219141240427.jpg.chip.jpg", "90_1_0_20170110182052119.jpg.chip.jpg"],
}


@pytest.fixture
def utkface_root(tmp_path: Path) -> Path:
    """UTKFace after the split tool: root/{train,val,test}/<age>_<gender>_<race>_<date>.jpg.chip.jpg."""
    root = tmp_path / "UTKFace"
    for split, names in UTK_NAMES.items():
        for i, name in enumerate(names):
            save(root / split / name, rgb(i, (20, 20)))
    return root


def celeba_table(n: int = 12) -> tuple[list[str], np.ndarray]:
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    attrs = np.where(np.random.default_rng(0).random((n, 40)) < 0.5, -1, 1)
    return names, attrs


@pytest.fixture
def celeba_root(tmp_path: Path) -> Path:
    """CelebA's official layout: img_align_celeba/ + list_attr, identity, partition (8/2/2)."""
    root = tmp_path / "celeba"
    names, attrs = celeba_table()
    for i, name in enumerate(names):
        save(root / "img_align_celeba" / name, rgb(i, (18, 22)))
    lines = [str(len(names)), " ".join(CELEBA_ATTRS)]
    lines += [name + " " + " ".join(f"{v:2d}" for v in row) for name, row in zip(names, attrs)]
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "identity_CelebA.txt").write_text(
        "".join(f"{name} {100 + i % 3}\n" for i, name in enumerate(names))
    )
    parts = [0] * 8 + [1] * 2 + [2] * 2
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{name} {p}\n" for name, p in zip(names, parts))
    )
    return root


def mask_of(seed: int, size: tuple[int, int] = (24, 24)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 19, (size[1], size[0]), dtype=np.uint8)


@pytest.fixture
def celebamask_root(tmp_path: Path) -> Path:
    """CelebAMask-HQ prepared layout: {train,test}_images/<id>.jpg + {train,test}_masks/<id>.png."""
    root = tmp_path / "celebamask"
    for split, ids in {"train": [0, 1, 2, 3], "test": [4, 5]}.items():
        for i in ids:
            save(root / f"{split}_images" / f"{i}.png", rgb(i))
            save(root / f"{split}_masks" / f"{i}.png", mask_of(i))
    return root


RAF_ROWS = [
    ("train_00001.jpg", 5),
    ("train_00002.jpg", 1),
    ("train_00003.jpg", 7),
    ("train_00004.jpg", 4),
]
RAF_ROWS += [("test_0001.jpg", 2), ("test_0002.jpg", 6)]


@pytest.fixture
def rafdb_root(tmp_path: Path) -> Path:
    """RAF-DB basic: EmoLabel/list_patition_label.txt + Image/{aligned,original}/."""
    root = tmp_path / "RAF-DB" / "basic"
    (root / "EmoLabel").mkdir(parents=True)
    (root / "EmoLabel" / "list_patition_label.txt").write_text(
        "".join(f"{n} {label}\n" for n, label in RAF_ROWS)
    )
    for i, (name, _) in enumerate(RAF_ROWS):
        stem = name[:-4]
        save(root / "Image" / "aligned" / f"{stem}_aligned.jpg", rgb(i, (20, 20)))
        save(root / "Image" / "original" / name, rgb(i, (28, 24)))
    return root.parent


@pytest.fixture
def tracks_root(tmp_path: Path) -> Path:
    """BBT-style tracks: multimedia/bbt_tracks/<x>_<trackid>/ frames + multimedia/bbt_s01e01.ids."""
    mm = tmp_path / "multimedia"
    root = mm / "bbt_tracks"
    tracks = {3: 3, 7: 2, 11: 2, 12: 1, 20: 2}  # track id -> frames
    for tid, n in tracks.items():
        for f in range(n):
            save(root / f"bbt_{tid}" / f"{f:04d}.jpg", rgb(tid * 10 + f, (16, 16)))
    (mm / "bbt_s01e01.ids").write_text(
        "trackid name\n3 sheldon\n7 Penny\n11 sheldon\n12 leonard\n20 waiter\n"
    )
    return root


@pytest.fixture
def dsprites_file(tmp_path: Path) -> Path:
    """dSprites .npz: imgs uint8 0/1 (16, 32, 32), latents_classes (16, 6) (colour first)."""
    path = tmp_path / "dsprites" / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    path.parent.mkdir()
    rng = np.random.default_rng(1)
    imgs = (rng.random((16, 32, 32)) < 0.3).astype(np.uint8)
    classes = np.zeros((16, 6), dtype=np.int64)
    classes[:, 1:] = np.stack(
        np.meshgrid([0, 1], [0, 1], [0, 1], [0, 1], [0], indexing="ij"), -1
    ).reshape(16, 5)
    np.savez_compressed(
        path, imgs=imgs, latents_classes=classes, latents_values=classes.astype(float)
    )
    return path


@pytest.fixture
def shapes3d_file(tmp_path: Path) -> Path:
    """3dshapes.h5: images uint8 (16, 16, 16, 3), labels float64 (16, 6) factor values."""
    path = tmp_path / "3dshapes" / "3dshapes.h5"
    path.parent.mkdir()
    idx = np.stack(
        np.meshgrid([0, 1], [0, 1], [0, 1], [0], [0, 1], [0], indexing="ij"), -1
    ).reshape(16, 6)
    values = idx * np.array([0.1, 0.1, 0.1, 1 / 14, 1.0, 30 / 7]) + np.array(
        [0, 0, 0, 0.75, 0, -30]
    )
    with h5py.File(path, "w") as h5:
        h5["images"] = np.random.default_rng(2).integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
        h5["labels"] = values
    return path


@pytest.fixture
def cars3d_root(tmp_path: Path) -> Path:
    """Cars3D: 2 car_*_mesh.mat files, im uint8 (24, 24, 3, 4 azimuths, 2 elevations)."""
    root = tmp_path / "cars"
    root.mkdir()
    for obj in range(2):
        im = np.zeros((24, 24, 3, 4, 2), dtype=np.uint8)
        for a in range(4):
            for e in range(2):
                im[:, :, 0, a, e] = 40 * a  # red encodes azimuth
                im[:, :, 1, a, e] = 100 * e  # green encodes elevation
                im[:, :, 2, a, e] = 200 * obj  # blue encodes the object
        scipy.io.savemat(root / f"car_{obj + 1:03d}_mesh.mat", {"im": im})
    return root


@pytest.fixture
def smallnorb_root(tmp_path: Path) -> Path:
    """SmallNORB: the six NORB binary matrices, 8 items each (24×24 stereo pairs)."""
    root = tmp_path / "smallnorb"
    root.mkdir()
    for split, first in (("train", 0), ("test", 8)):
        n = 8
        dat = np.zeros((n, 2, 24, 24), dtype=np.uint8)
        for i in range(n):
            dat[i, 0] = (first + i) * 10  # left camera: encodes the item
            dat[i, 1] = 255
        cat = (np.arange(n, dtype=np.int32) + first) % 5
        info = np.stack(
            [
                np.full(n, first // 8 * 5),
                np.arange(n) % 9,
                2 * (np.arange(n) % 18),
                np.arange(n) % 6,
            ],
            1,
        )
        write_norb(root / NORB_FILES[split].format("dat"), dat)
        write_norb(root / NORB_FILES[split].format("cat"), cat)
        write_norb(root / NORB_FILES[split].format("info"), info.astype(np.int32))
    return root


MPI3D_SIZES = (2, 2, 2, 1, 1, 2, 1)


@pytest.fixture
def mpi3d_file(tmp_path: Path) -> Path:
    """MPI3D .npz (uncompressed, as np.savez): images uint8 (16, 16, 16, 3) in grid order."""
    path = tmp_path / "mpi3d" / "real3d_complicated_shapes_ordered.npz"
    path.parent.mkdir()
    images = np.zeros((16, 16, 16, 3), dtype=np.uint8)
    images[:, :, :, 0] = (np.arange(16) * 15).reshape(16, 1, 1)  # red encodes the index
    np.savez(path, images=images)
    return path


FACES_SIZES = (2, 2, 2, 2)


@pytest.fixture
def faces_file(tmp_path: Path) -> Path:
    """basel_face_renders.pth: one uint8 tensor of 16 grey 16×16 renders in grid order."""
    path = tmp_path / "3dfaces" / "basel_face_renders.pth"
    path.parent.mkdir()
    renders = (
        (torch.arange(16, dtype=torch.uint8) * 16).view(2, 2, 2, 2, 1, 1).expand(2, 2, 2, 2, 16, 16)
    )
    torch.save(renders.contiguous(), path)
    return path


def write_metadata(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """ShapeNetCore car metadata CSV with (model id, wnlemmas, name) rows."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["fullId", "wnsynset", "wnlemmas", "up", "front", "name", "tags"])
        for model, lemmas, name in rows:
            writer.writerow(
                [f"3dw.{model}", "02958343", lemmas, "0\\,0\\,1", "0\\,-1\\,0", name, ""]
            )
    return path


@pytest.fixture
def make() -> SimpleNamespace:
    """The fixture writers, for tests that build variants (importlib mode cannot import conftest)."""
    writers = {f.__name__: f for f in (rgb, save, mask_of, write_metadata, celeba_table)}
    return SimpleNamespace(**writers, mpi3d_sizes=MPI3D_SIZES, faces_sizes=FACES_SIZES)


def _check_factor_item(item: dict, size: int, k: int) -> None:
    assert item["image"].shape == (3, size, size) and item["image"].dtype == torch.float32
    assert item["factors"].dtype == torch.float32 and item["factors"].shape == (k,)
    assert list(item["labels"].values()) == [int(v) for v in item["factors"]]


@pytest.fixture
def check_factor_item():
    """``check(item, S, K)``: a factor-grid item's image (3, S, S), K factors, labels = factors."""
    return _check_factor_item
