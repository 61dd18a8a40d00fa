"""analysis/crosscheck.py and the peer cross-checks (bench/crosscheck_disentanglement_lib.py,
bench/crosscheck_disent.py): our numbers are computed here and compared with the peers' numbers
the benches committed (reference_values*.json), so the peers need not be installed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sklearn

from analysis import crosscheck as C
from analysis.toy_codes import crosscheck_arrays

ROOT = Path(__file__).resolve().parents[2]
# peer -> (bench script, reference file it writes)
PEERS = {
    "disentanglement_lib": ("crosscheck_disentanglement_lib", "reference_values.json"),
    "disent": ("crosscheck_disent", "reference_values_disent.json"),
}


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peer(name: str) -> SimpleNamespace:
    """One peer's bench, its committed reference and our numbers computed now."""
    script, reference = PEERS[name]
    ref = json.loads(Path(__file__).with_name(reference).read_text())
    bench = _bench(script)
    ours = bench.ours(crosscheck_arrays(0), ref["config"]["seeds"])
    return SimpleNamespace(name=name, bench=bench, ref=ref, values=ref[name], ours=ours)


@pytest.fixture(scope="module")
def dlib() -> SimpleNamespace:
    return _peer("disentanglement_lib")


@pytest.fixture(scope="module")
def disent() -> SimpleNamespace:
    return _peer("disent")


@pytest.fixture(params=["dlib", "disent"])
def peer(request) -> SimpleNamespace:
    return request.getfixturevalue(request.param)


def _dci_tolerance(ref) -> float:
    # GBT trees can change between scikit-learn releases; exact agreement is only promised
    # with the version the reference was made with.
    return 1e-8 if sklearn.__version__ == ref["versions"]["peer_env"]["scikit_learn"] else 0.05


def test_bench_runs_with_the_recorded_config(peer):
    assert peer.bench.config(peer.ref["config"]["seeds"]) == peer.ref["config"]
    assert peer.ref["bounds"] == C.CROSSCHECK_BOUNDS
    assert set(C.our_versions(*(["torch"] if peer.name == "disent" else []))) == set(
        peer.ref["versions"]["our_env"]
    )


def test_our_numbers_are_the_recorded_ones(peer):
    recorded = peer.ref["ours"]
    for key in ("mig", "sap_continuous", "sap_discrete"):
        assert peer.ours[key] == pytest.approx(recorded[key], abs=1e-12), key
    for key in C.DCI_KEYS:
        assert peer.ours["dci"][key] == pytest.approx(
            recorded["dci"][key], abs=_dci_tolerance(peer.ref)
        )
    for key in ("factor_vae", "factor_vae_equal_count"):
        if key in recorded:
            mine, then = C.eval_accuracies(peer.ours[key]), C.eval_accuracies(recorded[key])
            np.testing.assert_allclose(mine, then, atol=1e-12, err_msg=key)


def test_mig_and_sap_agree_to_1e12(peer):
    for key, bound in (("mig", "mig"), ("sap_continuous", "sap"), ("sap_discrete", "sap")):
        assert peer.ours[key] == pytest.approx(peer.values[key], abs=C.CROSSCHECK_BOUNDS[bound])


def test_dci_agrees_to_1e8_with_matched_gbt_seeding(peer):
    for key in C.DCI_KEYS:
        assert peer.ours["dci"][key] == pytest.approx(
            peer.values["dci"][key], abs=_dci_tolerance(peer.ref)
        ), key


def test_recomputed_differences_are_the_recorded_ones_and_within_bounds(peer):
    diff = peer.bench.compare(peer.values, peer.ours)
    assert set(diff) == set(peer.ref["abs_diff"])
    for key, value in diff.items():
        tol = _dci_tolerance(peer.ref) if key.startswith("dci_") else 1e-12
        assert value == pytest.approx(peer.ref["abs_diff"][key], abs=tol), key
    assert C.crosscheck_within_bounds(diff)


def test_factor_vae_agrees_with_disentanglement_lib_per_seed(dlib):
    mine = C.eval_accuracies(dlib.ours["factor_vae"])
    peer = C.eval_accuracies(dlib.values["factor_vae"])
    assert len(mine) == len(peer) == dlib.ref["config"]["seeds"]
    assert abs(mine.mean() - peer.mean()) <= C.CROSSCHECK_BOUNDS["factor_vae_mean"]
    # Same RandomState stream consumed in the same order: identical per seed as well.
    np.testing.assert_allclose(mine, peer, atol=1e-12)


def test_factor_vae_agrees_with_disent_as_a_distribution(disent):
    # disent: whole 120-cell grid as variance set (its maximum); ours: default 10,000 i.i.d.
    mine = C.eval_accuracies(disent.ours["factor_vae"])
    peer = C.eval_accuracies(disent.values["factor_vae"])
    assert len(mine) == len(peer) == disent.ref["config"]["seeds"]
    assert abs(mine.mean() - peer.mean()) <= C.CROSSCHECK_BOUNDS["factor_vae_mean"]
    # Different RNG streams (see the bench docstring): the seeds are not paired.
    assert not np.array_equal(mine, peer)
    assert "larger sample than population" in disent.values["variance_set_above_len_error"]


def test_factor_vae_equal_count_difference_from_disent_persists(disent):
    # Same count (120) of variance-set draws: ours i.i.d. with replacement is a noisier estimate
    # than disent's whole grid and scores lower; this documented difference must still hold.
    mine = C.eval_accuracies(disent.ours["factor_vae_equal_count"])
    peer = C.eval_accuracies(disent.values["factor_vae"])
    assert peer.mean() - mine.mean() > C.CROSSCHECK_BOUNDS["factor_vae_mean"]
    effect = disent.ref["definitional_differences"]["factor_vae_variance_set"]
    assert effect["equal_count_effect"]["ours_eval_mean"] == pytest.approx(mine.mean(), abs=1e-12)
