"""Our metrics against disent 0.8.0's numbers on the same arrays, committed in
reference_values_disent.json by bench/crosscheck_disent.py (disent is not needed here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import sklearn

from analysis.toy_codes import crosscheck_arrays

REF = json.loads((Path(__file__).with_name("reference_values_disent.json")).read_text())
PEER = REF["disent"]
BOUNDS = REF["bounds"]


def _eval(runs: list[dict[str, float]]) -> np.ndarray:
    return np.array([r["eval_accuracy"] for r in runs])


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[2] / "bench" / "crosscheck_disent.py"
    spec = importlib.util.spec_from_file_location("crosscheck_disent", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = REF["config"]
    assert mod.FVAE == cfg["fvae"] and mod.DCI_SEED == cfg["dci_seed"]
    assert mod.SAP_SEED == cfg["sap_seed"] and mod.FVAE_GRID_NOISE == cfg["fvae_grid_noise"]
    assert mod.FVAE_GRID_SEED == cfg["fvae_grid_seed"]
    return mod


@pytest.fixture(scope="module")
def arrays():
    return crosscheck_arrays(0)


@pytest.fixture(scope="module")
def ours(bench, arrays):
    return bench.ours_arrays(arrays)


def test_reference_file_records_versions_and_agreement():
    peer_env = REF["versions"]["peer_env"]
    assert peer_env["disent"] == "0.8.0"
    for key in ("numpy", "scipy", "scikit_learn", "torch", "python"):
        assert key in peer_env and key in REF["versions"]["our_env"]
    # The peer env imports the project's numpy/scipy/sklearn: same versions on both sides.
    for key in ("numpy", "scipy", "scikit_learn", "python"):
        assert peer_env[key] == REF["versions"]["our_env"][key], key
    d = REF["abs_diff"]
    assert max(d["mig"], d["sap_continuous"], d["sap_discrete"]) <= BOUNDS["sap"]
    assert max(v for k, v in d.items() if k.startswith("dci_")) <= BOUNDS["dci"]
    assert d["factor_vae_eval_mean"] <= BOUNDS["factor_vae_mean"]
    assert "larger sample than population" in PEER["variance_set_above_len_error"]


def test_mig_and_sap_agree_to_1e12(ours):
    assert ours["mig"] == pytest.approx(PEER["mig"], abs=BOUNDS["mig"])
    assert ours["sap_continuous"] == pytest.approx(PEER["sap_continuous"], abs=BOUNDS["sap"])
    assert ours["sap_discrete"] == pytest.approx(PEER["sap_discrete"], abs=BOUNDS["sap"])


def test_dci_agrees_to_1e8_with_matched_gbt_seeding(ours):
    # GBT trees can change between scikit-learn releases; exact agreement is only promised
    # with the version the reference was made with.
    same = sklearn.__version__ == REF["versions"]["peer_env"]["scikit_learn"]
    tol = BOUNDS["dci"] if same else 0.05
    for key in ("disentanglement", "completeness", "informativeness_train", "informativeness_test"):
        assert ours["dci"][key] == pytest.approx(PEER["dci"][key], abs=tol), key


def test_factor_vae_agrees_as_a_distribution(bench, arrays):
    # disent: whole 120-cell grid as variance set (its maximum); ours: default 10,000 i.i.d.
    nve = REF["config"]["fvae_num_variance_estimate"]
    assert nve["disent"] == bench.FVAE_NVE_EQUAL and nve["ours"] == bench.FVAE_NVE_OURS
    mine = _eval(bench.ours_factor_vae(arrays, REF["config"]["seeds"], bench.FVAE_NVE_OURS))
    peer = _eval(PEER["factor_vae"])
    assert len(mine) == len(peer) == REF["config"]["seeds"]
    assert abs(mine.mean() - peer.mean()) <= BOUNDS["factor_vae_mean"]
    # Different RNG streams (see the bench docstring): the seeds are not paired.
    assert not np.array_equal(mine, peer)


def test_factor_vae_equal_count_difference_is_as_recorded(bench, arrays):
    # Same count (120) of variance-set draws: ours i.i.d. with replacement is a noisier estimate
    # than disent's whole grid and scores lower; this documented difference must still hold.
    mine = bench.ours_factor_vae(arrays, REF["config"]["seeds"], bench.FVAE_NVE_EQUAL)
    np.testing.assert_allclose(
        _eval(mine), _eval(REF["ours"]["factor_vae_equal_count"]), atol=1e-12
    )
    effect = REF["definitional_differences"]["factor_vae_variance_set"]["equal_count_effect"]
    assert _eval(PEER["factor_vae"]).mean() - _eval(mine).mean() > BOUNDS["factor_vae_mean"]
    assert effect["ours_eval_mean"] == pytest.approx(_eval(mine).mean(), abs=1e-12)
