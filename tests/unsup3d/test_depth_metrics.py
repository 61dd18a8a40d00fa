import math

import numpy as np
import pytest
import torch

from unsup3d.depth_metrics import (
    constant_depth_side,
    erode_mask,
    evaluation_masks,
    log_depth_fit,
    normal_angle_deviation,
    scale_invariant_depth_error,
)


def _depth(batch=2, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 0.9 + 0.2 * torch.rand(batch, size, size, generator=g, dtype=torch.float64)


def test_side_is_scale_invariant_and_zero_for_scaled_truth():
    gt = _depth()
    mask = torch.ones_like(gt)
    torch.testing.assert_close(
        scale_invariant_depth_error(3.0 * gt, gt, mask), torch.zeros(2, dtype=torch.float64)
    )
    pred = _depth(seed=1)
    torch.testing.assert_close(
        scale_invariant_depth_error(2.0 * pred, gt, mask),
        scale_invariant_depth_error(pred, 0.5 * gt, mask),
    )


def test_side_known_value_and_mask():
    gt = _depth(1, 4)
    a = 0.1
    sign = torch.tensor([1.0, -1.0]).repeat(8).reshape(1, 4, 4).double()
    pred = gt * torch.exp(a * sign)  # log difference +-a, mean 0
    mask = torch.ones(1, 4, 4)
    assert scale_invariant_depth_error(pred, gt, mask).item() == pytest.approx(a)
    # Pixels outside the mask do not count, whatever their value.
    pred_bad = pred.clone()
    pred_bad[:, 0] = 50.0
    mask[:, 0] = 0
    assert scale_invariant_depth_error(pred_bad, gt, mask).item() == pytest.approx(a)


def test_side_agrees_with_numpy():
    gt, pred = _depth(3, 6, 0), _depth(3, 6, 1)
    mask = (torch.rand(3, 6, 6, generator=torch.Generator().manual_seed(2)) > 0.4).double()
    got = scale_invariant_depth_error(pred, gt, mask).numpy()
    for i in range(3):
        m = mask[i].numpy().astype(bool)
        delta = np.log(pred[i].numpy()[m]) - np.log(gt[i].numpy()[m])
        assert got[i] == pytest.approx(np.std(delta), rel=1e-10)


def test_constant_depth_side_is_std_of_log_truth_for_every_constant():
    gt = _depth(2, 8)
    mask = torch.ones_like(gt)
    expected = gt.log().flatten(1).std(dim=1, unbiased=False)
    torch.testing.assert_close(constant_depth_side(gt, mask), expected)
    torch.testing.assert_close(
        scale_invariant_depth_error(torch.full_like(gt, 0.97), gt, mask), expected
    )


def test_normal_angle_deviation_known_angles():
    n = torch.zeros(1, 2, 2, 3)
    n[..., 2] = 1.0
    theta = math.radians(30)
    rotated = torch.zeros(1, 2, 2, 3)
    rotated[..., 0], rotated[..., 2] = math.sin(theta), math.cos(theta)
    mask = torch.ones(1, 2, 2)
    assert normal_angle_deviation(n, n, mask).item() == pytest.approx(0, abs=1e-3)
    assert normal_angle_deviation(rotated, n, mask).item() == pytest.approx(30, rel=1e-5)
    opposite = -n
    mask[0, 0, 0] = 0
    mixed = n.clone()
    mixed[0, 1, 1] = opposite[0, 1, 1]
    assert normal_angle_deviation(mixed, n, mask).item() == pytest.approx(60, rel=1e-5)


def test_erode_mask():
    mask = torch.zeros(1, 6, 6)
    mask[:, 1:5, 1:5] = 1
    expected = torch.zeros(1, 6, 6)
    expected[:, 2:4, 2:4] = 1
    torch.testing.assert_close(erode_mask(mask), expected)
    assert (
        erode_mask(torch.ones(1, 3, 3))[0, 1, 1] == 1
        and erode_mask(torch.ones(1, 3, 3))[0, 0, 0] == 0
    )


def test_shape_mismatch_message():
    with pytest.raises(ValueError, match="shapes differ"):
        scale_invariant_depth_error(torch.ones(1, 4, 4), torch.ones(1, 4, 5), torch.ones(1, 4, 4))


def test_evaluation_masks_scene_and_object():
    far = 1.2
    gt = torch.full((1, 8, 8), 1.05)
    gt[:, :, 7] = far  # last column: no ground-truth surface
    pred = gt.clone()
    pred[:, 0, :] = far  # first row: the prediction covers nothing
    parts = torch.zeros(1, 8, 8, dtype=torch.long)
    parts[:, 2:7, 1:6] = 3  # the object
    masks = evaluation_masks(pred, gt, far, parts)
    scene = torch.zeros(1, 8, 8)
    scene[:, 2:7, 1:6] = 1  # both covered (rows 1-7, cols 0-6), eroded by one pixel
    obj = torch.zeros(1, 8, 8)
    obj[:, 3:6, 2:5] = 1
    torch.testing.assert_close(masks["scene"], scene)
    torch.testing.assert_close(masks["object"], obj)
    assert set(evaluation_masks(pred, gt, far)) == {"scene"}


def test_log_depth_fit_measures_relief_scale_and_shape():
    gt = _depth(batch=3, size=8)
    mask = torch.ones_like(gt)
    mask[2] = 0  # an empty mask gives NaN, not an error
    log_gt = gt.log()
    centre = log_gt.mean(dim=(1, 2), keepdim=True)
    # Twice the relief (in log depth), any global scale: slope 2, correlation 1.
    deeper = (2 * (log_gt - centre) + 0.3).exp()
    corr, slope = log_depth_fit(deeper, gt, mask)
    torch.testing.assert_close(slope[:2], torch.full((2,), 2.0, dtype=torch.float64))
    torch.testing.assert_close(corr[:2], torch.ones(2, dtype=torch.float64))
    assert slope[2].isnan() and corr[2].isnan()
    # Inverted relief: slope -1; a flat prediction: slope 0.
    _, inverted = log_depth_fit((-(log_gt - centre)).exp(), gt, mask)
    torch.testing.assert_close(inverted[:2], torch.full((2,), -1.0, dtype=torch.float64))
    _, flat = log_depth_fit(torch.ones_like(gt), gt, mask)
    torch.testing.assert_close(flat[:2], torch.zeros(2, dtype=torch.float64))
