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
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from unsup3d.cli import cli_main, setup_logging
from unsup3d.config import load_config
from unsup3d.errors import UserError
from unsup3d.utils import keep_freed_memory, resolve_device

log = logging.getLogger("run")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
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
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set trainer.lr=1e-4 (repeatable)",
    )
    parser.add_argument(
        "--gpu", type=int, default=None, help="CUDA device index; leave out to run on the CPU"
    )
    parser.add_argument(
        "--num_workers",
        type=int,
        default=4,
        help="DataLoader worker processes (good: 4; 0 in tests)",
    )
    parser.add_argument("--seed", type=int, default=None, help="overrides run.seed")
    parser.add_argument(
        "--overwrite", action="store_true", help="train: start afresh in a non-empty run.output_dir"
    )
    parser.add_argument("--checkpoint", type=Path, help="test/extract: the checkpoint (.pt) to use")
    parser.add_argument(
        "--split",
        default="test",
        help="test/extract: dataset split (train, val, test, ood, tracks...)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="extract: the feature .npz to write (default <run>/features_<split>.npz)",
    )
    parser.add_argument(
        "--output_dir",
        type=Path,
        help="test: folder for per-image outputs (default <run>/test_<split>)",
    )
    parser.add_argument(
        "--max_images",
        type=int,
        default=0,
        help="test/extract: stop after this many images (0: all)",
    )
    parser.add_argument("--batch_size", type=int, default=64, help="test/extract: images per batch")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    keep_freed_memory()  # fewer page faults per batch on CPU; DataLoader workers inherit it
    if args.num_workers < 0:
        raise UserError(f"--num_workers {args.num_workers}: must be >= 0")
    device = resolve_device(args.gpu)
    overrides = list(args.overrides) + ([f"run.seed={args.seed}"] if args.seed is not None else [])
    if args.mode == "train":
        from unsup3d.trainer import Trainer

        if args.config is None:
            raise UserError(
                "run.py train: --config is required, e.g. --config experiments/demo.yaml"
            )
        cfg = load_config(args.config, overrides)
        torch.set_float32_matmul_precision("high")
        trainer = Trainer(cfg, device, num_workers=args.num_workers, overwrite=args.overwrite)
        state = trainer.fit()
        log.info(
            "done: %d epochs, %d steps, best validation reconstruction loss %.5f; run dir %s",
            state.epoch,
            state.step,
            state.best_val,
            cfg.run.output_dir,
        )
        return 0
    from unsup3d import evaluate

    if args.checkpoint is None:
        raise UserError(
            f"run.py {args.mode}: --checkpoint is required, e.g. --checkpoint runs/demo/best.pt"
        )
    if args.mode == "extract":
        out = evaluate.extract_features(
            args.checkpoint,
            device,
            split=args.split,
            output=args.output,
            config=args.config,
            overrides=overrides,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            max_images=args.max_images,
        )
        log.info("wrote %s", out)
    else:
        out = evaluate.test(
            args.checkpoint,
            device,
            split=args.split,
            output_dir=args.output_dir,
            config=args.config,
            overrides=overrides,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            max_images=args.max_images,
        )
        log.info("wrote test outputs to %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(cli_main(main))
