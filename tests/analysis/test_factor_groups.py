"""Feature group x physical factor group prediction matrix."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from analysis.factor_groups import (
    assign_factor_groups,
    factor_prediction_matrix,
    physical_group_of,
    ridge_r2,
)
from analysis.toy_codes import toy_physical_features


def test_prefix_mapping_defaults_overrides_and_other():
    assert physical_group_of("light_yaw") == "light"
    assert physical_group_of("View_pitch") == "view"
    assert physical_group_of("shape_nose") == "depth"
    assert physical_group_of("albedo_skin") == "albedo"
    assert physical_group_of("identity") == "other"
    assert physical_group_of("floor_hue", {"floor_": "albedo"}) == "albedo"
    assert physical_group_of("light_yaw", {"light_y": "view"}) == "view"  # custom rules first
    groups = assign_factor_groups(["view_yaw", "noise", "light_a", "shape_w", "light_b"])
    assert list(groups) == ["depth", "light", "view", "other"]
    assert groups["light"] == [2, 4]


def test_ridge_r2_matches_sklearn_on_standardised_data():
    rs = np.random.RandomState(0)
    x = rs.standard_normal((300, 5)) * [1, 2, 3, 4, 5] + 1
    y = x @ rs.standard_normal((5, 2)) + rs.standard_normal((300, 2))
    got = ridge_r2(x[:200], y[:200], x[200:], y[200:], alpha=3.0)
    mx, sx = x[:200].mean(0), x[:200].std(0)
    my, sy = y[:200].mean(0), y[:200].std(0)
    m = Ridge(alpha=3.0, fit_intercept=False).fit((x[:200] - mx) / sx, (y[:200] - my) / sy)
    pred = m.predict((x[200:] - mx) / sx) * sy + my
    from sklearn.metrics import r2_score

    want = r2_score(y[200:], pred, multioutput="raw_values")
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_ideal_features_give_a_diagonal_matrix():
    feats, factors, names = toy_physical_features(1500, 0, dim=32, leakage=0.0)
    r = factor_prediction_matrix(feats, factors, names, random_state=0)
    assert list(r.factor_groups) == ["depth", "albedo", "light", "view"]
    diag = np.diag(r.matrix)
    off = r.matrix[~np.eye(4, dtype=bool)]
    assert diag.min() > 0.9 and off.max() < 0.05
    assert r.diagonal_gap > 0.85


def test_leaky_features_have_a_smaller_gap_and_independent_ones_score_zero():
    feats, factors, names = toy_physical_features(1500, 1, dim=32, leakage=0.4, noise=1.0)
    leaky = factor_prediction_matrix(feats, factors, names, random_state=0)
    clean = factor_prediction_matrix(
        *toy_physical_features(1500, 1, dim=32, noise=1.0), random_state=0
    )
    assert leaky.diagonal_gap < clean.diagonal_gap - 0.2
    rs = np.random.RandomState(2)
    noise = {g: rs.standard_normal((5000, 8)) for g in ("depth", "light")}
    r = factor_prediction_matrix(
        noise, rs.uniform(size=(5000, 2)), ["shape_a", "light_b"], random_state=0
    )
    assert r.matrix.max() <= 0.05


def test_factor_name_count_must_match():
    with pytest.raises(ValueError, match="factor names"):
        factor_prediction_matrix({"a": np.zeros((10, 2))}, np.zeros((10, 3)), ["x"], random_state=0)
