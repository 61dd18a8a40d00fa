"""Write synthetic faces/cars to disk in the layouts the real loaders read (``docs/synthetic.md``).

    python -m unsup3d.tools.materialize --name synthetic_faces --output_dir data/synthetic_faces \
        --size 64 --splits train val test ood tracks

The layouts, the resume rules and the manifest are described in
`unsup3d.data.synthetic.materialize`, which does the work; ``--out`` is the old spelling of
``--output_dir``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from unsup3d import cli
from unsup3d.data.synthetic import DATASET_NAMES, SPLITS
from unsup3d.data.synthetic.materialize import materialize
from unsup3d.tools import tool_parser
from unsup3d.utils import keep_freed_memory

# The dataset's options, passed to `materialize` by name: (name, type, default, help).
DATASET_OPTIONS = (
    ("noise", float, 1.0, "nuisance scale (1; 0 = none)"),
    ("images_per_identity", int, 10, "consecutive images per identity (10)"),
    ("frames_per_track", int, 10, "frames per track, tracks split (10)"),
    ("track_identities", int, 10, "test identities in the tracks split (10)"),
)


def build_parser() -> cli.ArgumentParser:
    parser = tool_parser(
        "materialize",
        "Write synthetic faces/cars to disk in the layouts the real loaders read (image folders, "
        "CelebA tables, CelebAMask-HQ masks, face tracks, RAF-DB, ShapeNet classes). Re-running "
        "resumes: existing files are skipped.",
        {
            "output_dir": "output folder, e.g. data/synthetic_faces (required)",
            "overwrite": "rewrite existing files (other options allowed)",
            "seed": "dataset seed",
        },
    )
    parser.add_argument("--out", dest="output_dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--name", default="synthetic_faces", choices=DATASET_NAMES, help="dataset")
    parser.add_argument("--size", type=int, default=64, help="image size S in pixels (64)")
    parser.add_argument(
        "--splits", nargs="+", default=["train", "val", "test"], help=f"any of {' '.join(SPLITS)}"
    )
    parser.add_argument(
        "--num_images",
        type=int,
        nargs="+",
        default=None,
        help="images per split: one value, or one per split (default: 20000 train, 1000 others)",
    )
    for name, kind, default, text in DATASET_OPTIONS:
        parser.add_argument(f"--{name}", type=kind, default=default, help=text)
    parser.add_argument(
        "--workers",
        type=int,
        default=min(os.cpu_count() or 1, 8),
        help="rendering processes, one torch thread each (default: CPU count, at most 8)",
    )
    parser.add_argument("--chunk", type=int, default=64, help="images per batched render (64)")
    parser.add_argument("--copy", action="store_true", help="copy images into the other layouts")
    parser.add_argument("--maps", action="store_true", help="store canonical depth/albedo maps")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.output_dir is None:
        parser.error("the following arguments are required: --output_dir")
    cli.setup_logging(args.verbose)
    keep_freed_memory()
    options = {name: getattr(args, name) for name, *_ in DATASET_OPTIONS}
    for name in ("seed", "workers", "chunk", "copy", "maps", "overwrite"):
        options[name] = getattr(args, name)
    result = materialize(
        args.name, args.output_dir, args.size, args.splits, args.num_images, **options
    )
    stats = result["stats"]
    total = sum(v["seconds"] for v in stats.values())
    done = ", ".join(f"{s} {v['images']}" for s, v in stats.items())
    print(f"{args.output_dir}: {done} images in {total:.1f} s")
    return 0


if __name__ == "__main__":
    cli.run(main)
