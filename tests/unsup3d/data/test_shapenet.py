"""ShapeNet car renders: split folders and the 5-class list."""

from __future__ import annotations

import pytest

from unsup3d.data.shapenet import ShapeNetCars
from unsup3d.errors import UserError


def test_shapenet_cars_folder_and_class_list(folder_root):
    ds = ShapeNetCars(folder_root, "train", 16, crop=[2, 3, 16, 16])
    assert len(ds) == 4 and ds[0]["labels"] == {}
    (folder_root / "classes.txt").write_text(
        "# test\npath\tclass_index\tclass_name\tmodel_id\nb.png\t1\tambulance\tm1\nsub/c.png\t0\tpolice_car\tm2\n"
    )
    ds = ShapeNetCars(folder_root, "train", 16, classes_file="classes.txt")
    assert [(ds[i]["image_id"], ds[i]["labels"]["car_class"]) for i in range(2)] == [
        ("b.png", 1),
        ("sub/c.png", 0),
    ]
    assert ds.label_classes == {"car_class": ("police_car", "ambulance")}
    with pytest.raises(UserError, match=r"classes.txt: 2 listed image\(s\) are not in .*test"):
        ShapeNetCars(folder_root, "test", 16, classes_file=folder_root / "classes.txt")
