"""Synthetic cars: five classes a linear probe separates, seen from above."""

from __future__ import annotations

import torch

from unsup3d.data.synthetic import CAR_CLASSES, synthetic_cars


def test_a_linear_probe_on_car_pixels_separates_the_classes(ridge_accuracy):
    train = synthetic_cars("train", 16, num_images=150, images_per_identity=1)
    test = synthetic_cars("test", 16, num_images=60, images_per_identity=1)
    a, b = train.generate_batch(range(150)), test.generate_batch(range(60))
    assert train.label_classes["car_class"] == CAR_CLASSES and len(CAR_CLASSES) == 5
    assert sorted(set(a["labels"]["car_class"].tolist())) == [0, 1, 2, 3, 4]
    acc = ridge_accuracy(
        a["image"].flatten(1),
        a["labels"]["car_class"],
        b["image"].flatten(1),
        b["labels"]["car_class"],
        5,
    )
    assert acc > 0.6, acc  # chance: 0.2


def test_yaw_moves_the_car_silhouette():
    """A car seen from above also swings towards +u under a positive yaw."""
    cols = torch.arange(32.0)
    cars = synthetic_cars("test", 32, num_images=5, noise=0.0)
    q = cars.sample_params(range(5))
    q.view.zero_()
    q.view[:, 1] = 0.35
    right = (cars.render(q)["mask"] > 0).float()
    q.view[:, 1] = -0.35
    left = (cars.render(q)["mask"] > 0).float()
    shift = (right.sum(1) * cols).sum(1) / right.sum((1, 2)) - (left.sum(1) * cols).sum(
        1
    ) / left.sum((1, 2))
    assert bool((shift > 0.5).all())
