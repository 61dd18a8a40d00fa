"""Robustness to novel light and view from feature files: probe/cluster shift, group ablation,
feature invariance under a re-render.

    python analysis/robustness.py --train train.npz --test test.npz --ood ood.npz
        [--label NAME] [--group_sets depth,albedo all] [--output_dir DIR]
    python analysis/robustness.py --before test.npz --after test_relit.npz [--change light]

The first form trains a logistic-regression probe per group set on ``--train`` and scores it on
the in-distribution ``--test`` split and on the ``--ood`` split (synthetic data: light/view
outside the training ranges), and clusters each split with ward HAC. The second form measures
how far each group's features move between the same scenes before and after re-rendering with
a new light or view (row i of both files = scene i). Both can be given at once. Definitions:
``analysis/README.md``; the functions are in ``analysis.robust``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from analysis.records import RobustnessMetrics, cli_parser, write
from analysis.robust import file_invariance, probe_robustness
from unsup3d import cli
from unsup3d.api import UserError, load_features

log = logging.getLogger("analysis.robustness")


HELPS = {"output_dir": "where to write robustness.json and PNGs", "seed": "the probe's seed"}


def build_parser() -> cli.ArgumentParser:
    p = cli_parser(
        "Robustness of feature groups to novel light and view.",
        helps=HELPS,
        defaults={"output_dir": Path("robustness")},
    )
    p.add_argument("--train", help="in-distribution training features (.npz) for the probe")
    p.add_argument("--test", help="in-distribution test features (.npz)")
    p.add_argument(
        "--ood", help="out-of-distribution features (.npz), e.g. the synthetic 'ood' split"
    )
    p.add_argument(
        "--label",
        default=None,
        help="label column to predict, by name in label_names (default: the first column)",
    )
    p.add_argument(
        "--group_sets",
        nargs="+",
        default=["depth,albedo", "all"],
        help="feature-group sets to compare, each comma-separated or 'all' "
        "(default: depth,albedo all — the paper's choice versus every group)",
    )
    p.add_argument("--no_cluster", action="store_true", help="skip the ward-HAC cluster scores")
    p.add_argument(
        "--c", type=float, default=1.0, help="inverse L2 strength of the probe (default 1.0)"
    )
    p.add_argument("--before", help="features of the original images (.npz) for feature invariance")
    p.add_argument("--after", help="features of the same scenes re-rendered with a new light/view")
    p.add_argument(
        "--change", default="light", help="what was changed in --after, for labels (default light)"
    )
    p.add_argument("--no_figures", action="store_true", help="skip the PNG figures")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    probe_files = [args.train, args.test, args.ood]
    do_probe = any(probe_files)
    if do_probe and not all(probe_files):
        raise UserError("--train/--test/--ood: give all three feature files (or none)")
    if bool(args.before) != bool(args.after):
        raise UserError("--before/--after: give both feature files (or neither)")
    if not do_probe and not args.before:
        raise UserError("nothing to do; pass --train/--test/--ood and/or --before/--after")
    out_dir = cli.prepare_output_dir(args.output_dir, args.overwrite)
    metrics, inputs = RobustnessMetrics(), []
    if do_probe:
        inputs += probe_files
        metrics = probe_robustness(
            [(load_features(f), f) for f in probe_files],
            label=args.label,
            group_set_specs=args.group_sets,
            random_state=args.seed,
            c=args.c,
            cluster=not args.no_cluster,
        )
    if args.before:
        inputs += [args.before, args.after]
        files = [(load_features(f), f) for f in (args.before, args.after)]
        metrics.invariance = file_invariance(*files, args.change)
    if not args.no_figures:
        from analysis.figures import robustness_figures

        metrics.figures = robustness_figures(metrics, out_dir)
    print(metrics.table())
    write(out_dir, metrics, inputs=inputs, args=args, argv=argv)
    return 0


if __name__ == "__main__":
    cli.run(main)
