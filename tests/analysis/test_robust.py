"""Robustness: probe/cluster shift, group ablation, feature invariance (the probe, ward HAC and
the partition scores themselves are the evaluation kit's, tested in tests/evalkit)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.robust import cluster_shift, feature_invariance, group_ablation, probe_shift


def _split(rs, n, light_shift):
    """Labels live in 'depth'; 'light' features carry a spurious label cue in distribution
    that flips sign out of distribution (novel lighting)."""
    y = rs.randint(0, 2, n)
    depth = rs.standard_normal((n, 6)) + 1.5 * y[:, None]
    cue = (2 * y - 1) * (1.0 if light_shift == 0 else -1.0)
    light = rs.standard_normal((n, 6)) + 2.0 * cue[:, None]
    return {"depth": depth, "light": light}, y


def test_group_ablation_depth_only_is_robust_all_groups_are_not():
    rs = np.random.RandomState(0)
    train, ytr = _split(rs, 600, 0)
    test, yte = _split(rs, 400, 0)
    ood, yood = _split(rs, 400, 1)
    r = group_ablation(
        train,
        ytr,
        test,
        yte,
        ood,
        yood,
        {"depth": ["depth"], "all": ["depth", "light"]},
        random_state=0,
    )
    assert r["depth"].drop == pytest.approx(0.0, abs=0.06)
    assert r["all"].in_distribution > 0.9
    assert r["all"].drop > 0.3
    assert r["depth"].ood > r["all"].ood


def test_probe_shift_no_shift_no_drop_and_chance():
    rs = np.random.RandomState(1)
    a, ya = _split(rs, 500, 0)
    b, yb = _split(rs, 500, 0)
    c, yc = _split(rs, 500, 0)
    r = probe_shift(a["depth"], ya, b["depth"], yb, c["depth"], yc, random_state=0)
    assert abs(r.drop) < 0.06 and 0.3 < r.chance < 0.7


def test_cluster_shift_separated_vs_blurred_clusters():
    # (Hungarian accuracy, NMI and ward HAC themselves: tests/evalkit.)
    rs = np.random.RandomState(2)
    y = np.repeat([0, 1, 2], 50)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    clean = centres[y] + rs.standard_normal((150, 2))
    blurred = centres[y] * 0.1 + rs.standard_normal((150, 2))
    r = cluster_shift(clean, y, blurred, y)
    assert r.in_distribution.hungarian_accuracy == 1.0
    assert r.drop.nmi > 0.5


def test_feature_invariance_known_answers():
    rs = np.random.RandomState(3)
    before = {g: np.abs(rs.standard_normal((100, 8))) + 1 for g in ("depth", "light")}
    after = {"depth": before["depth"].copy(), "light": before["light"] * 1.5}
    r = feature_invariance(before, after)
    assert r["depth"].relative_change == 0.0 and r["depth"].change_vs_spread == 0.0
    assert r["light"].relative_change == pytest.approx(0.5)
    # an unrelated re-draw moves about as far as two random samples are apart
    other = {"light": np.abs(rs.standard_normal((100, 8))) + 1}
    assert feature_invariance({"light": before["light"]}, other)[
        "light"
    ].change_vs_spread == pytest.approx(1.0, abs=0.2)
    with pytest.raises(ValueError, match="differ"):
        feature_invariance(before, {"depth": before["depth"][:5]})


def test_probe_shift_reports_each_splits_own_chance():
    # Balanced training labels; the test split is 70 % class 0, the ood split 60 % class 1.
    rs = np.random.RandomState(4)

    def split(n0, n1):
        y = np.repeat([0, 1], [n0, n1])
        return rs.standard_normal((len(y), 3)) + y[:, None], y

    (xa, ya), (xb, yb), (xc, yc) = split(100, 100), split(70, 30), split(40, 60)
    r = probe_shift(xa, ya, xb, yb, xc, yc, random_state=0)
    assert r.chance_in_distribution == pytest.approx(0.7) and r.majority_in_distribution == 0
    assert r.chance_ood == pytest.approx(0.6) and r.majority_ood == 1
    # the old field: the training majority (class 0 on the tie) scored on the test split
    assert r.chance == pytest.approx(0.7)
