"""Linear / MLP probes with 100 / 500 / 1000 labels (the paper's Table 2 protocol).

    # frozen features from `run.py extract` (depth+albedo, the paper's default)
    python classification/run_trainer.py --features train.npz --eval_features test.npz \\
        --groups depth,albedo --num_train 100 500 1000 --runs 3
    # finetune the encoders of a checkpoint on labelled images
    python classification/run_trainer.py --checkpoint runs/x/best.pt --data train.npz \\
        --eval_data test.npz --mode finetune
    # supervised baseline: ResNet-18 from random init on the same subsets
    python classification/run_trainer.py --baseline resnet18 --data train.npz --eval_data test.npz

Multi-label attributes (sigmoid + BCE, accuracy at 0.5) or multi-class labels (softmax + CE,
top-1), chosen from the label shape or --task. Writes <output_dir>/results.json (metrics, input
hashes, command), results.txt (the tables), per_attribute.csv (multi-label) and metrics.jsonl
(one line per epoch). Flags are spelled with underscores; the hyphenated spellings
(--eval-features, --num-train, ...) are accepted too. Formats and protocol:
classification/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from classification.baseline import BASELINES, STEMS
from classification.data import TASKS, check_num_train, resolve_task
from classification.inputs import (
    ProbeInputs,
    baseline_inputs,
    checkpoint_inputs,
    feature_inputs,
)
from classification.probe import STANDARDIZE, TrainConfig
from classification.protocol import MODES, ProtocolConfig, epoch_log, run_protocol
from classification.report import write_report
from unsup3d import cli
from unsup3d.api import UserError, git_sha

log = logging.getLogger("classification")

PROG = "classification/run_trainer.py"


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags(
        "output_dir overwrite seed gpu batch_size verbose",
        defaults={"output_dir": "runs/classification", "batch_size": 32},
        helps={
            "output_dir": "folder for results.json/.txt, per_attribute.csv, metrics.jsonl",
            "seed": "first seed; run r uses seed + r",
            "batch_size": "samples per step (good: 32)",
        },
    )
    parser = cli.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[shared],
    )
    src = parser.add_argument_group("inputs: one of --features, --checkpoint, --baseline")
    src.add_argument(
        "--features", type=Path, help="training feature .npz (run.py extract, or the paper's)"
    )
    src.add_argument("--eval_features", type=Path, help="evaluation feature .npz (with --features)")
    src.add_argument(
        "--checkpoint", type=Path, help="run.py checkpoint whose encoders to probe (needs --data)"
    )
    src.add_argument(
        "--baseline", choices=BASELINES, help="supervised baseline from random init (needs --data)"
    )
    src.add_argument(
        "--data",
        type=Path,
        help="training images: .npz with images (N,3,S,S) uint8 + labels, or a folder with labels.csv",
    )
    src.add_argument("--eval_data", type=Path, help="evaluation images, same formats as --data")
    src.add_argument(
        "--image_size",
        type=int,
        default=None,
        help="S in pixels images are resized to (default: the checkpoint's, else 64 as the paper)",
    )
    src.add_argument(
        "--groups",
        default=None,
        help="feature groups, comma-separated, or 'all' (default depth,albedo as in the paper)",
    )
    src.add_argument(
        "--allow_pickle",
        action="store_true",
        help="read a pickled .npy feature dict (runs code from the file: only your own files)",
    )
    lab = parser.add_argument_group("labels")
    lab.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="auto: (N,) labels -> multiclass, (N,A) -> multilabel (default auto)",
    )
    lab.add_argument(
        "--label_column",
        default=None,
        help="use one column of an (N,A) label table as multi-class labels, e.g. identity",
    )
    lab.add_argument(
        "--attributes",
        default=None,
        help="use these columns of an (N,A) label table as a multi-label task, comma-separated, "
        "or 'binary' for every 0/1 column (e.g. the synthetic faces' attributes)",
    )
    pro = parser.add_argument_group("protocol")
    pro.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help="frozen: train only the head; finetune: also the encoders "
        "(default: frozen for --features, finetune for --checkpoint/--baseline)",
    )
    pro.add_argument(
        "--num_train",
        type=int,
        nargs="+",
        default=[100, 500, 1000],
        help="labelled training-set sizes N, drawn per seed, class-balanced where possible "
        "(default 100 500 1000)",
    )
    pro.add_argument(
        "--num_eval",
        type=int,
        default=None,
        help="use the first M evaluation samples (the paper: 6000 on CelebA); default all",
    )
    pro.add_argument(
        "--runs", type=int, default=3, help="seeds per N; reports mean ± std (good: 3-5)"
    )
    trn = parser.add_argument_group("head and training")
    trn.add_argument(
        "--head", choices=("linear", "mlp"), default="linear", help="classifier (default linear)"
    )
    trn.add_argument("--hidden", type=int, default=512, help="MLP hidden width (good: 512)")
    trn.add_argument(
        "--standardize",
        choices=STANDARDIZE,
        default=None,
        help="input normalisation of the head, from the training subset: scale = divide by the "
        "features' RMS (default), feature = per-feature z-score, none (default for --baseline)",
    )
    trn.add_argument("--epochs", type=int, default=100, help="epochs over the N samples (100)")
    trn.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the head (1e-3)")
    trn.add_argument(
        "--encoder_lr",
        type=float,
        default=None,
        help="learning rate of trained encoders (default: lr/10 finetune, lr for the baseline)",
    )
    trn.add_argument("--weight_decay", type=float, default=0.0, help="L2 weight decay (good: 0)")
    trn.add_argument(
        "--freeze_norm_stats",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="finetune: keep BatchNorm running statistics pre-trained (eval mode); default on",
    )
    trn.add_argument(
        "--hflip",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="random left-right flips of training images (default off)",
    )
    trn.add_argument(
        "--resnet_stem",
        choices=STEMS,
        default="small",
        help="baseline conv1: small = 3x3 stride 1, no max-pool (default, for 32-64 px)",
    )
    return parser


def _check_args(args: argparse.Namespace) -> str:
    """Validate flag combinations; return the input kind: features, checkpoint or baseline."""
    kinds = [k for k in ("features", "checkpoint", "baseline") if getattr(args, k) is not None]
    if len(kinds) != 1:
        raise UserError(
            f"inputs: got {', '.join('--' + k for k in kinds) or 'none'}; pass exactly one of "
            "--features (frozen features), --checkpoint (encoders), --baseline resnet18"
        )
    kind = kinds[0]
    if kind == "features":
        if args.eval_features is None:
            raise UserError("--features: needs --eval-features test.npz to score the probe on")
        if args.data is not None or args.eval_data is not None:
            raise UserError(
                "--data: images are for --checkpoint/--baseline; drop it with --features"
            )
        if args.mode == "finetune":
            raise UserError(
                "--mode finetune: a feature file has no encoder to train; "
                "use --checkpoint ckpt.pt --data ... --eval-data ..."
            )
    else:
        if args.data is None or args.eval_data is None:
            raise UserError(f"--{kind}: needs --data and --eval-data (labelled images)")
        if args.eval_features is not None:
            raise UserError(f"--eval-features: goes with --features, not --{kind}")
    for name, low in (
        ("epochs", 1),
        ("batch_size", 2),
        ("runs", 1),
        ("hidden", 1),
    ):
        if getattr(args, name) < low:
            flag = "--" + name.replace("_", "-")
            raise UserError(f"{flag} {getattr(args, name)}: must be at least {low}")
    if args.image_size is not None and args.image_size < 8:
        raise UserError(f"--image-size {args.image_size}: must be at least 8 (good: 64)")
    if kind == "features" and args.image_size is not None:
        raise UserError("--image-size: applies to images (--data); drop it with --features")
    for n in args.num_train:
        if n < 2:
            raise UserError(f"--num-train {n}: must be at least 2")
    if args.num_eval is not None and args.num_eval < 1:
        raise UserError(f"--num-eval {args.num_eval}: must be at least 1")
    for name in ("lr", "encoder_lr"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise UserError(f"--{name.replace('_', '-')} {value}: must be > 0 (good: 1e-3)")
    if args.weight_decay < 0:
        raise UserError(f"--weight-decay {args.weight_decay}: must be >= 0")
    return kind


def _load_inputs(args: argparse.Namespace, kind: str, device) -> ProbeInputs:
    if kind == "features":
        return feature_inputs(args.features, args.eval_features, args.groups, args.allow_pickle)
    mode = args.mode or "finetune"
    if kind == "checkpoint":
        return checkpoint_inputs(
            args.checkpoint, args.data, args.eval_data, args.groups, args.image_size, mode, device
        )
    return baseline_inputs(
        args.baseline,
        args.resnet_stem,
        args.data,
        args.eval_data,
        args.groups,
        args.image_size,
        mode,
    )


def _protocol_config(args: argparse.Namespace, inputs: ProbeInputs) -> ProtocolConfig:
    baseline = inputs.kind == "baseline"
    encoder_lr = args.encoder_lr
    if encoder_lr is None:
        encoder_lr = args.lr if baseline else args.lr / 10
    return ProtocolConfig(
        num_train=tuple(args.num_train),
        runs=args.runs,
        seed=args.seed,
        mode=inputs.mode,
        groups=inputs.groups,
        hidden=args.hidden if args.head == "mlp" else 0,
        standardize=args.standardize or ("none" if baseline else "scale"),
        freeze_norm_stats=args.freeze_norm_stats,
        train=cli.from_flags(TrainConfig, args, encoder_lr=encoder_lr),
    )


def _options(
    args: argparse.Namespace, inputs: ProbeInputs, cfg: ProtocolConfig, task: str, device
) -> dict:
    """The resolved options recorded in results.json."""
    return {
        "input": inputs.kind,
        "baseline": args.baseline,
        "mode": cfg.mode,
        "groups": list(cfg.groups),
        "head": args.head,
        "task": task,
        "label_column": args.label_column,
        "attributes": args.attributes,
        "image_size": inputs.image_size,
        "num_train_available": len(inputs.train),
        "device": str(device),
        **dataclasses.asdict(cfg.train),
        "num_train": list(cfg.num_train),
        "runs": cfg.runs,
        "seed": cfg.seed,
        "standardize": cfg.standardize,
        "freeze_norm_stats": cfg.freeze_norm_stats,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    kind = _check_args(args)
    device = cli.device(args.gpu)
    out = cli.prepare_output_dir(args.output_dir, args.overwrite)

    inputs = _load_inputs(args, kind, device)
    train, evaluation = inputs.train, inputs.evaluation.head(args.num_eval)
    attributes = [a.strip() for a in args.attributes.split(",")] if args.attributes else None
    task, y_train, y_eval = resolve_task(
        train, evaluation, args.task, args.label_column, attributes
    )
    check_num_train(args.num_train, len(train), train.source)
    cfg = _protocol_config(args, inputs)
    options = _options(args, inputs, cfg, task.kind, device)
    log.info("git %s; options %s", git_sha(), json.dumps(options, default=str))
    log.info(
        "train %s: %d samples; evaluation %s: %d samples; %s with %d output(s)",
        train.source,
        len(train),
        evaluation.source,
        len(evaluation),
        task.kind,
        task.num_outputs,
    )
    with epoch_log(out / "metrics.jsonl", cfg.train.epochs) as on_epoch:
        summary = run_protocol(
            train.inputs,
            y_train,
            evaluation.inputs,
            y_eval,
            task,
            cfg,
            device,
            inputs.make_encoder,
            on_epoch,
            source=train.source,
        )
    print(write_report(out, summary, inputs.title))
    command = cli.command_line(PROG, argv)
    cli.write_results(out / "results.json", summary, inputs.files, command, options)
    log.info("results written to %s", out)
    return 0


if __name__ == "__main__":
    cli.run(main)
