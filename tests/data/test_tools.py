"""The paper's label-set tools: ShapeNet 5-class subset, CelebA 6,000-id list, CelebAMask-HQ prep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from unsup3d.data import celeba_subset, celebamask_prepare, shapenet_classes
from unsup3d.data.celeba import CelebA
from unsup3d.data.celebamask import CLASSES, CelebAMaskHQ
from unsup3d.data.idlist import read_id_list
from unsup3d.data.shapenet import ShapeNetCars
from unsup3d.cli import cli_main
from unsup3d.errors import UserError

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "experiments" / "data" / "shapenet_car_classes.yaml"


# -------------------------------------------------------------------------- ShapeNet car classes
MODELS = [
    (
        "a" * 32,
        "cruiser,police cruiser,patrol car,police car,prowl car,squad car",
        "Ford Crown Victoria",
    ),
    ("b" * 32, "car,auto,automobile,machine,motorcar", "Ambulance Mercedes Sprinter"),
    ("c" * 32, "limousine,limo", "Lincoln Town Car stretch"),
    ("d" * 32, "jeep,landrover", "Willys MB"),
    ("e" * 32, "sports car,sport car", "Ferrari 458 Italia"),
    ("f" * 32, "car,auto,automobile,machine,motorcar", "Ferrari ambulance (joke)"),  # two classes
    ("0" * 32, "sedan,saloon", "Toyota Corolla"),  # no class
    (
        "1" * 32,
        "car,auto,automobile,machine,motorcar",
        "Toyota Land Cruiser",
    ),  # 'cruiser' alone: none
]


@pytest.fixture
def renders(tmp_path, make):
    test = tmp_path / "syncar" / "test"
    for k, (model, _, _) in enumerate(MODELS):
        for view in range(2):
            make.save(test / f"{model}_{view}.png", make.rgb(10 * k + view, (16, 16)))
    make.save(test / "no_model_id.png", make.rgb(0, (16, 16)))
    make.write_metadata(tmp_path / "02958343.csv", MODELS)
    return test


def test_shapenet_classes_keyword_matching_and_loader(renders, tmp_path, capsys):
    out = renders.parent / "test_classes.txt"
    argv = [str(tmp_path / "02958343.csv"), str(renders), str(out), "--config", str(CONFIG)]
    assert shapenet_classes.main(argv) == 0
    assert "10 images" in capsys.readouterr().out
    rows = read_id_list(out, ("path", "class_index", "class_name", "model_id"))
    got = {r["model_id"][0]: r["class_name"] for r in rows}
    assert got == {
        "a": "police_car",
        "b": "ambulance",
        "c": "limousine",
        "d": "jeep",
        "e": "sports_car",
    }
    assert "ambiguous models left out: 1" in out.read_text()
    ds = ShapeNetCars(renders.parent, "test", 16, classes_file="test_classes.txt")
    assert len(ds) == 10 and ds.label_classes["car_class"][0] == "police_car"
    assert {ds[i]["labels"]["car_class"] for i in range(10)} == {0, 1, 2, 3, 4}
    assert cli_main(shapenet_classes.main, argv) == 2  # exists: needs --overwrite


def test_shapenet_classes_caps_per_class_deterministically(renders, tmp_path):
    config = tmp_path / "cap.yaml"
    config.write_text(CONFIG.read_text().replace("max_images: 1000", "max_images: 5"))
    outs = []
    for name in ("x.txt", "y.txt"):
        argv = [
            str(tmp_path / "02958343.csv"),
            str(renders),
            str(tmp_path / name),
            "--config",
            str(config),
        ]
        shapenet_classes.main(argv)
        outs.append((tmp_path / name).read_text())
    assert outs[0] == outs[1] and len(read_id_list(tmp_path / "x.txt", ("path",))) == 5


def test_shapenet_classes_config_and_metadata_errors(renders, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("clases: {}\n")
    with pytest.raises(
        UserError, match=r"bad.yaml: unknown key 'clases' \(did you mean 'classes'\?\)"
    ):
        shapenet_classes.main(
            [
                str(tmp_path / "02958343.csv"),
                str(renders),
                str(tmp_path / "o.txt"),
                "--config",
                str(bad),
            ]
        )
    (tmp_path / "meta.csv").write_text("model,title\nx,y\n")
    with pytest.raises(UserError, match=r"meta.csv: columns .* lack a model id"):
        shapenet_classes.main(
            [
                str(tmp_path / "meta.csv"),
                str(renders),
                str(tmp_path / "o.txt"),
                "--config",
                str(CONFIG),
            ]
        )


# ----------------------------------------------------------------------------- CelebA subset
def test_celeba_subset_is_seeded_and_loads(celeba_root, tmp_path):
    out = tmp_path / "ids.txt"
    assert (
        celeba_subset.main(
            [str(celeba_root), str(out), "--split", "train", "--count", "5", "--seed", "0"]
        )
        == 0
    )
    ids = [r["image_id"] for r in read_id_list(out, ("image_id",))]
    assert (
        len(ids) == 5 and ids == sorted(ids) and all("000001.jpg" <= i <= "000008.jpg" for i in ids)
    )
    celeba_subset.main(
        [str(celeba_root), str(tmp_path / "same.txt"), "--split", "train", "--count", "5"]
    )
    assert (tmp_path / "same.txt").read_bytes() == out.read_bytes()
    celeba_subset.main(
        [
            str(celeba_root),
            str(tmp_path / "other.txt"),
            "--split",
            "train",
            "--count",
            "5",
            "--seed",
            "2",
        ]
    )
    assert (tmp_path / "other.txt").read_bytes() != out.read_bytes()
    ds = CelebA(celeba_root, "train", 16, ids_file=out)
    assert [ds[i]["image_id"] for i in range(len(ds))] == ids
    with pytest.raises(
        UserError, match=r"--count 6000: the 'test' partition has 2 images; use 1..2"
    ):
        celeba_subset.main([str(celeba_root), str(tmp_path / "big.txt")])


# ------------------------------------------------------------------------ CelebAMask-HQ prepare
@pytest.fixture
def celebamask_raw(tmp_path, make):
    """The release layout: CelebA-HQ-img/, CelebAMask-HQ-mask-anno/0/, the mapping file."""
    raw = tmp_path / "CelebAMask-HQ"
    lines = ["idx orig_idx orig_file"]
    for idx in range(6):
        make.save(raw / "CelebA-HQ-img" / f"{idx}.jpg", make.rgb(idx, (32, 32)))
        skin = np.zeros((16, 16), np.uint8)
        skin[2:14, 2:14] = 255
        nose = np.zeros((16, 16), np.uint8)
        nose[6:10, 7:9] = 255
        make.save(raw / "CelebAMask-HQ-mask-anno" / "0" / f"{idx:05d}_skin.png", skin)
        make.save(raw / "CelebAMask-HQ-mask-anno" / "0" / f"{idx:05d}_nose.png", nose)
        if idx == 0:
            hair = np.zeros((16, 16), np.uint8)
            hair[0:3, :] = 255
            make.save(raw / "CelebAMask-HQ-mask-anno" / "0" / f"{idx:05d}_hair.png", hair)
        orig = 1000 * (idx + 1)
        lines.append(f"{idx} {orig - 1} {orig:06d}.jpg")
    (raw / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(lines) + "\n")
    parts = [0, 0, 0, 1, 2, 2]
    (tmp_path / "list_eval_partition.txt").write_text(
        "".join(f"{1000 * (i + 1):06d}.jpg {p}\n" for i, p in enumerate(parts)) + "999999.jpg 2\n"
    )
    return raw


def test_celebamask_prepare_composes_masks_and_loads(celebamask_raw, tmp_path):
    dst = tmp_path / "cm16"
    argv = [
        str(celebamask_raw),
        str(dst),
        "--partition",
        str(tmp_path / "list_eval_partition.txt"),
        "--size",
        "16",
    ]
    assert celebamask_prepare.main(argv) == 0
    rows = read_id_list(dst / "split_ids.txt", ("split", "image_id"))
    assert [(r["split"], r["image_id"]) for r in rows] == [
        ("train", "0"),
        ("train", "1"),
        ("train", "2"),
        ("val", "3"),
        ("test", "4"),
        ("test", "5"),
    ]
    mask = np.asarray(Image.open(dst / "train_masks" / "0.png"))
    assert mask.shape == (16, 16)
    assert mask[0, 0] == CLASSES.index("hair") and mask[8, 7] == CLASSES.index("nose")
    assert mask[4, 4] == CLASSES.index("skin") and mask[15, 15] == 0
    ds = CelebAMaskHQ(dst, "train", 16, train=False)
    assert len(ds) == 3 and torch.equal(ds[0]["mask"], torch.from_numpy(mask.astype(np.int64)))
    assert cli_main(celebamask_prepare.main, argv) == 2  # non-empty output without --overwrite


def test_celebamask_prepare_from_an_id_list(celebamask_raw, tmp_path):
    (tmp_path / "paper.txt").write_text("split\timage_id\ntrain\t1\ntest\t5\n")
    dst = tmp_path / "cm"
    celebamask_prepare.main(
        [str(celebamask_raw), str(dst), "--ids", str(tmp_path / "paper.txt"), "--size", "8"]
    )
    assert sorted(p.name for p in dst.iterdir()) == [
        "split_ids.txt",
        "test_images",
        "test_masks",
        "train_images",
        "train_masks",
    ]
    with pytest.raises(UserError, match=r"--partition or --ids: one is needed"):
        celebamask_prepare.main([str(celebamask_raw), str(tmp_path / "x")])
