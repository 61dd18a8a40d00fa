"""Which feature group a probe's prediction rests on: integrated-gradients shares (paper Fig. 4).

    python analysis/interpret.py features.npz [--groups all] [--labels a,b] [--output_dir DIR]

For each label column: a logistic-regression probe on the concatenated groups is fitted on a
random ``1 - --test_fraction`` of the rows; on up to ``--max_explain`` held-out rows, Integrated
Gradients (captum; baseline: zero features, or ``--baseline mean``) of the explained logit (binary: the positive class;
multi-class: each sample's predicted class) is split into one share per group with the paper's
formula sum_i |IG(z^j_i)| / sum_j sum_i |IG(z^j_i)|, averaged over samples. Prints a table,
writes ``interpretability.json`` and ``attribution.png``. Grad-CAM per encoder needs the model:
``analysis.attribution.grad_cam_maps`` (see analysis/README.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from analysis.attribution import ExplainSettings, explain_labels, group_slices
from analysis.feature_files import label_matrix
from analysis.records import InterpretabilityMetrics, add_settings_flags, cli_parser, write
from unsup3d import cli
from unsup3d.api import UserError, load_features

log = logging.getLogger("analysis.interpret")


# Flags of `analysis.attribution.ExplainSettings` fields: help (the default is appended).
SETTINGS_HELP = {
    "test_fraction": "held-out rows, explained",
    "max_explain": "held-out rows explained per label",
    "n_steps": "IG quadrature points",
    "baseline": "IG baseline: 'zero' features (ReLU off; captum's default, as the paper) or the "
    "training 'mean' (attributes deviations from an average sample)",
    "c": "inverse L2 strength of the probe",
}
HELPS = {
    "output_dir": "where to write interpretability.json (default: <features>_interpretability)",
    "seed": "random_state of the split and the probe",
}


def build_parser() -> cli.ArgumentParser:
    p = cli_parser(
        "Integrated-gradients share of each feature group in a probe's predictions.", helps=HELPS
    )
    p.add_argument("features", help="feature file (.npz) with labels")
    p.add_argument("--groups", default="all", help="comma-separated groups or 'all' (default all)")
    p.add_argument(
        "--labels",
        default=None,
        help="comma-separated label columns to explain (default: the first 8)",
    )
    add_settings_flags(p, ExplainSettings, SETTINGS_HELP)
    p.add_argument("--no_figures", action="store_true", help="skip the PNG figure")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    fs = load_features(args.features)
    labels, names = label_matrix(fs, args.features, "interpretability explains a probe on labels")
    groups = fs.resolve_groups(args.groups, args.features)
    chosen = names[:8] if args.labels is None else [s.strip() for s in args.labels.split(",")]
    chosen = [n for n in chosen if n]
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise UserError(f"--labels: unknown {unknown}; {args.features} has {', '.join(names)}")
    if not 0.0 < args.test_fraction < 1.0:
        raise UserError(f"--test_fraction {args.test_fraction}: must be in (0, 1), e.g. 0.25")
    features = Path(args.features)
    out = cli.prepare_output_dir(
        args.output_dir or features.with_name(features.stem + "_interpretability"), args.overwrite
    )
    explained = explain_labels(
        fs.select(groups).astype(np.float64),
        labels,
        names,
        chosen,
        group_slices({g: fs.features[g].shape[1] for g in groups}),
        cli.from_flags(ExplainSettings, args),
        random_state=args.seed,
    )
    if not explained:
        raise UserError(f"{args.features}: no label column has two classes in the training rows")
    metrics = InterpretabilityMetrics(groups=groups, labels=explained)
    if not args.no_figures:
        from analysis.figures import attribution_bars

        shares = {k: v.shares for k, v in explained.items()}
        metrics.figures = [str(attribution_bars(shares, out / "attribution.png"))]
    print(metrics.table())
    write(out, metrics, inputs=[args.features], args=args, argv=argv, leave_out=("features",))
    return 0


if __name__ == "__main__":
    cli.run(main)
