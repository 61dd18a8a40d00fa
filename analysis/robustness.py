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

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.robust import cluster_shift, feature_invariance, group_ablation
from unsup3d.cli import cli_main, setup_logging, write_results
from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, load_features

log = logging.getLogger("analysis.robustness")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Robustness of feature groups to novel light and view.")
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
    p.add_argument(
        "--output_dir",
        default="robustness",
        help="where to write robustness.json and PNGs (default ./robustness)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="allow writing into a non-empty --output_dir"
    )
    p.add_argument("--seed", type=int, default=0, help="random_state of the probe (default 0)")
    p.add_argument("--no_figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def _labels(fs: FeatureSet, name: str | None, source: str) -> np.ndarray:
    if fs.labels is None:
        raise UserError(f"{source}: no labels; the probe needs integer labels in the file")
    if fs.labels.ndim == 1:
        if name is not None and fs.label_names and name not in fs.label_names:
            raise UserError(f"--label {name}: {source} has labels {fs.label_names}")
        return fs.labels
    if name is None:
        return fs.labels[:, 0]
    if name not in fs.label_names:
        raise UserError(f"--label {name}: not in {source}; available: {', '.join(fs.label_names)}")
    return fs.labels[:, fs.label_names.index(name)]


def _check_out(path: Path, overwrite: bool) -> Path:
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: exists and is not a folder; pass another --output_dir")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise UserError(f"{path}: folder is not empty; pass --overwrite or another --output_dir")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    probe_files = [args.train, args.test, args.ood]
    do_probe = any(probe_files)
    if do_probe and not all(probe_files):
        raise UserError("--train/--test/--ood: give all three feature files (or none)")
    if bool(args.before) != bool(args.after):
        raise UserError("--before/--after: give both feature files (or neither)")
    if not do_probe and not args.before:
        raise UserError("nothing to do; pass --train/--test/--ood and/or --before/--after")
    out_dir = _check_out(Path(args.output_dir), args.overwrite)
    results: dict[str, Any] = {}
    inputs: list[str] = []
    figures: list[str] = []
    lines: list[str] = []
    if do_probe:
        train, test, ood = (load_features(f) for f in probe_files)
        inputs += probe_files
        sets = {}
        for spec in args.group_sets:
            groups = train.resolve_groups(spec, args.train)
            for fs, src in ((test, args.test), (ood, args.ood)):
                fs.resolve_groups(groups, src)
            sets["+".join(groups) if spec != "all" else "all"] = groups
        ytr = _labels(train, args.label, args.train)
        label_name = args.label or (train.label_names[0] if train.label_names else "label")
        yte, yood = _labels(test, args.label, args.test), _labels(ood, args.label, args.ood)
        abl = group_ablation(
            train.features,
            ytr,
            test.features,
            yte,
            ood.features,
            yood,
            sets,
            random_state=args.seed,
            c=args.c,
        )
        results["label"] = label_name
        results["probe"] = {k: dict(v.__dict__) for k, v in abl.items()}
        lines.append(f"probe for {label_name}: accuracy per split and that split's chance")
        lines.append(
            f"{'group set':<28s} {'in-dist acc':>11s} {'chance':>7s} {'ood acc':>8s} "
            f"{'chance':>7s} {'drop':>7s}"
        )
        for k, v in abl.items():
            lines.append(
                f"{k:<28s} {v.in_distribution:11.4f} {v.chance_in_distribution:7.4f} "
                f"{v.ood:8.4f} {v.chance_ood:7.4f} {v.drop:7.4f}"
            )
        v = next(iter(abl.values()))
        lines.append(
            "chance = majority-class rate of the split's own labels: "
            f"in-dist {label_name}={v.majority_in_distribution} "
            f"({v.chance_in_distribution:.4f}), ood {label_name}={v.majority_ood} "
            f"({v.chance_ood:.4f})"
        )
        if not args.no_cluster:
            results["cluster"] = {}
            for k, groups in sets.items():
                cs = cluster_shift(test.select(groups), yte, ood.select(groups), yood)
                results["cluster"][k] = cs
                lines.append(
                    f"{k:<28s} HAC NMI in-dist {cs['in_distribution']['nmi']:.4f}  ood {cs['ood']['nmi']:.4f}"
                )
    if args.before:
        before, after = load_features(args.before), load_features(args.after)
        inputs += [args.before, args.after]
        if len(before) != len(after):
            raise UserError(
                f"{args.after}: {len(after)} rows but {args.before} has {len(before)}; row i of "
                "both files must be the same scene"
            )
        inv = feature_invariance(before.features, after.features)
        results["invariance"] = {
            "change": args.change,
            "groups": {g: dict(v.__dict__) for g, v in inv.items()},
        }
        lines.append(f"feature movement after a new {args.change}: group, relative, vs spread")
        for g, v in inv.items():
            lines.append(f"  {g:<10s} {v.relative_change:9.4f} {v.change_vs_spread:9.4f}")
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_figures:
        from analysis import figures as F

        if "probe" in results:
            figures.append(
                str(
                    F.ablation_bars(
                        results["probe"], out_dir / "ablation.png", label=results["label"]
                    )
                )
            )
        if "invariance" in results:
            figures.append(
                str(
                    F.invariance_bars(
                        results["invariance"]["groups"], out_dir / "invariance.png", args.change
                    )
                )
            )
    results["figures"] = figures
    print("\n".join(lines))
    write_results(
        out_dir / "robustness.json",
        results,
        inputs=inputs,
        argv=["analysis/robustness.py", *(sys.argv[1:] if argv is None else argv)],
        options={k: v for k, v in vars(args).items() if k != "verbose"},
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli_main(main))
