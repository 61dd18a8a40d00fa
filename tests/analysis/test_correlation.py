"""Group correlation: Pearson variants against NumPy, CCA against scikit-learn, known answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cross_decomposition import CCA

from analysis.correlation import (
    HeldOutCCA,
    cross_pearson,
    fit_cca,
    group_correlation,
    heldout_canonical_correlations,
    matched_pearson,
    pair_correlation,
)
from analysis.toy_codes import random_rotation


def test_matched_and_cross_pearson_match_numpy_corrcoef():
    rs = np.random.RandomState(0)
    a = rs.standard_normal((300, 4))
    b = 0.5 * a + rs.standard_normal((300, 4))
    full = np.corrcoef(a.T, b.T)  # (8, 8)
    np.testing.assert_allclose(matched_pearson(a, b), np.diag(full[:4, 4:]), atol=1e-12)
    np.testing.assert_allclose(cross_pearson(a, b), full[:4, 4:], atol=1e-12)


def test_constant_units_are_excluded_not_nan_poisoned():
    rs = np.random.RandomState(1)
    a = np.maximum(rs.standard_normal((200, 6)), 0.0)
    b = a.copy()
    a[:, 0] = 0.0  # a dead ReLU unit
    r = matched_pearson(a, b)
    assert np.isnan(r[0]) and np.allclose(r[1:], 1.0)
    pc = pair_correlation(a, b, random_state=0)
    assert pc.matched_dims_used == 5 and pc.matched_abs_r == pytest.approx(1.0)


def test_fit_cca_first_correlation_matches_sklearn():
    rs = np.random.RandomState(2)
    latent = rs.standard_normal((500, 1))
    a = np.concatenate([latent, rs.standard_normal((500, 2))], 1) @ rs.standard_normal((3, 3))
    b = np.concatenate(
        [latent + 0.5 * rs.standard_normal((500, 1)), rs.standard_normal((500, 2))], 1
    )
    ours = fit_cca(a, b, reg=0.0).correlations[0]
    xs, ys = CCA(n_components=1, scale=False, max_iter=2000, tol=1e-10).fit(a, b).transform(a, b)
    theirs = np.corrcoef(xs[:, 0], ys[:, 0])[0, 1]
    assert ours == pytest.approx(abs(theirs), abs=1e-6)
    assert ours == pytest.approx(1 / np.sqrt(1.25), abs=0.05)  # corr(l, l + 0.5 e)


def test_cca_sees_rotated_dependence_that_pcc_misses():
    rs = np.random.RandomState(3)
    a = rs.standard_normal((2000, 8))
    b = a @ random_rotation(8, 4) + 0.05 * rs.standard_normal((2000, 8))  # same information, mixed
    pc = pair_correlation(a, b, random_state=0, cca=HeldOutCCA(components=8, reg=0.0))
    assert pc.cca_mean > 0.99
    assert pc.matched_abs_r < 0.6 and pc.cross_abs_r < 0.5


def test_independent_groups_score_near_zero():
    rs = np.random.RandomState(5)
    feats = {g: rs.standard_normal((5000, 16)) for g in ("depth", "albedo", "light", "view")}
    gc = group_correlation(feats, random_state=0, cca=HeldOutCCA(components=4))
    assert len(gc.pairs) == 6
    for m in ("matched_abs_r", "cross_abs_r", "norm_r"):
        assert gc.mean[m] <= 0.05, m
    assert abs(gc.mean["cca_mean"]) <= 0.05
    assert gc.mean["cca_in_sample"] > gc.mean["cca_mean"]  # in-sample CCA is biased upwards
    assert gc.matrices["matched_abs_r"].shape == (4, 4)
    np.testing.assert_allclose(np.diag(gc.matrices["cca_mean"]), 1.0)


def test_identical_groups_score_one_and_heldout_uses_the_fit():
    rs = np.random.RandomState(6)
    a = rs.standard_normal((400, 5))
    gc = group_correlation({"x": a, "y": a.copy()}, random_state=1)
    p = gc.pairs["x|y"]
    assert p.matched_abs_r == pytest.approx(1.0) and p.norm_r == pytest.approx(1.0)
    assert p.cca_first == pytest.approx(1.0, abs=1e-6)
    fit = fit_cca(a[:300], a[:300])
    assert heldout_canonical_correlations(fit, a[300:], a[300:], 3) == pytest.approx(1.0, abs=1e-6)


def test_group_correlation_needs_two_groups_and_random_state_is_reproducible():
    rs = np.random.RandomState(7)
    feats = {"a": rs.standard_normal((100, 3)), "b": rs.standard_normal((100, 3))}
    with pytest.raises(ValueError, match="two feature groups"):
        group_correlation({"a": feats["a"]}, random_state=0)
    x = group_correlation(feats, random_state=3).mean["cca_mean"]
    assert group_correlation(feats, random_state=3).mean["cca_mean"] == x
