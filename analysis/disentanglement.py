"""What ``analysis/disentangle.py`` measures on one feature file, as a `DisentanglementMetrics`
record: the correlation between feature groups (`analysis.correlation`), the feature-group x
physical-factor-group matrix (`analysis.factor_groups`) and the factor metrics of the
concatenated groups (`analysis.metrics`: MIG, SAP, DCI, FactorVAE). Definitions:
``analysis/README.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from analysis import metrics as M
from analysis.correlation import HeldOutCCA, group_correlation
from analysis.factor_groups import factor_prediction_matrix
from analysis.feature_files import subsample
from analysis.records import (
    DCIResults,
    DisentanglementMetrics,
    FactorMetrics,
    FactorVAEResults,
    MIGResults,
    SAPResults,
)
from unsup3d.api import FeatureSet, UserError

log = logging.getLogger(__name__)

ALL_METRICS = ("correlation", "groups", "dci", "mig", "sap", "factorvae")
FACTOR_METRICS = ("dci", "mig", "sap", "factorvae")


@dataclass(frozen=True)
class Settings:
    """How ``disentangle.py`` measures (its flags of the same names; their defaults are these)."""

    # random subset of rows used by every metric (0 = all)
    max_samples: int = 10000
    # leading canonical correlations averaged into cca_mean
    cca_components: int = 10
    # histogram bins for MIG codes and continuous factors
    num_bins: int = 20
    # DCI importance: lasso (linear, continuous factors) or gbt (disentanglement_lib: boosted
    # trees on discretised factors)
    dci_model: Literal["lasso", "gbt"] = "lasso"
    # GBT stages for --dci_model gbt
    dci_estimators: int = 100
    # L1 weight for --dci_model lasso
    lasso_alpha: float = 0.01
    # FactorVAE batch with one factor fixed, training votes, evaluation votes
    fvae_batch: int = 64
    fvae_train: int = 5000
    fvae_eval: int = 2500


def parse_metrics(value: str) -> list[str]:
    """``--metrics`` (comma-separated names of `ALL_METRICS`) -> list."""
    names = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in names if m not in ALL_METRICS]
    if unknown or not names:
        raise UserError(
            f"--metrics: unknown {unknown or names}; choose from {','.join(ALL_METRICS)}"
        )
    return names


def parse_prefixes(items: Sequence[str]) -> dict[str, str]:
    """``--factor_prefix PREFIX=GROUP`` values -> {prefix: group}."""
    out = {}
    for item in items:
        prefix, sep, group = item.partition("=")
        if not sep or not prefix or not group:
            raise UserError(f"--factor_prefix {item!r}: expected PREFIX=GROUP, e.g. light_=light")
        out[prefix] = group
    return out


def disentanglement(
    fs: FeatureSet,
    groups: list[str],
    chosen: Sequence[str],
    settings: Settings,
    *,
    seed: int,
    prefixes: dict[str, str],
    source: str,
) -> DisentanglementMetrics:
    """The chosen measures (`ALL_METRICS`) on a random subset of ``settings.max_samples`` rows.

    Factor metrics and the group matrix need ``factors`` and ``factor_names`` in the file; they
    are skipped (logged) without them. ``seed`` is the ``random_state`` of every sampled step;
    ``prefixes`` map factor names to physical groups (`analysis.factor_groups`); ``source``
    names the file in messages.
    """
    feats, factors, idx = subsample(fs, groups, settings.max_samples, seed)
    log.info("%s: %d samples (%d used), groups %s", source, len(fs), len(idx), groups)
    out = DisentanglementMetrics(groups=groups, num_samples=int(len(idx)))
    if "correlation" in chosen:
        if len(groups) < 2:
            raise UserError(
                "--groups: correlation needs at least two groups; pass e.g. --groups all"
            )
        out.correlation = group_correlation(
            feats, random_state=seed, cca=HeldOutCCA(components=settings.cca_components)
        ).record()
    factor_chosen = [m for m in chosen if m in FACTOR_METRICS]
    if factors is None or not fs.factor_names:
        if factor_chosen or "groups" in chosen:
            log.info("no factors/factor_names in %s: factor metrics skipped", source)
        return out
    if "groups" in chosen:
        out.factor_prediction = factor_prediction_matrix(
            feats, factors, fs.factor_names, random_state=seed, prefixes=prefixes
        ).record()
    if factor_chosen:
        codes = np.concatenate([feats[g] for g in groups], axis=1)
        out.factor_metrics = factor_metrics(
            codes, factors, list(fs.factor_names), factor_chosen, settings, seed, source
        )
    return out


def factor_metrics(
    codes: np.ndarray,
    factors: np.ndarray,
    names: list[str],
    chosen: Sequence[str],
    settings: Settings,
    seed: int,
    source: str,
) -> FactorMetrics:
    """The chosen factor metrics (`FACTOR_METRICS`) of codes (N, D) against factors (N, K).

    Constant factors and dead code units are dropped (logged). Continuous factors (more than
    ``num_bins`` values) are discretised for GBT-DCI, MIG, SAP and FactorVAE; SAP uses its
    continuous form when any factor is continuous.

    Raises:
        UserError: fewer than 2 non-constant factors or code units (``source`` names the file).
    """
    varying = [k for k in range(factors.shape[1]) if np.ptp(factors[:, k]) > 0]
    if len(varying) < factors.shape[1]:
        log.info(
            "dropping constant factors: %s",
            [names[k] for k in range(len(names)) if k not in varying],
        )
    factors, names = factors[:, varying], [names[k] for k in varying]
    if factors.shape[1] < 2:
        raise UserError(f"{source}: fewer than 2 non-constant factors; factor metrics need >= 2")
    s = settings
    labels = M.discretize_factors(factors, s.num_bins)
    continuous = [
        names[k] for k in range(factors.shape[1]) if len(np.unique(factors[:, k])) > s.num_bins
    ]
    live = np.flatnonzero(codes.std(axis=0) > 0)
    out = FactorMetrics(names, continuous, int(codes.shape[1]), int(len(live)))
    codes = codes[:, live]  # dead units carry no information and break nothing but time
    if codes.shape[1] < 2:
        raise UserError(f"{source}: fewer than 2 non-constant feature dimensions")
    t = time.perf_counter()

    def done(message: str) -> None:
        nonlocal t
        log.info("%s (%.1f s)", message, time.perf_counter() - t)
        t = time.perf_counter()

    if "mig" in chosen:
        r = M.mig(codes, labels, num_bins=s.num_bins)
        out.mig = MIGResults(r.mig, dict(zip(names, r.per_factor.tolist(), strict=True)))
        done(f"MIG {r.mig:.4f}")
    if "sap" in chosen:
        if continuous:
            r = M.sap(codes, factors, continuous_factors=True)
        else:
            r = M.sap(codes, labels, continuous_factors=False, random_state=seed)
        out.sap = SAPResults(r.sap, bool(continuous))
        done(f"SAP {r.sap:.4f}")
    if "dci" in chosen:
        if s.dci_model == "gbt":
            r = M.dci(
                codes, labels, random_state=seed, importance="gbt", n_estimators=s.dci_estimators
            )
        else:
            r = M.dci(
                codes, factors, random_state=seed, importance="lasso", lasso_alpha=s.lasso_alpha
            )
        out.dci = DCIResults(
            s.dci_model,
            r.disentanglement,
            r.completeness,
            r.informativeness_train,
            r.informativeness_test,
        )
        done(f"DCI ({s.dci_model}) D={r.disentanglement:.4f} C={r.completeness:.4f}")
    if "factorvae" in chosen:
        r = M.factor_vae_score_from_arrays(
            codes,
            labels,
            random_state=seed,
            batch_size=s.fvae_batch,
            num_train=s.fvae_train,
            num_eval=s.fvae_eval,
        )
        out.factorvae = FactorVAEResults(
            r.eval_accuracy,
            r.train_accuracy,
            r.eval_accuracy_above_chance,
            "arrays (rows sharing the fixed factor's value)",
        )
        done(f"FactorVAE {r.eval_accuracy:.4f}")
    return out
