"""Face segmentation with a U-Net, from random init or with encoders pre-trained by inverse rendering.

    # supervised U-Net from random initialisation (the paper's Table 3, first row)
    python segmentation/run.py --num_train 500 --runs 3
    # the depth ("geometry") encoder of a checkpoint trained with model.encoder: unet
    python segmentation/run.py runs/pretrain_unet_synthetic_faces/last.pt --encoder depth
    # both encoders stacked, kept frozen (the paper's last row)
    python segmentation/run.py CKPT --encoder joint --freeze
    # CelebAMask-HQ: <root>/{train,test}_images/ + {train,test}_masks/ (python -m unsup3d.tools.celebamask_prepare)
    python segmentation/run.py CKPT --data celebamask_hq --data_root data/CelebAMask-HQ

Writes <output_dir>/results.json (per run and mean ± std of mIoU, top-k mIoU, pixel accuracy;
parameter counts; input hashes; command), results.txt (Table 3's layout), per_class_iou.csv,
overlay.png (8 test images: input, ground truth, prediction), metrics.jsonl, tb/ (TensorBoard)
and run_<r>/last.pt (after every epoch; --resume continues). Protocol: segmentation/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from segmentation.data import dataset_name, draw_subset, load_split, open_split
from segmentation.metrics import TOPK, segmentation_scores
from segmentation.pretrained import ENCODERS, read_encoders
from segmentation.report import overlay_png, summarize, table3, write_per_class_csv
from segmentation.train import TrainSettings, evaluate, predict, seeded_variant, train_run
from segmentation.unet import LEVELS
from unsup3d import cli
from unsup3d.api import UserError, git_sha

log = logging.getLogger("segmentation")

PROG = "segmentation/run.py"
OVERLAY_IMAGES = 8


# Per-CLI defaults and help of the shared flags (unsup3d.cli).
SHARED = "output_dir overwrite seed gpu num_workers batch_size verbose"
SHARED_DEFAULTS = {"output_dir": "runs/segmentation", "batch_size": 8}
SHARED_HELPS = {
    "output_dir": "folder for results.json/.txt, per_class_iou.csv, overlay.png, run_<r>/",
    "seed": "first seed; run r uses seed + r (its label subset and its initialisation)",
    "batch_size": "images per step (the release: 8)",
}
# This CLI's own flags: (spelling, argparse keywords with help).
OWN_FLAGS: list[tuple[str, dict[str, Any]]] = [
    ("checkpoint", dict(nargs="?", type=Path, help="run.py checkpoint trained with model.encoder: "
                        "unet (its U-Net encoders); leave out for random init")),
    ("--encoder", dict(choices=tuple(ENCODERS), default="depth", help="pre-trained encoder(s): "
                       "depth (the paper's geometry encoder, default), albedo, or joint (both)")),
    ("--freeze", dict(action="store_true", help="keep the pre-trained encoders fixed")),
    ("--data", dict(default="synthetic_faces", help="dataset registry name with masks: "
                    "synthetic_faces (default) or celebamask_hq (alias celebamask)")),
    ("--data_root", dict(default=None, help="dataset folder (not for synthetic data)")),
    ("--train_split", dict(default="train", help="split to train on (default train)")),
    ("--test_split", dict(default="test", help="split to score (default test)")),
    ("--image_size", dict(type=int, default=64, help="S in pixels, a multiple of 16 (64)")),
    ("--epochs", dict(type=int, default=20, help="epochs over the labelled images (20)")),
    ("--lr", dict(type=float, default=2e-4, help="Adam learning rate (2e-4, betas 0.5/0.999)")),
    ("--num_train", dict(type=int, default=None, help="label budget N, drawn with the seed "
                         "(default all)")),
    ("--num_test", dict(type=int, default=None, help="score the first M test images (default all)")),
    ("--runs", dict(type=int, default=1, help="seeds; reports mean ± std (good: 3)")),
    ("--topk", dict(type=int, default=TOPK, help="k of the top-k mIoU (the paper: 10)")),
    ("--resume", dict(action="store_true", help="continue the runs in a non-empty --output_dir "
                      "from their run_<r>/last.pt")),
    ("--tensorboard", dict(action=argparse.BooleanOptionalAction, default=True,
                           help="TensorBoard scalars in <output_dir>/tb (default on)")),
]  # fmt: skip


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags(SHARED, defaults=SHARED_DEFAULTS, helps=SHARED_HELPS)
    fmt = argparse.RawDescriptionHelpFormatter
    parser = cli.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=fmt, parents=[shared]
    )
    for spelling, kwargs in OWN_FLAGS:
        parser.add_argument(spelling, **kwargs)
    return parser


def _check_args(args: argparse.Namespace) -> None:
    for name, low in (("epochs", 1), ("batch_size", 2), ("runs", 1), ("topk", 1)):
        if getattr(args, name) < low:
            raise UserError(f"--{name} {getattr(args, name)}: must be at least {low}")
    step = 2 ** (LEVELS - 1)
    if args.image_size < step or args.image_size % step:
        raise UserError(f"--image_size {args.image_size}: must be a multiple of {step} (good: 64)")
    for name in ("num_train", "num_test"):
        value = getattr(args, name)
        if value is not None and value < (args.batch_size if name == "num_train" else 1):
            raise UserError(f"--{name} {value}: too small (at least one batch of --batch_size)")
    if not args.lr > 0:
        raise UserError(f"--lr {args.lr}: must be > 0 (good: 2e-4)")
    if args.checkpoint is None and (args.freeze or args.encoder != "depth"):
        raise UserError("--freeze/--encoder: need a checkpoint (the first argument) to load from")
    if args.resume and args.overwrite:
        raise UserError("--resume and --overwrite: pick one (continue the runs, or start afresh)")


def method_name(args: argparse.Namespace) -> str:
    """The row label of Table 3."""
    if args.checkpoint is None:
        return "Supervised (random init)"
    name = {"depth": "Geometry encoder", "albedo": "Albedo encoder", "joint": "Joint encoders"}
    return name[args.encoder] + (" frozen" if args.freeze else "")


class _Tensorboard:
    """Scalars under <out>/tb, when tensorboard is installed and wanted (imported lazily)."""

    def __init__(self, out: Path, enabled: bool) -> None:
        self.writer = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.warning(
                    "tensorboard is not installed: no TensorBoard scalars (pip install tensorboard)"
                )
            else:
                self.writer = SummaryWriter(str(out / "tb"))

    def add(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    _check_args(args)
    data = dataset_name(args.data)
    # A checkpoint that cannot give U-Net encoders is refused before any output.
    states = read_encoders(args.checkpoint, args.encoder) if args.checkpoint else None
    device = cli.device(args.gpu)
    out = cli.prepare_output_dir(args.output_dir, args.overwrite or args.resume)

    train_set, classes = open_split(data, args.data_root, args.train_split, args.image_size)
    test_set, _ = open_split(data, args.data_root, args.test_split, args.image_size)
    n_test = len(test_set) if args.num_test is None else min(args.num_test, len(test_set))
    test = load_split(
        test_set,
        classes,
        np.arange(n_test),
        f"{data}/{args.test_split}",
        num_workers=args.num_workers,
    )
    settings = TrainSettings(args.epochs, args.batch_size, args.lr, args.freeze, args.topk)
    method = method_name(args)
    options: dict[str, Any] = {
        "method": method,
        "checkpoint": str(args.checkpoint) if args.checkpoint else None,
        "encoder": args.encoder if args.checkpoint else None,
        "data": data,
        "data_root": args.data_root,
        "train_split": args.train_split,
        "test_split": args.test_split,
        "image_size": args.image_size,
        "num_train": args.num_train,
        "num_test": n_test,
        "device": str(device),
    }
    log.info("git %s; %s; options %s", git_sha(), method, json.dumps(options))
    tb = _Tensorboard(out, args.tensorboard)
    runs: list[dict[str, Any]] = []
    per_class, counts, majority = [], None, None
    jsonl = (out / "metrics.jsonl").open("a")
    for r in range(args.runs):
        seed = args.seed + r
        idx = draw_subset(len(train_set), args.num_train, seed)
        train = load_split(
            train_set, classes, idx, f"{data}/{args.train_split}", num_workers=args.num_workers
        )
        if train.identities is not None and test.identities is not None:
            shared = np.intersect1d(train.identities, test.identities)
            if shared.size:
                raise UserError(
                    f"--data {data}: {shared.size} identities are in both {args.train_split} and "
                    f"{args.test_split}; use splits with disjoint identities"
                )
        model = seeded_variant(seed, len(classes), states, str(args.checkpoint), args.freeze)
        counts = model.parameter_counts()
        log.info(
            "run %d/%d (seed %d): %d training images, %d test images; %s: %d trainable parameters "
            "of %d (encoders %d, decoder %d)",
            r + 1, args.runs, seed, len(train), len(test), method,
            counts["trainable"], counts["total"], counts["encoders"], counts["decoder"],
        )  # fmt: skip

        def on_epoch(rec: dict[str, Any], r: int = r, seed: int = seed) -> None:
            log.info(
                "run %d epoch %d/%d loss %.4f train pixel acc %.4f | %.1f img/s, ETA %.0f s",
                r + 1, rec["epoch"], args.epochs, rec["loss"], rec["train_pixel_accuracy"],
                rec["images_per_s"], rec["seconds"] * (args.epochs - rec["epoch"]),
            )  # fmt: skip
            jsonl.write(json.dumps({"run": r, "seed": seed, **rec}) + "\n")
            jsonl.flush()
            for key in ("loss", "train_pixel_accuracy"):
                tb.add(f"run{r}/{key}", rec[key], rec["epoch"])

        t0 = time.perf_counter()
        history = train_run(
            model, train, settings, seed, device, out / f"run_{r}", options,
            resume=args.resume, on_epoch=on_epoch,
        )  # fmt: skip
        scores = evaluate(model, test, device, args.topk)
        seconds = time.perf_counter() - t0
        for key in ("miou", "topk_miou", "pixel_accuracy"):
            tb.add(f"test/{key}", scores[key], r)
        log.info(
            "run %d: mIoU %.4f, top-%d mIoU %.4f, pixel accuracy %.4f (%.0f s)",
            r + 1, scores["miou"], args.topk, scores["topk_miou"], scores["pixel_accuracy"], seconds,
        )  # fmt: skip
        per_class.append(scores["per_class_iou"])
        runs.append(
            {
                "seed": seed,
                "num_train": len(train),
                **{k: scores[k] for k in ("miou", "topk_miou", "pixel_accuracy")},
                "per_class_iou": scores["per_class_iou"],
                "final_loss": history[-1]["loss"],
                "seconds": seconds,
            }
        )
        if r == 0:
            # The majority-class reference: the training labels' most frequent class everywhere.
            counts_c = np.bincount(train.masks.flatten().numpy(), minlength=256)[: len(classes)]
            major = int(counts_c.argmax())
            majority = segmentation_scores(
                np.full(test.masks.shape, major), test.masks, len(classes), args.topk
            )
            majority["class"] = classes[major]
            pick = np.linspace(0, len(test) - 1, min(OVERLAY_IMAGES, len(test))).round().astype(int)
            pick_t = list(pick)
            overlay_png(
                out / "overlay.png",
                test.images[pick_t],
                test.masks[pick_t],
                predict(model, test.images[pick_t], device),
            )
    jsonl.close()
    tb.close()

    summary = summarize(runs)
    reference = {
        k: {"mean": majority[k], "std": 0.0} for k in ("miou", "topk_miou", "pixel_accuracy")
    }
    text = table3(
        [(method, summary), (f"majority class ({majority['class']})", reference)], args.topk
    )
    print(text)
    (out / "results.txt").write_text(text + "\n")
    write_per_class_csv(out / "per_class_iou.csv", classes, per_class)
    metrics = {
        "method": method,
        "runs": runs,
        **summary,
        "majority_class": {
            k: majority[k] for k in ("class", "miou", "topk_miou", "pixel_accuracy")
        },
        "parameters": counts,
        "class_names": list(classes),
    }
    inputs = [args.checkpoint] if args.checkpoint else []
    options.update(seed=args.seed, runs=args.runs, epochs=args.epochs, batch_size=args.batch_size,
                   lr=args.lr, freeze=args.freeze, topk=args.topk)  # fmt: skip
    cli.write_results(out / "results.json", metrics, inputs, cli.command_line(PROG, argv), options)
    log.info("results written to %s", out)
    return 0


if __name__ == "__main__":
    cli.run(main)
