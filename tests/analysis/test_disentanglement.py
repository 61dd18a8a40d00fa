"""analysis/disentanglement.py: what disentangle.py measures on one feature file."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import disentanglement as D
from analysis.disentangle import build_parser
from analysis.toy_codes import copy_codes, sample_grid_factors, toy_physical_features
from unsup3d.api import FeatureSet, UserError

FAST = D.Settings(max_samples=200, cca_components=3, fvae_train=200, fvae_eval=200)


def test_parsers_and_their_errors():
    assert D.parse_metrics("mig, dci") == ["mig", "dci"]
    with pytest.raises(UserError, match=r"--metrics: unknown \['bogus'\]"):
        D.parse_metrics("mig,bogus")
    assert D.parse_prefixes(["floor_hue=albedo", "shape=depth"]) == {
        "floor_hue": "albedo",
        "shape": "depth",
    }
    with pytest.raises(UserError, match="expected PREFIX=GROUP"):
        D.parse_prefixes(["=albedo"])


def test_the_cli_defaults_are_the_settings_defaults():
    args = build_parser().parse_args(["f.npz"])
    assert D.Settings(**{k: getattr(args, k) for k in vars(FAST)}) == D.Settings()
    args = build_parser().parse_args(["f.npz", "--max-samples", "7", "--dci_model", "gbt"])
    assert (args.max_samples, args.dci_model) == (7, "gbt")


def test_factor_metrics_drop_constant_factors_and_dead_units():
    factors = sample_grid_factors(400, (4, 5, 3), 0).astype(np.float64)
    codes = copy_codes(factors, 0.05, 1)
    codes = np.concatenate([codes, np.zeros((400, 1))], axis=1)  # a dead unit
    factors = np.concatenate([factors, np.ones((400, 1))], axis=1)  # a constant factor
    names = ["a", "b", "c", "const"]
    r = D.factor_metrics(codes, factors, names, D.FACTOR_METRICS, FAST, 0, "x.npz")
    assert r.factor_names == ["a", "b", "c"] and r.continuous_factors == []
    assert (r.num_code_dims, r.num_live_code_dims) == (4, 3)
    assert r.mig.mig > 0.9 and r.sap.sap > 0.3 and not r.sap.continuous_factors
    assert r.dci.model == "lasso" and r.dci.disentanglement > 0.9
    assert r.factorvae.eval_accuracy == 1.0
    assert list(r.mig.per_factor) == ["a", "b", "c"]
    with pytest.raises(UserError, match="x.npz: fewer than 2 non-constant factors"):
        D.factor_metrics(codes, factors[:, 2:], ["c", "const"], ["mig"], FAST, 0, "x.npz")


def test_disentanglement_skips_factor_metrics_without_factors():
    feats, factors, names = toy_physical_features(300, 0, dim=8)
    kwargs = dict(seed=0, prefixes={}, source="f.npz")
    plain = D.disentanglement(
        FeatureSet(features=feats), list(feats), D.ALL_METRICS, FAST, **kwargs
    )
    assert plain.num_samples == 200 and plain.correlation is not None
    assert plain.factor_prediction is None and plain.factor_metrics is None
    fs = FeatureSet(features=feats, factors=factors, factor_names=names)
    full = D.disentanglement(fs, ["depth", "light"], ["groups", "mig"], FAST, **kwargs)
    assert full.correlation is None and full.factor_metrics.sap is None
    assert full.factor_prediction.feature_groups == ["depth", "light"]
    assert full.factor_metrics.continuous_factors == names  # uniform factors: > 20 values
    with pytest.raises(UserError, match="correlation needs at least two groups"):
        D.disentanglement(fs, ["depth"], ["correlation"], FAST, **kwargs)
