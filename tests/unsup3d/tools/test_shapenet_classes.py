"""python -m unsup3d.tools.shapenet_classes: the 5-class ShapeNet subset by metadata keywords."""

from __future__ import annotations

from pathlib import Path

import pytest

from unsup3d.cli import cli_main
from unsup3d.data.idlist import read_id_list
from unsup3d.data.shapenet import ShapeNetCars
from unsup3d.errors import UserError
from unsup3d.tools import shapenet_classes

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "experiments" / "data" / "shapenet_car_classes.yaml"


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
    assert f"error: {out}: exists; pass --overwrite to replace it" in capsys.readouterr().err
    again = [*argv[:2], "--output", str(out), "--config", str(CONFIG), "--overwrite"]
    before = out.read_bytes()
    assert shapenet_classes.main(again) == 0 and out.read_bytes() == before


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
