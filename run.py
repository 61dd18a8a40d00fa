"""Train, test and extract features with PDR.

    python run.py --config experiments/train_utkfaces.yaml --gpu 0 --num_workers 4
    python run.py test --checkpoint runs/x/best.pt [--split test] [--output_dir DIR]
    python run.py extract --checkpoint runs/x/best.pt --split test --output feats.npz
    torchrun --nproc_per_node 2 run.py --config ...        (DistributedDataParallel)

Test and extract rebuild the model from the checkpoint alone (its saved config); ``--config`` and
``--set`` there may only change the data section (e.g. another dataset or split to extract).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from unsup3d import cli
from unsup3d.config import load_config
from unsup3d.errors import UserError
from unsup3d.utils import keep_freed_memory

log = logging.getLogger("run")


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags(
        "overrides gpu num_workers seed overwrite output_dir output batch_size verbose",
        defaults={"num_workers": 4, "seed": None},
        helps={
            "seed": "overrides run.seed (default: the config's)",
            "overwrite": "train: start afresh in a non-empty run.output_dir; test/extract: "
            "write into a non-empty --output_dir / replace an existing --output",
            "output_dir": "test: folder for per-image outputs (default <run>/test_<split>)",
            "output": "extract: the feature .npz to write (default <run>/features_<split>.npz)",
            "batch_size": "test/extract: images per batch",
        },
    )
    parser = cli.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[shared],
    )
    parser.add_argument(
        "mode",
        nargs="?",
        default="train",
        choices=["train", "test", "extract"],
        help="what to do (default: train)",
    )
    parser.add_argument(
        "--config", type=Path, help="experiment YAML (train: required), e.g. experiments/demo.yaml"
    )
    parser.add_argument("--checkpoint", type=Path, help="test/extract: the checkpoint (.pt) to use")
    parser.add_argument(
        "--split",
        default="test",
        help="test/extract: dataset split (train, val, test, ood, tracks...)",
    )
    parser.add_argument(
        "--max_images",
        type=int,
        default=0,
        help="test/extract: stop after this many images (0: all)",
    )
    return parser


def train(args, overrides: list[str], device: torch.device) -> None:
    """``run.py train``: fit the config's model into its run directory."""
    from unsup3d.trainer import Trainer

    if args.config is None:
        raise UserError("run.py train: --config is required, e.g. --config experiments/demo.yaml")
    cfg = load_config(args.config, overrides)
    torch.set_float32_matmul_precision("high")
    try:
        state = Trainer(cfg, device, num_workers=args.num_workers, overwrite=args.overwrite).fit()
    finally:
        # Under torchrun, leave the process group explicitly: a gloo group still alive at
        # interpreter exit can abort a rank ("terminate called without an active exception").
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    log.info(
        "done: %d epochs, %d steps, best validation reconstruction loss %.5f; run dir %s",
        state.epoch,
        state.step,
        state.best_val,
        cfg.run.output_dir,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    keep_freed_memory()  # fewer page faults per batch on CPU; DataLoader workers inherit it
    if args.num_workers < 0:
        raise UserError(f"--num_workers {args.num_workers}: must be >= 0")
    device = cli.device(args.gpu)
    overrides = list(args.overrides) + ([f"run.seed={args.seed}"] if args.seed is not None else [])
    if args.mode == "train":
        train(args, overrides, device)
        return 0
    from unsup3d import evaluate

    if args.checkpoint is None:
        raise UserError(
            f"run.py {args.mode}: --checkpoint is required, e.g. --checkpoint runs/demo/best.pt"
        )
    run = evaluate.SplitRun(
        args.checkpoint,
        args.split,
        args.config,
        overrides,
        args.batch_size,
        args.num_workers,
        args.max_images,
        args.overwrite,
    )
    if args.mode == "extract":
        out = evaluate.extract_features(run, device, args.output)
        log.info("wrote %s", out)
    else:
        out = evaluate.test(run, device, args.output_dir)
        log.info("wrote test outputs to %s", out)
    return 0


if __name__ == "__main__":
    cli.run(main)
