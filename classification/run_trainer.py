"""Linear / MLP probes with 100 / 500 / 1000 labels (the paper's Table 2 protocol).

    # frozen features from `run.py extract` (depth+albedo, the paper's default)
    python classification/run_trainer.py --features train.npz --eval-features test.npz \\
        --groups depth,albedo --num-train 100 500 1000 --runs 3
    # finetune the encoders of a checkpoint on labelled images
    python classification/run_trainer.py --checkpoint runs/x/best.pt --data train.npz \\
        --eval-data test.npz --mode finetune
    # supervised baseline: ResNet-18 from random init on the same subsets
    python classification/run_trainer.py --baseline resnet18 --data train.npz --eval-data test.npz

Multi-label attributes (sigmoid + BCE, accuracy at 0.5) or multi-class labels (softmax + CE,
top-1), chosen from the label shape or --task. Writes <output_dir>/results.json (metrics, input
hashes, command), results.txt (the tables), per_attribute.csv (multi-label) and metrics.jsonl
(one line per epoch). Formats and protocol: classification/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from classification import backbone as backbone_lib
from classification.baseline import GROUP as BASELINE_GROUP
from classification.baseline import STEMS, ResNet18Encoder
from classification.data import (
    TASKS,
    LabelledSplit,
    load_feature_split,
    load_image_split,
    resolve_task,
)
from classification.probe import STANDARDIZE, TrainConfig
from classification.protocol import MODES, ProtocolConfig, run_protocol
from classification.report import per_attribute_table, summary_table, write_per_attribute_csv
from unsup3d.cli import cli_main, setup_logging, write_results
from unsup3d.errors import UserError
from unsup3d.features import SCENE_GROUPS
from unsup3d.utils import atomic_write_text, git_sha, resolve_device

log = logging.getLogger("classification")

BASELINES = ("resnet18",)
DEFAULT_IMAGE_SIZE = 64


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classification/run_trainer.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = parser.add_argument_group("inputs: one of --features, --checkpoint, --baseline")
    src.add_argument(
        "--features", type=Path, help="training feature .npz (run.py extract, or the paper's)"
    )
    src.add_argument("--eval-features", type=Path, help="evaluation feature .npz (with --features)")
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
    src.add_argument("--eval-data", type=Path, help="evaluation images, same formats as --data")
    src.add_argument(
        "--image-size",
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
        "--allow-pickle",
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
        "--label-column",
        default=None,
        help="use one column of an (N,A) label table as multi-class labels, e.g. identity",
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
        "--num-train",
        type=int,
        nargs="+",
        default=[100, 500, 1000],
        help="labelled training-set sizes N, drawn per seed, class-balanced where possible "
        "(default 100 500 1000)",
    )
    pro.add_argument(
        "--num-eval",
        type=int,
        default=None,
        help="use the first M evaluation samples (the paper: 6000 on CelebA); default all",
    )
    pro.add_argument(
        "--runs", type=int, default=3, help="seeds per N; reports mean ± std (good: 3-5)"
    )
    pro.add_argument("--seed", type=int, default=0, help="first seed; run r uses seed + r")
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
    trn.add_argument("--batch-size", type=int, default=32, help="samples per step (good: 32)")
    trn.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the head (1e-3)")
    trn.add_argument(
        "--encoder-lr",
        type=float,
        default=None,
        help="learning rate of trained encoders (default: lr/10 finetune, lr for the baseline)",
    )
    trn.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay (good: 0)")
    trn.add_argument(
        "--freeze-norm-stats",
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
        "--resnet-stem",
        choices=STEMS,
        default="small",
        help="baseline conv1: small = 3x3 stride 1, no max-pool (default, for 32-64 px)",
    )
    out = parser.add_argument_group("output and device")
    out.add_argument(
        "--output_dir",
        "--output-dir",
        type=Path,
        default=Path("runs/classification"),
        help="folder for results.json/.txt, per_attribute.csv, metrics.jsonl",
    )
    out.add_argument("--overwrite", action="store_true", help="write into a non-empty --output_dir")
    out.add_argument("--gpu", type=int, default=None, help="CUDA device index; default CPU")
    out.add_argument("-v", "--verbose", action="store_true", help="debug logging")
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


def _prepare_output(output_dir: Path, overwrite: bool) -> None:
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"{output_dir}: exists and is not a folder; pick another --output_dir")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not overwrite:
        raise UserError(
            f"{output_dir}: not empty; pass --overwrite to replace its results, "
            "or choose another --output_dir"
        )
    output_dir.mkdir(parents=True, exist_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    kind = _check_args(args)
    device = resolve_device(args.gpu)
    _prepare_output(args.output_dir, args.overwrite)

    train: LabelledSplit
    evaluation: LabelledSplit
    make_encoder = None
    image_size = None
    inputs = []
    if kind == "features":
        mode = "frozen"
        train = load_feature_split(args.features, args.groups, args.allow_pickle)
        evaluation = load_feature_split(args.eval_features, args.groups, args.allow_pickle)
        if train.groups != evaluation.groups:
            raise UserError(
                f"{args.eval_features}: groups {evaluation.groups} differ from "
                f"{args.features}'s {train.groups}; extract both files with the same groups"
            )
        if train.inputs.shape[1] != evaluation.inputs.shape[1]:
            raise UserError(
                f"{args.eval_features}: {evaluation.inputs.shape[1]}-d features but "
                f"{args.features} has {train.inputs.shape[1]}-d; extract both with one checkpoint"
            )
        groups: tuple[str, ...] = tuple(train.groups)
    else:
        mode = args.mode or "finetune"
        if kind == "checkpoint":
            groups = tuple(_parse_groups(args.groups or "depth,albedo"))
            # Fail before reading the data if the checkpoint cannot become a backbone.
            trained_size = backbone_lib.backbone_image_size(
                backbone_lib.load_backbone(args.checkpoint, device)
            )
            if args.image_size is None:
                image_size = trained_size or DEFAULT_IMAGE_SIZE
            elif trained_size is not None and args.image_size != trained_size:
                raise UserError(
                    f"--image-size {args.image_size}: {args.checkpoint} was trained on "
                    f"{trained_size} px images; drop --image-size or pass {trained_size}"
                )
            else:
                image_size = args.image_size
            inputs.append(args.checkpoint)

            def make_encoder():
                return backbone_lib.load_backbone(args.checkpoint, device)
        else:
            if args.groups not in (None, BASELINE_GROUP):
                raise UserError(
                    f"--groups {args.groups}: the {args.baseline} baseline has only the "
                    f"'{BASELINE_GROUP}' group; drop --groups"
                )
            groups = (BASELINE_GROUP,)
            image_size = args.image_size or DEFAULT_IMAGE_SIZE

            def make_encoder():
                return ResNet18Encoder(args.resnet_stem)

        train = load_image_split(args.data, image_size)
        evaluation = load_image_split(args.eval_data, image_size)

    inputs += train.files + evaluation.files
    evaluation = evaluation.head(args.num_eval)
    task, y_train, y_eval = resolve_task(train, evaluation, args.task, args.label_column)
    too_many = [n for n in args.num_train if n > len(train)]
    if too_many:
        raise UserError(
            f"--num-train {too_many[0]}: {train.source} has only {len(train)} labelled samples; "
            f"use N <= {len(train)}"
        )
    encoder_lr = args.encoder_lr
    if encoder_lr is None:
        encoder_lr = args.lr if kind == "baseline" else args.lr / 10
    cfg = ProtocolConfig(
        num_train=tuple(args.num_train),
        runs=args.runs,
        seed=args.seed,
        mode=mode,
        groups=groups,
        hidden=args.hidden if args.head == "mlp" else 0,
        standardize=args.standardize or ("none" if kind == "baseline" else "scale"),
        freeze_norm_stats=args.freeze_norm_stats,
        train=TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            encoder_lr=encoder_lr,
            weight_decay=args.weight_decay,
            hflip=args.hflip,
        ),
    )
    options = {
        "input": kind,
        "baseline": args.baseline,
        "mode": mode,
        "groups": list(groups),
        "head": args.head,
        "task": task.kind,
        "label_column": args.label_column,
        "image_size": image_size,
        "num_train_available": len(train),
        "device": str(device),
        **dataclasses.asdict(cfg.train),
        "num_train": list(cfg.num_train),
        "runs": cfg.runs,
        "seed": cfg.seed,
        "standardize": cfg.standardize,
        "freeze_norm_stats": cfg.freeze_norm_stats,
    }
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

    metrics_path = args.output_dir / "metrics.jsonl"
    with open(metrics_path, "w") as metrics_file:

        def on_epoch(record: dict) -> None:
            metrics_file.write(json.dumps(record) + "\n")
            if record["epoch"] % 10 == 0 or record["epoch"] in (1, cfg.train.epochs):
                log.info(
                    "N=%d run %d epoch %d/%d: loss %.4f, train accuracy %.4f, %.1f samples/s",
                    record["num_train"],
                    record["run"],
                    record["epoch"],
                    cfg.train.epochs,
                    record["loss"],
                    record["train_accuracy"],
                    record["num_train"] / max(record["seconds"], 1e-9),
                )

        summary = run_protocol(
            train.inputs,
            y_train,
            evaluation.inputs,
            y_eval,
            task,
            cfg,
            device,
            make_encoder,
            on_epoch,
            source=train.source,
        )

    title = {
        "features": f"frozen {'+'.join(groups)} features of {train.source}",
        "checkpoint": f"{mode} {'+'.join(groups)} encoders of {args.checkpoint}",
        "baseline": f"supervised {args.baseline} ({mode}, {args.resnet_stem} stem)",
    }[kind]
    text = summary_table(summary, title)
    attr = per_attribute_table(summary)
    if attr:
        text += "\n\n" + attr
        write_per_attribute_csv(args.output_dir / "per_attribute.csv", summary)
    print(text)
    atomic_write_text(args.output_dir / "results.txt", text + "\n")
    command = ["classification/run_trainer.py", *argv] if argv is not None else None
    write_results(args.output_dir / "results.json", summary, inputs, command, options)
    log.info("results written to %s", args.output_dir)
    return 0


def _parse_groups(value: str) -> list[str]:
    """``--groups`` for a checkpoint: scene parameters, comma-separated, or ``all``."""
    groups = [g.strip() for g in value.split(",") if g.strip()]
    if groups == ["all"]:
        return list(SCENE_GROUPS)
    unknown = [g for g in groups if g not in SCENE_GROUPS]
    if unknown or not groups:
        raise UserError(
            f"--groups {value}: unknown group(s) {unknown or groups}; "
            f"choose from {','.join(SCENE_GROUPS)} or all"
        )
    return list(dict.fromkeys(groups))


if __name__ == "__main__":
    sys.exit(cli_main(main))
