"""segmentation.metrics: hand-made cases and agreement with torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segmentation.metrics import confusion_matrix, segmentation_scores


def test_perfect_prediction_scores_one_everywhere():
    target = np.random.default_rng(0).integers(0, 4, (3, 8, 8))
    s = segmentation_scores(target, target, 4)
    assert s["miou"] == s["topk_miou"] == s["pixel_accuracy"] == 1.0
    np.testing.assert_array_equal(s["per_class_iou"], np.ones(4))


def test_class_never_predicted_has_iou_zero():
    target = np.array([[0, 0, 1, 2]])
    pred = np.array([[0, 0, 0, 2]])  # class 1 never predicted
    s = segmentation_scores(pred, target, 3)
    np.testing.assert_allclose(s["per_class_iou"], [2 / 3, 0.0, 1.0])
    assert s["miou"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert s["pixel_accuracy"] == pytest.approx(3 / 4)


def test_absent_class_is_nan_and_left_out_of_the_means():
    target = np.array([[0, 1, 1, 0]])
    pred = np.array([[0, 1, 0, 0]])
    s = segmentation_scores(pred, target, 4, topk=1)  # classes 2 and 3 nowhere
    iou = s["per_class_iou"]
    assert np.isnan(iou[2]) and np.isnan(iou[3])
    assert iou[0] == pytest.approx(2 / 3) and iou[1] == pytest.approx(1 / 2)
    assert s["miou"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert s["topk_miou"] == pytest.approx(2 / 3)  # the best one
    # k beyond the classes with an IoU is capped
    assert segmentation_scores(pred, target, 4, topk=10)["topk_miou"] == pytest.approx(s["miou"])


def test_ignore_index_pixels_count_nowhere():
    target = np.array([[0, 1, 255, 255]])
    pred = np.array([[0, 1, 1, 0]])
    s = segmentation_scores(pred, target, 2)
    assert s["pixel_accuracy"] == 1.0 and s["miou"] == 1.0
    assert confusion_matrix(pred, target, 2).sum() == 2


def test_torch_and_numpy_inputs_agree_and_one_matrix_over_batches():
    rng = np.random.default_rng(1)
    target = rng.integers(0, 5, (6, 8, 8))
    pred = np.where(rng.random(target.shape) < 0.7, target, rng.integers(0, 5, target.shape))
    a = segmentation_scores(torch.from_numpy(pred), torch.from_numpy(target), 5)
    b = segmentation_scores(pred, target, 5)
    assert a["miou"] == b["miou"] and a["pixel_accuracy"] == b["pixel_accuracy"]
    # whole-set pixel accuracy, not a mean of per-batch accuracies
    m = confusion_matrix(pred[:2], target[:2], 5) + confusion_matrix(pred[2:], target[2:], 5)
    np.testing.assert_array_equal(m, confusion_matrix(pred, target, 5))


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="target has class id 7 outside"):
        segmentation_scores(np.zeros((2, 2)), np.full((2, 2), 7), 3)
    with pytest.raises(ValueError, match="same shape"):
        segmentation_scores(np.zeros((2, 2)), np.zeros((2, 3)), 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_torchmetrics_on_random_predictions(seed):
    tm = pytest.importorskip("torchmetrics.classification")
    g = torch.Generator().manual_seed(seed)
    c = 7
    target = torch.randint(0, c, (4, 16, 16), generator=g)
    target[torch.rand(target.shape, generator=g) < 0.1] = 255
    pred = torch.randint(0, c, target.shape, generator=g)
    keep = torch.rand(target.shape, generator=g) < 0.5
    pred = torch.where(keep & (target != 255), target, pred)
    ours = segmentation_scores(pred, target, c)
    jac = tm.MulticlassJaccardIndex(c, average="none", ignore_index=255)(pred, target)
    acc = tm.MulticlassAccuracy(c, average="micro", ignore_index=255)(pred, target)
    np.testing.assert_allclose(ours["per_class_iou"], jac.numpy(), rtol=1e-6)
    assert ours["miou"] == pytest.approx(float(jac.mean()), rel=1e-6)
    assert ours["pixel_accuracy"] == pytest.approx(float(acc), rel=1e-6)
    top = torch.sort(jac, descending=True).values[:5].mean()
    assert segmentation_scores(pred, target, c, topk=5)["topk_miou"] == pytest.approx(float(top))
