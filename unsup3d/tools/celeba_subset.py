"""Write the seeded CelebA evaluation subset as an id list (the paper: 6,000 test images).

    python -m unsup3d.tools.celeba_subset data/celeba data/celeba/attr_eval_6000.txt \
        --split test --count 6000 --seed 0

Images are taken in the order of SHA-256 of ``"<seed>:<file name>"`` among the split's images in
``list_eval_partition.txt`` (no RNG: the list depends only on the file names and the seed), and
written sorted, one ``image_id`` per row. The output may also be given as ``--output``. Pass the
file to the loader as ``build_dataset("celeba", root, "test", 64, ids_file=...)``. (The release
instead kept the first 6,000 sorted files of its own test folder.)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unsup3d import cli
from unsup3d.data.base import hash_order, require_file
from unsup3d.data.celeba import PARTITIONS, celeba_root, read_pairs
from unsup3d.data.idlist import write_id_list
from unsup3d.errors import UserError
from unsup3d.tools import add_output_positional, output_argument, tool_parser


def build_parser() -> cli.ArgumentParser:
    parser = tool_parser(
        "celeba_subset",
        "Write a seeded random subset of a CelebA split as an id list.",
        {
            "output": "id list to write (instead of OUTPUT)",
            "overwrite": None,
            "seed": "subset seed",
        },
    )
    parser.add_argument("root", type=Path, help="CelebA folder holding list_eval_partition.txt")
    add_output_positional(parser, "OUTPUT", "id list to write, e.g. data/celeba/attr_eval_6000.txt")
    splits = sorted(PARTITIONS)
    parser.add_argument("--split", choices=splits, default="test", help="partition (default test)")
    parser.add_argument(
        "--count", type=int, default=6000, help="images in the subset (default 6000, the paper's)"
    )
    return parser


def celeba_subset(root: Path, split: str, count: int, seed: int) -> tuple[list[str], int]:
    """``count`` file names of CelebA's ``split`` partition, chosen by hashed order (`hash_order`).

    Returns:
        (the chosen names, sorted; the number of images in the partition).
    """
    base = celeba_root(root)
    part = read_pairs(
        require_file(
            base / "list_eval_partition.txt", "put CelebA's list_eval_partition.txt there"
        ),
        "0|1|2",
    )
    files = [f for f, p in part.items() if p == PARTITIONS[split]]
    if count < 1 or count > len(files):
        raise UserError(
            f"--count {count}: the '{split}' partition has {len(files)} images; use 1..{len(files)}"
        )
    return sorted(hash_order(files, seed)[:count]), len(files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup_logging(args.verbose)
    output = output_argument(parser, args, "OUTPUT", "--output")
    chosen, total = celeba_subset(args.root, args.split, args.count, args.seed)
    cli.check_output_file(output, args.overwrite)
    # The header names the tool as it was first published, so lists stay byte-identical.
    write_id_list(
        output,
        ("image_id",),
        [(f,) for f in chosen],
        comments=[
            f"unsup3d.data.celeba_subset split={args.split} count={args.count} seed={args.seed}"
        ],
    )
    print(f"{output}: {len(chosen)} of {total} '{args.split}' images")
    return 0


if __name__ == "__main__":
    cli.run(main)
