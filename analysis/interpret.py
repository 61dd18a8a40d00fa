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

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analysis.attribution import fit_probe_head, group_slices, integrated_gradients_shares
from unsup3d.cli import cli_main, setup_logging, write_results
from unsup3d.errors import UserError
from unsup3d.features import load_features

log = logging.getLogger("analysis.interpret")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Integrated-gradients share of each feature group in a probe's predictions."
    )
    p.add_argument("features", help="feature file (.npz) with labels")
    p.add_argument("--groups", default="all", help="comma-separated groups or 'all' (default all)")
    p.add_argument(
        "--labels",
        default=None,
        help="comma-separated label columns to explain (default: the first 8)",
    )
    p.add_argument(
        "--test_fraction", type=float, default=0.25, help="held-out rows, explained (default 0.25)"
    )
    p.add_argument(
        "--max_explain",
        type=int,
        default=256,
        help="held-out rows explained per label (default 256)",
    )
    p.add_argument("--n_steps", type=int, default=64, help="IG quadrature points (default 64)")
    p.add_argument(
        "--baseline",
        choices=("zero", "mean"),
        default="zero",
        help="IG baseline: 'zero' features (ReLU off; captum's default, as the paper) or the "
        "training 'mean' (attributes deviations from an average sample)",
    )
    p.add_argument(
        "--c", type=float, default=1.0, help="inverse L2 strength of the probe (default 1.0)"
    )
    p.add_argument(
        "--output_dir", default=None, help="default: <features>_interpretability next to the file"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="allow writing into a non-empty --output_dir"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random_state of the split and the probe (default 0)"
    )
    p.add_argument("--no_figures", action="store_true", help="skip the PNG figure")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    fs = load_features(args.features)
    if fs.labels is None:
        raise UserError(f"{args.features}: no labels; interpretability explains a probe on labels")
    groups = fs.resolve_groups(args.groups, args.features)
    labels = fs.labels if fs.labels.ndim == 2 else fs.labels[:, None]
    names = fs.label_names or [f"attr_{i}" for i in range(labels.shape[1])]
    chosen = (
        names[:8]
        if args.labels is None
        else [s.strip() for s in args.labels.split(",") if s.strip()]
    )
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise UserError(f"--labels: unknown {unknown}; {args.features} has {', '.join(names)}")
    if not 0.0 < args.test_fraction < 1.0:
        raise UserError(f"--test_fraction {args.test_fraction}: must be in (0, 1), e.g. 0.25")
    out = (
        Path(args.output_dir)
        if args.output_dir
        else Path(args.features).with_name(Path(args.features).stem + "_interpretability")
    )
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise UserError(f"{out}: folder is not empty; pass --overwrite or another --output_dir")
    x = fs.select(groups).astype(np.float64)
    slices = group_slices({g: fs.features[g].shape[1] for g in groups})
    rs = np.random.RandomState(args.seed)
    perm = rs.permutation(len(x))
    n_test = max(1, int(round(args.test_fraction * len(x))))
    te, tr = perm[:n_test], perm[n_test:]
    explain = te[: args.max_explain]
    results: dict[str, Any] = {"groups": groups, "labels": {}}
    lines = [
        f"{'label':<22s} {'probe acc':>9s} "
        + " ".join(f"{g:>8s}" for g in groups)
        + "  (% of |IG|)"
    ]
    for name in chosen:
        y = labels[:, names.index(name)]
        if len(np.unique(y[tr])) < 2:
            log.info("label %s has one class in the training rows: skipped", name)
            continue
        head = fit_probe_head(x[tr], y[tr], random_state=args.seed, c=args.c)
        with torch.no_grad():
            logits = head(torch.as_tensor(x[te]))
        if logits.ndim == 1:
            pred = head.classes_[(logits > 0).long().numpy()]
            target = None
        else:
            pred = head.classes_[logits.argmax(1).numpy()]
            target = torch.as_tensor(np.argmax(logits[: len(explain)].numpy(), axis=1))
        acc = float(np.mean(pred == y[te]))
        base = torch.as_tensor(x[tr].mean(axis=0)) if args.baseline == "mean" else 0.0
        ig = integrated_gradients_shares(
            head,
            torch.as_tensor(x[explain]),
            slices,
            target=target,
            baseline=base,
            n_steps=args.n_steps,
        )
        results["labels"][name] = {"probe_test_accuracy": acc, **ig.as_dict()}
        lines.append(
            f"{name:<22s} {acc:9.4f} " + " ".join(f"{100 * ig.shares[g]:8.1f}" for g in groups)
        )
    if not results["labels"]:
        raise UserError(f"{args.features}: no label column has two classes in the training rows")
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    if not args.no_figures:
        from analysis.figures import attribution_bars

        shares = {k: v["shares"] for k, v in results["labels"].items()}
        figures.append(str(attribution_bars(shares, out / "attribution.png")))
    results["figures"] = figures
    print("\n".join(lines))
    write_results(
        out / "interpretability.json",
        results,
        inputs=[args.features],
        argv=["analysis/interpret.py", *(sys.argv[1:] if argv is None else argv)],
        options={k: v for k, v in vars(args).items() if k not in ("features", "verbose")},
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli_main(main))
