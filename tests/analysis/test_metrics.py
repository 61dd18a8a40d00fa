"""Known-answer tests for analysis.metrics (DCI, MIG, SAP, FactorVAE)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from analysis import metrics as M
from analysis.toy_codes import (
    copy_codes,
    independent_codes,
    noisy_grid_represent,
    rotate_codes,
    sample_grid_factors,
)

N_BIG = 5000  # the acceptance's N for "factor-independent codes score <= 0.05"
TOL_INDEPENDENT = 0.05


def rot45(codes: np.ndarray) -> np.ndarray:
    """Standardise two code columns and rotate them by 45 degrees: the most mixed 2-D code
    (a random 2-D rotation may land near a permutation, which is still axis-aligned)."""
    z = (codes - codes.mean(axis=0)) / codes.std(axis=0)
    c = np.sqrt(0.5)
    return z @ np.array([[c, -c], [c, c]])


@pytest.fixture(scope="module")
def grid_factors():
    return sample_grid_factors(N_BIG, (3, 4), 0)  # (5000, 2)


# ---- discretisation and mutual information ----------------------------------------------------


def test_histogram_discretize_matches_numpy_digitize_formula():
    x = np.random.RandomState(0).standard_normal((300, 3))
    got = M.histogram_discretize(x, 7)
    for j in range(3):
        want = np.digitize(x[:, j], np.histogram(x[:, j], 7)[1][:-1])
        np.testing.assert_array_equal(got[:, j], want)
    assert got.min() == 1 and got.max() == 7


def test_discrete_mutual_info_and_entropy_match_sklearn():
    rs = np.random.RandomState(1)
    codes = rs.randint(0, 6, size=(400, 3))
    factors = np.stack([codes[:, 0] // 2, rs.randint(0, 4, 400)], axis=1)
    mi = M.discrete_mutual_info(codes, factors)
    for i in range(3):
        for j in range(2):
            assert mi[i, j] == pytest.approx(
                mutual_info_score(factors[:, j], codes[:, i]), abs=1e-12
            )
    h = M.discrete_entropy(factors)
    assert h[0] == pytest.approx(mutual_info_score(factors[:, 0], factors[:, 0]), abs=1e-12)


def test_discretize_factors_keeps_discrete_and_bins_continuous():
    rs = np.random.RandomState(2)
    f = np.stack([rs.choice([-1.5, 0.25, 3.0], 500), rs.uniform(size=500)], axis=1)
    lab = M.discretize_factors(f, num_bins=10)
    assert set(np.unique(lab[:, 0])) == {0, 1, 2}
    assert np.array_equal(lab[f[:, 0] == 3.0, 0], np.full((f[:, 0] == 3.0).sum(), 2))
    assert lab[:, 1].min() == 0 and lab[:, 1].max() == 9


# ---- DCI -------------------------------------------------------------------------------------


def test_dci_scores_diagonal_and_uniform_importance():
    assert M.dci_scores(np.eye(4)) == pytest.approx((1.0, 1.0), abs=1e-8)
    assert M.dci_scores(np.ones((4, 4))) == pytest.approx((0.0, 0.0), abs=1e-8)
    # one code explains every factor: completeness 1 for each factor? no - every factor relies on
    # code 0 only (complete), but code 0 serves all factors (not disentangled).
    r = np.zeros((3, 3))
    r[0] = 1.0
    d, c = M.dci_scores(r)
    assert d == pytest.approx(0.0, abs=1e-8) and c == pytest.approx(1.0, abs=1e-8)


def test_dci_copy_codes_score_one(grid_factors):
    f = grid_factors[:1500]
    r = M.dci(copy_codes(f, 0.0, 1), f, random_state=0, n_estimators=10)
    assert r.disentanglement == pytest.approx(1.0, abs=1e-6)
    assert r.completeness == pytest.approx(1.0, abs=1e-6)
    assert r.informativeness_test == pytest.approx(1.0)


def test_dci_independent_codes_score_near_zero(grid_factors):
    r = M.dci(independent_codes(N_BIG, 2, 3), grid_factors, random_state=0, n_estimators=10)
    assert r.disentanglement <= TOL_INDEPENDENT
    assert r.completeness <= TOL_INDEPENDENT


def test_dci_rotated_codes_score_lower_than_axis_aligned(grid_factors):
    f = grid_factors[:1500]
    aligned = copy_codes(f, 0.05, 4)
    aligned_r = M.dci(aligned, f, random_state=0, n_estimators=10)
    rotated_r = M.dci(rot45(aligned), f, random_state=0, n_estimators=10)
    assert rotated_r.disentanglement < aligned_r.disentanglement - 0.2
    assert rotated_r.completeness < aligned_r.completeness - 0.2


def test_dci_lasso_variant_on_continuous_factors():
    rs = np.random.RandomState(6)
    f = rs.uniform(-1, 1, size=(800, 3))
    z = np.concatenate([f + 0.05 * rs.standard_normal(f.shape), rs.standard_normal((800, 1))], 1)
    r = M.dci(z, f, random_state=0, importance="lasso")
    assert r.disentanglement > 0.95 and r.completeness > 0.95 and r.informativeness_test > 0.95
    rot = M.dci(rotate_codes(z, 7), f, random_state=0, importance="lasso")
    assert rot.disentanglement < r.disentanglement - 0.3


def test_dci_is_reproducible_and_split_consumes_random_state(grid_factors):
    f = grid_factors[:600]
    z = copy_codes(f, 0.5, 8)
    a = M.dci(z, f, random_state=11, n_estimators=5)
    b = M.dci(z, f, random_state=11, n_estimators=5)
    c = M.dci(z, f, random_state=12, n_estimators=5)
    np.testing.assert_array_equal(a.importance, b.importance)
    assert a.informativeness_test != c.informativeness_test or not np.array_equal(
        a.importance, c.importance
    )


def test_dci_rejects_continuous_labels_and_transposed_layout():
    f = np.random.RandomState(0).uniform(size=(50, 2))
    with pytest.raises(ValueError, match="discretize_factors"):
        M.dci(np.zeros((50, 3)) + f[:, :1], f, random_state=0)
    with pytest.raises(ValueError, match="rows"):
        M.dci(np.zeros((3, 50)), np.zeros((50, 2), dtype=int), random_state=0)


# ---- MIG -------------------------------------------------------------------------------------


def test_mig_copy_codes_score_one(grid_factors):
    assert M.mig(copy_codes(grid_factors, 0.0, 0), grid_factors).mig == pytest.approx(1.0, abs=0.01)


def test_mig_independent_codes_score_near_zero(grid_factors):
    assert M.mig(independent_codes(N_BIG, 4, 1), grid_factors).mig <= TOL_INDEPENDENT


def test_mig_rotated_lower_and_permutation_invariant(grid_factors):
    aligned = copy_codes(grid_factors, 0.05, 2)
    r = M.mig(aligned, grid_factors)
    assert M.mig(rot45(aligned), grid_factors).mig < r.mig - 0.2
    perm = np.random.RandomState(4).permutation(N_BIG)
    assert M.mig(aligned[perm], grid_factors[perm]).mig == pytest.approx(r.mig, abs=1e-12)
    # permuting code columns does not change MIG either
    assert M.mig(aligned[:, ::-1], grid_factors).mig == pytest.approx(r.mig, abs=1e-12)


def test_mig_rejects_constant_factor():
    f = np.zeros((100, 2), dtype=int)
    f[:, 0] = np.arange(100) % 3
    with pytest.raises(ValueError, match="constant"):
        M.mig(np.random.RandomState(0).standard_normal((100, 3)), f)


# ---- SAP -------------------------------------------------------------------------------------


def test_sap_continuous_known_answers(grid_factors):
    f = grid_factors.astype(float)
    # 1 minus the second code's squared sample correlation with the factor (~1/N)
    assert M.sap(copy_codes(f, 0.0, 0), f, continuous_factors=True).sap == pytest.approx(
        1.0, abs=0.01
    )
    ind = independent_codes(N_BIG, 3, 1)
    assert M.sap(ind, f, continuous_factors=True).sap <= TOL_INDEPENDENT
    aligned = copy_codes(f, 0.05, 2)
    assert (
        M.sap(rot45(aligned), f, continuous_factors=True).sap
        < M.sap(aligned, f, continuous_factors=True).sap - 0.2
    )


def test_sap_continuous_score_matrix_is_squared_correlation():
    rs = np.random.RandomState(3)
    z, f = rs.standard_normal((200, 3)), rs.standard_normal((200, 2))
    s = M.sap(z, f, continuous_factors=True).score_matrix
    for i in range(3):
        for j in range(2):
            assert s[i, j] == pytest.approx(np.corrcoef(z[:, i], f[:, j])[0, 1] ** 2, abs=1e-12)


def test_sap_discrete_independent_near_zero_and_needs_random_state(grid_factors):
    ind = independent_codes(N_BIG, 2, 5)
    assert M.sap(ind, grid_factors, continuous_factors=False, random_state=0).sap <= TOL_INDEPENDENT
    with pytest.raises(ValueError, match="random_state"):
        M.sap(ind, grid_factors, continuous_factors=False)


# ---- FactorVAE -------------------------------------------------------------------------------

SIZES = (3, 4, 5)


def _score_on_grid(represent, seed: int, num_train: int, num_eval: int, num_variance: int):
    """The generator FactorVAE score of ``represent`` on the SIZES grid."""
    grid = M.DiscreteGrid(SIZES)
    return M.factor_vae_score(
        represent,
        grid.sample_factors,
        grid.num_factors,
        random_state=seed,
        num_train=num_train,
        num_eval=num_eval,
        num_variance_estimate=num_variance,
    )


def test_factor_vae_generator_copy_codes_score_one():
    all_f = np.stack(np.unravel_index(np.arange(60), SIZES), axis=1)
    represent = noisy_grid_represent(all_f.astype(float), SIZES, 0.01)
    r = _score_on_grid(represent, 0, num_train=200, num_eval=200, num_variance=500)
    assert r.eval_accuracy == 1.0 and r.train_accuracy == 1.0
    assert r.num_active_dims == 3


def test_factor_vae_generator_independent_codes_at_chance():
    def represent(factors, random_state):
        return random_state.standard_normal((factors.shape[0], 4))

    r = _score_on_grid(represent, 1, num_train=2000, num_eval=3000, num_variance=1000)
    assert abs(r.eval_accuracy_above_chance) <= TOL_INDEPENDENT
    assert r.eval_accuracy == pytest.approx(1 / 3, abs=TOL_INDEPENDENT)


def test_factor_vae_from_arrays_known_answers(grid_factors):
    copy = M.factor_vae_score_from_arrays(
        copy_codes(grid_factors, 0.0, 0), grid_factors, random_state=0, num_train=500, num_eval=500
    )
    assert copy.eval_accuracy == 1.0
    ind = M.factor_vae_score_from_arrays(
        independent_codes(N_BIG, 4, 1), grid_factors, random_state=0, num_train=2500, num_eval=5000
    )
    assert abs(ind.eval_accuracy_above_chance) <= TOL_INDEPENDENT
    aligned = copy_codes(grid_factors, 0.3, 2)
    a = M.factor_vae_score_from_arrays(
        aligned, grid_factors, random_state=0, num_train=500, num_eval=500
    )
    rot = M.factor_vae_score_from_arrays(
        rot45(aligned), grid_factors, random_state=0, num_train=500, num_eval=500
    )
    assert rot.eval_accuracy < a.eval_accuracy - 0.1


def test_factor_vae_from_arrays_matches_generator_on_a_full_grid():
    # On rows that tile the factor grid, conditioning on rows sharing a value is the generator's
    # distribution: the two estimators agree in mean over seeds.
    rs = np.random.RandomState(0)
    all_f = np.stack(np.unravel_index(np.arange(60), SIZES), axis=1)
    grid_codes = all_f / (np.asarray(SIZES) - 1.0) @ (np.eye(3) + 0.6 * rs.standard_normal((3, 3)))
    tiled_f = np.tile(all_f, (40, 1))  # (2400, 3): each grid point 40 times
    noise = 0.6
    tiled_codes = np.tile(grid_codes, (40, 1)) + noise * rs.standard_normal((2400, 3))
    represent = noisy_grid_represent(grid_codes, SIZES, noise)
    grid = M.DiscreteGrid(SIZES)
    gen = [
        M.factor_vae_score(
            represent,
            grid.sample_factors,
            3,
            random_state=s,
            num_train=300,
            num_eval=300,
            num_variance_estimate=2400,
        ).eval_accuracy
        for s in range(6)
    ]
    arr = [
        M.factor_vae_score_from_arrays(
            tiled_codes, tiled_f, random_state=s, num_train=300, num_eval=300
        ).eval_accuracy
        for s in range(6)
    ]
    assert 0.3 < np.mean(gen) < 0.95  # a mid-range case, not trivially 1
    assert np.mean(arr) == pytest.approx(np.mean(gen), abs=0.05)


def test_factor_vae_prunes_dead_dimensions_and_rejects_all_dead(grid_factors):
    z = np.concatenate([np.zeros((N_BIG, 1)), copy_codes(grid_factors, 0.0, 0)], axis=1)
    r = M.factor_vae_score_from_arrays(z, grid_factors, random_state=0, num_train=200, num_eval=200)
    assert r.num_active_dims == 2 and r.eval_accuracy == 1.0
    assert r.train_votes[:, 0].sum() == 0  # the dead unit never receives a vote
    with pytest.raises(ValueError, match="zero variance"):
        M.factor_vae_score_from_arrays(np.zeros((N_BIG, 2)), grid_factors, random_state=0)


def test_discrete_grid_lookup_and_shape_check():
    grid = M.DiscreteGrid((2, 3))
    codes = np.arange(6, dtype=float)[:, None] * np.ones((1, 2))
    rep = grid.lookup(codes)
    f = np.array([[0, 0], [1, 2], [0, 1]])
    np.testing.assert_array_equal(rep(f, np.random.RandomState(0))[:, 0], [0, 5, 1])
    with pytest.raises(ValueError, match=r"\(6, D\)"):
        grid.lookup(np.zeros((5, 2)))


def test_random_state_must_be_explicit_type():
    with pytest.raises(TypeError, match="random_state"):
        M.as_random_state(None)  # type: ignore[arg-type]
    rs = np.random.RandomState(0)
    assert M.as_random_state(rs) is rs
