"""Prepare CelebAMask-HQ for the ``celebamask_hq`` loader: class-id masks, split folders, S×S.

    python -m unsup3d.tools.celebamask_prepare data/CelebAMask-HQ data/celebamask64 \
        --partition data/celeba/list_eval_partition.txt --size 64

Input (the CelebAMask-HQ release, plus CelebA's partition list)::

    RAW/CelebA-HQ-img/<idx>.jpg                          1024×1024 faces, idx 0..29999
    RAW/CelebAMask-HQ-mask-anno/<idx // 2000>/<idx:05d>_<part>.png   512×512 binary part masks
    RAW/CelebA-HQ-to-CelebA-mapping.txt                  header, then "idx orig_idx orig_file"
    --partition list_eval_partition.txt                  CelebA's "<orig_file> 0|1|2"

Each mask is composed as the face_parsing scripts' g_mask.py does (parts in the order of
`unsup3d.data.celebamask.CLASSES`, later parts overwrite earlier ones, 0 = background), the image
is resized bilinearly and the mask with nearest to ``--size``, and both go to
``DST/<split>_images/<idx>.png`` and ``DST/<split>_masks/<idx>.png``, the split being the CelebA
partition of the image's original (train 24,183 / val 2,993 / test 2,824), or the one given by
``--ids`` (an id list with columns ``split`` and ``image_id``, e.g. the paper's list if you have
it: the paper reports 24,127 train / 2,885 test, which the public mapping does not reproduce).
``DST/split_ids.txt`` lists every written id; DST may also be given as ``--output_dir``. The
release's files are only read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from unsup3d import cli
from unsup3d.data.base import CorruptImageError, decode_image, read_rows, require_dir, require_file
from unsup3d.data.celeba import read_pairs
from unsup3d.data.celebamask import CLASSES
from unsup3d.data.idlist import read_id_list, write_split_list
from unsup3d.errors import UserError
from unsup3d.tools import add_output_positional, output_argument, tool_parser

PARTITION_NAMES = {0: "train", 1: "val", 2: "test"}
ID_FILE = "split_ids.txt"


def build_parser() -> cli.ArgumentParser:
    parser = tool_parser(
        "celebamask_prepare",
        "Write CelebAMask-HQ as <split>_images/ + <split>_masks/ at S×S for the celebamask_hq "
        "loader. Nothing is drawn at random: --seed is accepted like every folder-writing "
        "command's, and unused.",
        {"output_dir": "output folder (instead of DST)", "overwrite": None, "seed": None},
    )
    parser.add_argument("raw", type=Path, help="the CelebAMask-HQ release folder")
    add_output_positional(parser, "DST", "output folder, e.g. data/celebamask64")
    parser.add_argument("--partition", type=Path, help="CelebA's list_eval_partition.txt")
    parser.add_argument("--ids", type=Path, help="id list (split, image_id) instead of --partition")
    parser.add_argument(
        "--size", type=int, default=64, help="output side in pixels (default 64, the paper's)"
    )
    return parser


def read_mapping(path: Path) -> dict[int, str]:
    """``CelebA-HQ-to-CelebA-mapping.txt`` → {CelebA-HQ idx: original CelebA file name}."""
    table: dict[int, str] = {}
    for lineno, fields, line in read_rows(path):
        if lineno == 1 and not fields[0].isdigit():
            continue  # the header line
        if len(fields) != 3 or not fields[0].isdigit():
            raise UserError(
                f"{path}:{lineno}: expected 'idx orig_idx orig_file', got {line.strip()!r}"
            )
        table[int(fields[0])] = fields[2]
    if not table:
        raise UserError(f"{path}: no 'idx orig_idx orig_file' rows")
    return table


def compose_mask(anno: Path, idx: int) -> np.ndarray | None:
    """Class-id mask (uint8, at the part PNGs' size) of image ``idx``; None if it has no parts."""
    mask: np.ndarray | None = None
    folder = anno / str(idx // 2000)
    for cls, part in enumerate(CLASSES[1:], 1):
        path = folder / f"{idx:05d}_{part}.png"
        if not path.is_file():
            continue
        try:
            img = decode_image(path).convert("L")
        except CorruptImageError as exc:
            raise UserError(f"{exc}; re-extract CelebAMask-HQ-mask-anno") from exc
        if mask is None:
            mask = np.zeros((img.size[1], img.size[0]), dtype=np.uint8)
        elif img.size != (mask.shape[1], mask.shape[0]):
            raise UserError(
                f"{path}: part mask is {img.size[0]}×{img.size[1]} but the other parts of {idx} are "
                f"{mask.shape[1]}×{mask.shape[0]}; re-extract CelebAMask-HQ-mask-anno"
            )
        mask[np.asarray(img) > 127] = cls
    return mask


def split_of_images(
    mapping: Mapping[int, str], ids: Path | None, partition: Path | None
) -> dict[int, str]:
    """{CelebA-HQ idx: split}, from an id list or from CelebA's partition of each original."""
    if ids is not None:
        split_of = {}
        for row in read_id_list(ids, ("split", "image_id")):
            if not row["image_id"].isdigit() or int(row["image_id"]) not in mapping:
                raise UserError(
                    f"{ids}: image_id {row['image_id']!r} is not a CelebA-HQ index in the mapping"
                )
            split_of[int(row["image_id"])] = row["split"]
        return split_of
    if partition is None:
        raise UserError(
            "--partition or --ids: one is needed to assign splits; give CelebA's list_eval_partition.txt"
        )
    part = read_pairs(require_file(partition, "give CelebA's list_eval_partition.txt"), "0|1|2")
    missing = [f for f in mapping.values() if f not in part]
    if missing:
        raise UserError(
            f"{partition}: no partition for {len(missing)} CelebA-HQ originals (e.g. {missing[0]}); "
            "give CelebA's complete list_eval_partition.txt"
        )
    return {i: PARTITION_NAMES.get(part[f], "other") for i, f in mapping.items()}


def write_pairs(
    raw: Path, dst: Path, split_of: Mapping[int, str], size: int
) -> list[tuple[str, str]]:
    """Resize each image and its composed mask into ``dst/<split>_{images,masks}/<idx>.png``.

    Returns:
        (split, idx) of every pair written, in the order of ``split_ids.txt``.
    """
    img_dir = raw / "CelebA-HQ-img"
    anno = raw / "CelebAMask-HQ-mask-anno"
    written: list[tuple[str, str]] = []
    for idx in sorted(split_of):
        split = split_of[idx]
        src = img_dir / f"{idx}.jpg"
        if not src.is_file():
            raise UserError(
                f"{src}: image not found; the release's CelebA-HQ-img/ must be complete"
            )
        try:
            img = decode_image(src).convert("RGB")
        except CorruptImageError as exc:
            raise UserError(f"{exc}; re-extract CelebA-HQ-img") from exc
        mask = compose_mask(anno, idx)
        if mask is None:
            mask = np.zeros((size, size), dtype=np.uint8)
        for folder, picture, resample in (
            ("images", img, Image.BILINEAR),
            ("masks", Image.fromarray(mask), Image.NEAREST),
        ):
            out = dst / f"{split}_{folder}" / f"{idx}.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            picture.resize((size, size), resample).save(out)
        written.append((split, str(idx)))
    order = {"train": 0, "val": 1, "test": 2}
    written.sort(key=lambda r: (order.get(r[0], 3), r[0], int(r[1])))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup_logging(args.verbose)
    dst = output_argument(parser, args, "DST", "--output_dir")
    raw = require_dir(args.raw, "unpack the CelebAMask-HQ release there")
    require_dir(raw / "CelebA-HQ-img", "the release's CelebA-HQ-img/ goes there")
    require_dir(
        raw / "CelebAMask-HQ-mask-anno", "the release's CelebAMask-HQ-mask-anno/ goes there"
    )
    mapping = read_mapping(
        require_file(
            raw / "CelebA-HQ-to-CelebA-mapping.txt", "the release's mapping file goes there"
        )
    )
    if args.size < 1:
        raise UserError(f"--size {args.size}: must be a positive number of pixels")
    split_of = split_of_images(mapping, args.ids, args.partition)
    cli.prepare_output_dir(dst, args.overwrite)
    written = write_pairs(raw, dst, split_of, args.size)
    source = f"ids {args.ids.name}" if args.ids else f"partition {args.partition.name}"
    # The header names the tool as it was first published, so lists stay byte-identical.
    header = f"unsup3d.data.celebamask_prepare size={args.size} from={source}"
    counts = write_split_list(dst / ID_FILE, ("split", "image_id"), written, header)
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"{dst}: {summary} at {args.size}×{args.size}")
    return 0


if __name__ == "__main__":
    cli.run(main)
