"""Split one folder of images into train/val/test folders, deterministically, and list the split.

    python -m unsup3d.data.split SRC DST --ratios 0.8 0.1 0.1 --seed 0

Every image under SRC (recursive, image extensions) is assigned to a split by the SHA-256 of
``"<seed>:<relative path>"`` (no RNG, so the result depends only on the file names and the seed),
or, with ``--identity-file``, every identity as a whole. ``DST/<split>/<relative path>`` becomes a
symbolic link to the source file (``--copy`` copies instead); the user's files are never moved,
changed or deleted. ``DST/split_ids.txt`` lists ``split<TAB>path`` for every file, so anyone can
check or reproduce the split: ``--from-ids DST/split_ids.txt`` rebuilds exactly that split from
another copy of the data.

A non-empty DST is refused unless ``--overwrite``; then only the links/copies listed in the
previous ``DST/split_ids.txt`` are replaced, nothing else in DST is touched.

The paper's UTKFace split: 23,708 images, 80/10/10 → 18,966 / 2,371 / 2,371 with these defaults.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from unsup3d.data.base import assign_splits, list_images
from unsup3d.data.idlist import read_id_list, write_id_list
from unsup3d.cli import cli_main, setup_logging
from unsup3d.errors import UserError

log = logging.getLogger(__name__)

ID_FILE = "split_ids.txt"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m unsup3d.data.split",
        description="Split a folder of images into DST/{train,val,test}/ (links or copies) and "
        "write DST/split_ids.txt; never moves or deletes the source files.",
    )
    parser.add_argument(
        "src", type=Path, help="folder of images (walked recursively), e.g. a UTKFace download"
    )
    parser.add_argument("dst", type=Path, help="output dataset folder, e.g. data/UTKFace")
    parser.add_argument(
        "--ratios",
        type=float,
        nargs="+",
        default=[0.8, 0.1, 0.1],
        help="share of each split, normalised by their sum (default 0.8 0.1 0.1 as the paper)",
    )
    parser.add_argument(
        "--names",
        nargs="+",
        default=None,
        help="split folder names, one per ratio (default train val test; train test for 2 ratios)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="split seed (default 0; the paper's lists use 0)"
    )
    parser.add_argument(
        "--identity-file",
        type=Path,
        default=None,
        help="'<file name or relative path> <identity>' per line (e.g. CelebA's identity_CelebA.txt): "
        "split by identity, so no identity is in two splits",
    )
    parser.add_argument(
        "--from-ids",
        type=Path,
        default=None,
        help="reproduce the split listed in an existing split_ids.txt instead of computing one",
    )
    parser.add_argument(
        "--copy", action="store_true", help="copy files instead of making symbolic links"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="allow a non-empty DST; replaces only what the previous split_ids.txt there lists",
    )
    return parser


def _split_names(ratios: Sequence[float], names: Sequence[str] | None) -> list[str]:
    if names is None:
        if len(ratios) == 3:
            return ["train", "val", "test"]
        if len(ratios) == 2:
            return ["train", "test"]
        raise UserError(f"--ratios {list(ratios)}: give --names for {len(ratios)} splits")
    if len(names) != len(ratios) or len(set(names)) != len(names):
        raise UserError(f"--names {list(names)}: need {len(ratios)} distinct names, one per ratio")
    for n in names:
        if not n or "/" in n or "\\" in n or n in (".", ".."):
            raise UserError(f"--names: '{n}' is not a plain folder name")
    return list(names)


def _read_identities(path: Path, keys: Sequence[str]) -> dict[str, str]:
    if not path.is_file():
        raise UserError(f"{path}: identity file not found; expected '<file> <identity>' per line")
    table: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise UserError(
                    f"{path}:{lineno}: expected '<file> <identity>', got {line.strip()!r}"
                )
            table[fields[0]] = fields[1]
    groups, missing = {}, []
    for key in keys:
        ident = table.get(key, table.get(Path(key).name))
        if ident is None:
            missing.append(key)
        else:
            groups[key] = ident
    if missing:
        raise UserError(
            f"{path}: no identity for {len(missing)} of the {len(keys)} images (e.g. {missing[0]}); "
            "list every image by file name or relative path"
        )
    return groups


def _previous_outputs(dst: Path) -> list[Path]:
    ids = dst / ID_FILE
    if not ids.is_file():
        return []
    return [dst / row["split"] / row["path"] for row in read_id_list(ids, ("split", "path"))]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    src, dst = args.src, args.dst
    if not src.is_dir():
        raise UserError(f"{src}: folder not found; give the folder that holds all the images")
    src_r, dst_r = src.resolve(), dst.resolve()
    if dst_r == src_r or src_r in dst_r.parents:
        raise UserError(f"{dst}: is inside SRC {src}; choose an output folder outside the source")
    if any(r <= 0 for r in args.ratios):
        raise UserError(f"--ratios {args.ratios}: every ratio must be positive")
    names = _split_names(args.ratios, args.names)

    files = list_images(src, "put the images to split there")
    rel = [p.relative_to(src).as_posix() for p in files]
    if args.from_ids is not None:
        rows = read_id_list(args.from_ids, ("split", "path"))
        have = set(rel)
        missing = [r["path"] for r in rows if r["path"] not in have]
        if missing:
            raise UserError(
                f"{args.from_ids}: {len(missing)} listed file(s) are not under {src} (e.g. {missing[0]}); "
                "this copy of the data differs from the one the list was made from"
            )
        assignment = {r["path"]: r["split"] for r in rows}
        names = list(dict.fromkeys(r["split"] for r in rows))
        _split_names([1.0] * len(names), names)
        extra = len(rel) - len(assignment)
        if extra:
            log.warning("%s: %d image(s) not in %s are left out", src, extra, args.from_ids)
        how = f"from {args.from_ids.name}"
    else:
        groups = _read_identities(args.identity_file, rel) if args.identity_file else None
        parts = assign_splits(rel, args.ratios, args.seed, groups)
        assignment = {k: names[p] for k, p in zip(rel, parts)}
        how = f"seed={args.seed} ratios={','.join(f'{r:g}' for r in args.ratios)} by={'identity' if groups else 'file'}"

    if dst.exists() and any(dst.iterdir()):
        if not args.overwrite:
            raise UserError(
                f"{dst}: output folder is not empty; choose a new folder or pass --overwrite "
                f"(which replaces only the files its {ID_FILE} lists)"
            )
        for old in _previous_outputs(dst):
            if old.is_symlink() or old.is_file():
                old.unlink()
    by_path = dict(zip(rel, files))
    made = 0
    for key in sorted(assignment):
        target = dst / assignment[key] / key
        if target.exists() or target.is_symlink():
            raise UserError(
                f"{target}: already exists and is not listed in {dst / ID_FILE}; move it away or "
                "choose a new output folder"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        source = by_path[key].resolve()
        if args.copy:
            shutil.copy2(source, target)
        else:
            os.symlink(source, target)
        made += 1
    rows = sorted(((s, k) for k, s in assignment.items()), key=lambda r: (names.index(r[0]), r[1]))
    counts = {n: sum(1 for s, _ in rows if s == n) for n in names}
    write_id_list(
        dst / ID_FILE,
        ("split", "path"),
        rows,
        comments=[
            f"unsup3d.data.split {how}",
            "counts: " + " ".join(f"{n}={c}" for n, c in counts.items()),
        ],
    )
    log.info(
        "%s: %d %s (%s) and %s",
        dst,
        made,
        "copies" if args.copy else "links",
        ", ".join(f"{n} {c}" for n, c in counts.items()),
        ID_FILE,
    )
    print(
        f"{dst}: " + ", ".join(f"{n} {c}" for n, c in counts.items()) + f"; list in {dst / ID_FILE}"
    )
    return 0


if __name__ == "__main__":
    setup_logging()
    raise SystemExit(cli_main(main))
