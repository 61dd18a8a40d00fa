"""Physical disentanglement of a feature file: group correlation, factor metrics, group matrix.

    python analysis/disentangle.py features.npz [--groups all] [--output_dir DIR] [--seed 0]

Reads a feature file (``unsup3d.features``). Always: the correlation between every pair of
feature groups (paper §5 PCC, made exact; canonical correlation). With ``factors`` and
``factor_names`` in the file (synthetic data, dSprites, 3DShapes): DCI, MIG, SAP and the
FactorVAE score of the concatenated groups, and the feature-group x physical-factor-group
prediction matrix. Prints a table, writes ``disentanglement.json`` and PNG figures into
``--output_dir``. Definitions: ``analysis/README.md``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis import metrics as M
from analysis.correlation import group_correlation
from analysis.factor_groups import factor_prediction_matrix
from unsup3d.cli import cli_main, setup_logging, write_results
from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, load_features

log = logging.getLogger("analysis.disentangle")

ALL_METRICS = ("correlation", "groups", "dci", "mig", "sap", "factorvae")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Disentanglement of feature groups: correlation, DCI, MIG, SAP, FactorVAE, "
        "and the feature-group x physical-factor-group prediction matrix."
    )
    p.add_argument(
        "features", help="feature file (.npz from `run.py extract`, or the paper's layout)"
    )
    p.add_argument(
        "--groups",
        default="all",
        help="comma-separated feature groups to analyse, or 'all' (default: all, e.g. "
        "depth,albedo,light,view)",
    )
    p.add_argument(
        "--output_dir",
        default=None,
        help="where to write disentanglement.json and the PNGs (default: <features>_disentanglement "
        "next to the file); must be empty unless --overwrite",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="allow writing into a non-empty --output_dir"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random_state of every sampled step (default 0)"
    )
    p.add_argument(
        "--metrics",
        default=",".join(ALL_METRICS),
        help=f"comma-separated subset of {','.join(ALL_METRICS)} (factor metrics are skipped "
        "without factors in the file)",
    )
    p.add_argument(
        "--max_samples",
        type=int,
        default=10000,
        help="random subset of rows used by every metric (default 10000; 0 = all)",
    )
    p.add_argument(
        "--num_bins",
        type=int,
        default=20,
        help="histogram bins for MIG codes and continuous factors (default 20)",
    )
    p.add_argument(
        "--dci_model",
        choices=("lasso", "gbt"),
        default="lasso",
        help="DCI importance: 'lasso' (Eastwood & Williams' linear variant, fast on 1024-d codes, "
        "continuous factors; default) or 'gbt' (disentanglement_lib: gradient-boosted trees on "
        "discretised factors; slow above ~100 code dims)",
    )
    p.add_argument(
        "--dci_estimators",
        type=int,
        default=100,
        help="GBT stages for --dci_model gbt (default 100)",
    )
    p.add_argument(
        "--lasso_alpha",
        type=float,
        default=0.01,
        help="L1 weight for --dci_model lasso (default 0.01)",
    )
    p.add_argument(
        "--fvae_batch",
        type=int,
        default=64,
        help="FactorVAE batch with one factor fixed (default 64)",
    )
    p.add_argument(
        "--fvae_train", type=int, default=5000, help="FactorVAE training votes (default 5000)"
    )
    p.add_argument(
        "--fvae_eval", type=int, default=2500, help="FactorVAE evaluation votes (default 2500)"
    )
    p.add_argument(
        "--cca_components",
        type=int,
        default=10,
        help="leading canonical correlations averaged into cca_mean (default 10)",
    )
    p.add_argument(
        "--factor_prefix",
        action="append",
        default=[],
        metavar="PREFIX=GROUP",
        help="map factor names starting with PREFIX to physical GROUP (depth, albedo, light, view "
        "or any name); repeatable; tried before the defaults (see analysis/README.md)",
    )
    p.add_argument("--no_figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def _parse_prefixes(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        prefix, sep, group = item.partition("=")
        if not sep or not prefix or not group:
            raise UserError(f"--factor_prefix {item!r}: expected PREFIX=GROUP, e.g. light_=light")
        out[prefix] = group
    return out


def _output_dir(args: argparse.Namespace) -> Path:
    out = (
        Path(args.output_dir)
        if args.output_dir
        else Path(args.features).with_name(Path(args.features).stem + "_disentanglement")
    )
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; pass another --output_dir")
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise UserError(f"{out}: folder is not empty; pass --overwrite or another --output_dir")
    return out


def _metric_list(value: str) -> list[str]:
    names = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in names if m not in ALL_METRICS]
    if unknown or not names:
        raise UserError(
            f"--metrics: unknown {unknown or names}; choose from {','.join(ALL_METRICS)}"
        )
    return names


def _subsample(fs: FeatureSet, groups: list[str], max_samples: int, seed: int):
    n = len(fs)
    idx = np.arange(n)
    if max_samples and n > max_samples:
        idx = np.sort(np.random.RandomState(seed).choice(n, max_samples, replace=False))
    feats = {g: fs.features[g][idx].astype(np.float64) for g in groups}
    factors = None if fs.factors is None else fs.factors[idx].astype(np.float64)
    return feats, factors, idx


def _factor_metrics(
    codes: np.ndarray, factors: np.ndarray, names: list[str], chosen: list[str], args, seed: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    varying = [k for k in range(factors.shape[1]) if np.ptp(factors[:, k]) > 0]
    if len(varying) < factors.shape[1]:
        log.info(
            "dropping constant factors: %s",
            [names[k] for k in range(len(names)) if k not in varying],
        )
    factors, names = factors[:, varying], [names[k] for k in varying]
    if factors.shape[1] < 2:
        raise UserError(
            f"{args.features}: fewer than 2 non-constant factors; factor metrics need >= 2"
        )
    labels = M.discretize_factors(factors, args.num_bins)
    continuous = [
        names[k] for k in range(factors.shape[1]) if len(np.unique(factors[:, k])) > args.num_bins
    ]
    out["factor_names"] = names
    out["continuous_factors"] = continuous
    live = np.flatnonzero(codes.std(axis=0) > 0)
    out["num_code_dims"] = int(codes.shape[1])
    out["num_live_code_dims"] = int(len(live))
    codes = codes[:, live]  # dead units carry no information and break nothing but time
    if codes.shape[1] < 2:
        raise UserError(f"{args.features}: fewer than 2 non-constant feature dimensions")
    if "mig" in chosen:
        t = time.perf_counter()
        r = M.mig(codes, labels, num_bins=args.num_bins)
        out["mig"] = {
            "mig": r.mig,
            "per_factor": dict(zip(names, r.per_factor.tolist(), strict=True)),
        }
        log.info("MIG %.4f (%.1f s)", r.mig, time.perf_counter() - t)
    if "sap" in chosen:
        t = time.perf_counter()
        if continuous:
            r = M.sap(codes, factors, continuous_factors=True)
        else:
            r = M.sap(codes, labels, continuous_factors=False, random_state=seed)
        out["sap"] = {"sap": r.sap, "continuous_factors": bool(continuous)}
        log.info("SAP %.4f (%.1f s)", r.sap, time.perf_counter() - t)
    if "dci" in chosen:
        t = time.perf_counter()
        if args.dci_model == "gbt":
            r = M.dci(
                codes, labels, random_state=seed, importance="gbt", n_estimators=args.dci_estimators
            )
        else:
            r = M.dci(
                codes, factors, random_state=seed, importance="lasso", lasso_alpha=args.lasso_alpha
            )
        out["dci"] = {
            "model": args.dci_model,
            "disentanglement": r.disentanglement,
            "completeness": r.completeness,
            "informativeness_train": r.informativeness_train,
            "informativeness_test": r.informativeness_test,
        }
        log.info(
            "DCI (%s) D=%.4f C=%.4f (%.1f s)",
            args.dci_model,
            r.disentanglement,
            r.completeness,
            time.perf_counter() - t,
        )
    if "factorvae" in chosen:
        t = time.perf_counter()
        r = M.factor_vae_score_from_arrays(
            codes,
            labels,
            random_state=seed,
            batch_size=args.fvae_batch,
            num_train=args.fvae_train,
            num_eval=args.fvae_eval,
        )
        out["factorvae"] = {
            "eval_accuracy": r.eval_accuracy,
            "train_accuracy": r.train_accuracy,
            "eval_accuracy_above_chance": r.eval_accuracy_above_chance,
            "estimator": "arrays (rows sharing the fixed factor's value)",
        }
        log.info("FactorVAE %.4f (%.1f s)", r.eval_accuracy, time.perf_counter() - t)
    return out


def _table(results: dict[str, Any]) -> str:
    lines = []
    corr = results.get("correlation")
    if corr:
        lines.append(f"group correlation (mean over {len(corr['pairs'])} pairs)")
        for k, v in corr["mean"].items():
            lines.append(f"  {k:<22s} {v:8.4f}")
        lines.append(
            f"  {'pair':<16s} {'matched|r|':>10s} {'cross|r|':>9s} {'norm r':>8s} {'CCA':>7s}"
        )
        for pair, v in corr["pairs"].items():
            lines.append(
                f"  {pair:<16s} {v['matched_abs_r']:10.4f} {v['cross_abs_r']:9.4f} "
                f"{v['norm_r']:8.4f} {v['cca_mean']:7.4f}"
            )
    fm = results.get("factor_metrics", {})
    for name, key in (("MIG", ("mig", "mig")), ("SAP", ("sap", "sap"))):
        if key[0] in fm:
            lines.append(f"{name:<24s} {fm[key[0]][key[1]]:8.4f}")
    if "dci" in fm:
        d = fm["dci"]
        lines.append(
            f"DCI ({d['model']}){'':<13s} D {d['disentanglement']:.4f}  C {d['completeness']:.4f}  "
            f"I(test) {d['informativeness_test']:.4f}"
        )
    if "factorvae" in fm:
        f = fm["factorvae"]
        lines.append(
            f"{'FactorVAE':<24s} {f['eval_accuracy']:8.4f}  (above chance {f['eval_accuracy_above_chance']:.4f})"
        )
    gp = results.get("factor_prediction")
    if gp:
        cols = list(gp["factor_groups"])
        lines.append("factor-group prediction (held-out ridge R^2; rows: feature groups)")
        lines.append("  " + f"{'':<10s}" + "".join(f"{c:>9s}" for c in cols))
        for g, row in zip(gp["feature_groups"], gp["matrix"], strict=True):
            lines.append("  " + f"{g:<10s}" + "".join(f"{v:9.3f}" for v in row))
        lines.append(f"  diagonal gap {gp['diagonal_gap']:.4f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    chosen = _metric_list(args.metrics)
    prefixes = _parse_prefixes(args.factor_prefix)
    fs = load_features(args.features)
    groups = fs.resolve_groups(args.groups, args.features)
    out_dir = _output_dir(args)
    feats, factors, idx = _subsample(fs, groups, args.max_samples, args.seed)
    log.info("%s: %d samples (%d used), groups %s", args.features, len(fs), len(idx), groups)
    results: dict[str, Any] = {"groups": groups, "num_samples": int(len(idx))}
    figures: list[str] = []
    corr = None
    if "correlation" in chosen:
        if len(groups) < 2:
            raise UserError(
                "--groups: correlation needs at least two groups; pass e.g. --groups all"
            )
        corr = group_correlation(feats, random_state=args.seed, cca_components=args.cca_components)
        results["correlation"] = corr.as_dict()
    gp = None
    factor_chosen = [m for m in chosen if m in ("dci", "mig", "sap", "factorvae")]
    if factors is None or not fs.factor_names:
        if factor_chosen or "groups" in chosen:
            log.info("no factors/factor_names in %s: factor metrics skipped", args.features)
    else:
        if "groups" in chosen:
            gp = factor_prediction_matrix(
                feats, factors, fs.factor_names, random_state=args.seed, prefixes=prefixes
            )
            results["factor_prediction"] = gp.as_dict()
        if factor_chosen:
            codes = np.concatenate([feats[g] for g in groups], axis=1)
            results["factor_metrics"] = _factor_metrics(
                codes, factors, list(fs.factor_names), factor_chosen, args, args.seed
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_figures:
        from analysis import figures as F

        if corr is not None:
            mats = {k: corr.matrices[k] for k in ("matched_abs_r", "cross_abs_r", "cca_mean")}
            figures.append(
                str(
                    F.correlation_heatmaps(
                        mats,
                        groups,
                        out_dir / "correlation.png",
                        {
                            "matched_abs_r": "paper PCC: mean |r|, matched units",
                            "cross_abs_r": "mean |r|, all unit pairs",
                            "cca_mean": f"mean top-{args.cca_components} CCA (held out)",
                        },
                    )
                )
            )
        if gp is not None:
            figures.append(
                str(
                    F.factor_prediction_figure(
                        gp.matrix,
                        gp.feature_groups,
                        list(gp.factor_groups),
                        out_dir / "factor_prediction.png",
                        per_factor=gp.per_factor,
                        factor_names=gp.factor_names,
                    )
                )
            )
    results["figures"] = figures
    print(_table(results))
    write_results(
        out_dir / "disentanglement.json",
        results,
        inputs=[args.features],
        argv=["analysis/disentangle.py", *(sys.argv[1:] if argv is None else argv)],
        options={k: v for k, v in vars(args).items() if k not in ("features", "verbose")},
    )
    log.info("wrote %s", out_dir / "disentanglement.json")
    return 0


if __name__ == "__main__":
    sys.exit(cli_main(main))
