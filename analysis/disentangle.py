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

import logging
from collections.abc import Sequence
from pathlib import Path

from analysis import disentanglement as D
from analysis.records import add_settings_flags, cli_parser, write
from unsup3d import cli
from unsup3d.api import load_features

log = logging.getLogger("analysis.disentangle")

# Flags of `analysis.disentanglement.Settings` fields: help (the default is appended).
SETTINGS_HELP = {
    "max_samples": "random subset of rows used by every metric (0 = all)",
    "num_bins": "histogram bins for MIG codes and continuous factors",
    "dci_model": "DCI importance: 'lasso' (Eastwood & Williams' linear variant, fast on 1024-d "
    "codes, continuous factors) or 'gbt' (disentanglement_lib: gradient-boosted trees on "
    "discretised factors; slow above ~100 code dims)",
    "dci_estimators": "GBT stages for --dci_model gbt",
    "lasso_alpha": "L1 weight for --dci_model lasso",
    "fvae_batch": "FactorVAE batch with one factor fixed",
    "fvae_train": "FactorVAE training votes",
    "fvae_eval": "FactorVAE evaluation votes",
    "cca_components": "leading canonical correlations averaged into cca_mean",
}
HELPS = {
    "output_dir": "where to write disentanglement.json and the PNGs (default: "
    "<features>_disentanglement next to the file); must be empty unless --overwrite",
    "seed": "random_state of every sampled step",
}


def build_parser() -> cli.ArgumentParser:
    p = cli_parser(
        "Disentanglement of feature groups: correlation, DCI, MIG, SAP, FactorVAE, and the "
        "feature-group x physical-factor-group prediction matrix.",
        helps=HELPS,
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
        "--metrics",
        default=",".join(D.ALL_METRICS),
        help=f"comma-separated subset of {','.join(D.ALL_METRICS)} (factor metrics are skipped "
        "without factors in the file)",
    )
    add_settings_flags(p, D.Settings, SETTINGS_HELP)
    p.add_argument(
        "--factor_prefix",
        action="append",
        default=[],
        metavar="PREFIX=GROUP",
        help="map factor names starting with PREFIX to physical GROUP (depth, albedo, light, view "
        "or any name); repeatable; tried before the defaults (see analysis/README.md)",
    )
    p.add_argument("--no_figures", action="store_true", help="skip the PNG figures")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    chosen = D.parse_metrics(args.metrics)
    prefixes = D.parse_prefixes(args.factor_prefix)
    fs = load_features(args.features)
    groups = fs.resolve_groups(args.groups, args.features)
    if len(groups) < 2 and args.metrics == build_parser().get_default("metrics"):
        # A one-group file (e.g. a VAE's latent): no pair of groups to correlate.
        log.info("%s: one feature group, so no group correlation", args.features)
        chosen = [m for m in chosen if m != "correlation"]
    features = Path(args.features)
    out_dir = cli.prepare_output_dir(
        args.output_dir or features.with_name(features.stem + "_disentanglement"), args.overwrite
    )
    settings = cli.from_flags(D.Settings, args)
    metrics = D.disentanglement(
        fs, groups, chosen, settings, seed=args.seed, prefixes=prefixes, source=args.features
    )
    if not args.no_figures:
        from analysis.figures import disentanglement_figures

        metrics.figures = disentanglement_figures(metrics, out_dir, args.cca_components)
    print(metrics.table())
    path = write(
        out_dir, metrics, inputs=[args.features], args=args, argv=argv, leave_out=("features",)
    )
    log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    cli.run(main)
