"""Write the seeded CelebA evaluation subset as an id list (the paper: 6,000 test images).

    python -m unsup3d.data.celeba_subset data/celeba data/celeba/attr_eval_6000.txt \
        --split test --count 6000 --seed 0

Images are taken in the order of SHA-256 of ``"<seed>:<file name>"`` among the split's images in
``list_eval_partition.txt`` (no RNG: the list depends only on the file names and the seed), and
written sorted, one ``image_id`` per row. Pass the file to the loader as
``build_dataset("celeba", root, "test", 64, ids_file=...)``. (The release instead kept the first
6,000 sorted files of its own test folder.)
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from unsup3d.data.base import hash_order, require_file
from unsup3d.data.celeba import PARTITIONS, celeba_root, read_pairs
from unsup3d.data.idlist import write_id_list
from unsup3d.cli import cli_main, setup_logging
from unsup3d.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m unsup3d.data.celeba_subset",
        description="Write a seeded random subset of a CelebA split as an id list.",
    )
    parser.add_argument("root", type=Path, help="CelebA folder holding list_eval_partition.txt")
    parser.add_argument(
        "output", type=Path, help="id list to write, e.g. data/celeba/attr_eval_6000.txt"
    )
    parser.add_argument(
        "--split",
        choices=sorted(PARTITIONS),
        default="test",
        help="partition to draw from (default test)",
    )
    parser.add_argument(
        "--count", type=int, default=6000, help="images in the subset (default 6000, the paper's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="subset seed (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    base = celeba_root(args.root)
    part = read_pairs(
        require_file(
            base / "list_eval_partition.txt", "put CelebA's list_eval_partition.txt there"
        ),
        "0|1|2",
    )
    files = [f for f, p in part.items() if p == PARTITIONS[args.split]]
    if args.count < 1 or args.count > len(files):
        raise UserError(
            f"--count {args.count}: the '{args.split}' partition has {len(files)} images; use 1..{len(files)}"
        )
    if args.output.exists() and not args.overwrite:
        raise UserError(f"{args.output}: already exists; pass --overwrite to replace it")
    chosen = sorted(hash_order(files, args.seed)[: args.count])
    write_id_list(
        args.output,
        ("image_id",),
        [(f,) for f in chosen],
        comments=[
            f"unsup3d.data.celeba_subset split={args.split} count={args.count} seed={args.seed}"
        ],
    )
    print(f"{args.output}: {len(chosen)} of {len(files)} '{args.split}' images")
    return 0


if __name__ == "__main__":
    setup_logging()
    raise SystemExit(cli_main(main))
