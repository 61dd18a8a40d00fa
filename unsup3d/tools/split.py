"""Split one folder of images into train/val/test folders, deterministically, and list the split.

    python -m unsup3d.tools.split SRC DST --ratios 0.8 0.1 0.1 --seed 0

Every image under SRC (recursive, image extensions) is assigned to a split by the SHA-256 of
``"<seed>:<relative path>"`` (no RNG, so the result depends only on the file names and the seed),
or, with ``--identity_file``, every identity as a whole. ``DST/<split>/<relative path>`` becomes a
symbolic link to the source file (``--copy`` copies instead); the user's files are never moved,
changed or deleted. ``DST/split_ids.txt`` lists ``split<TAB>path`` for every file, so anyone can
check or reproduce the split: ``--from_ids DST/split_ids.txt`` rebuilds exactly that split from
another copy of the data. DST may also be given as ``--output_dir``.

A non-empty DST is refused unless ``--overwrite``; then only the links/copies listed in the
previous ``DST/split_ids.txt`` are replaced, nothing else in DST is touched.

The paper's UTKFace split: 23,708 images, 80/10/10 → 18,966 / 2,371 / 2,371 with these defaults.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from unsup3d import cli
from unsup3d.data.base import assign_splits, list_images, read_rows
from unsup3d.data.idlist import read_id_list, write_split_list
from unsup3d.errors import UserError
from unsup3d.tools import add_output_positional, output_argument, tool_parser

log = logging.getLogger(__name__)

ID_FILE = "split_ids.txt"


def build_parser() -> cli.ArgumentParser:
    parser = tool_parser(
        "split",
        "Split a folder of images into DST/{train,val,test}/ (links or copies) and write "
        "DST/split_ids.txt; never moves or deletes the source files.",
        {
            "output_dir": "the output dataset folder (instead of DST)",
            "overwrite": "allow a non-empty DST; replaces only what the previous split_ids.txt "
            "there lists",
            "seed": "split seed (the paper's lists use 0)",
        },
    )
    parser.add_argument(
        "src", type=Path, help="folder of images (walked recursively), e.g. a UTKFace download"
    )
    add_output_positional(parser, "DST", "output dataset folder, e.g. data/UTKFace")
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
        "--identity_file",
        type=Path,
        default=None,
        help="'<file name or relative path> <identity>' per line (e.g. CelebA's identity_CelebA.txt): "
        "split by identity, so no identity is in two splits",
    )
    parser.add_argument(
        "--from_ids",
        type=Path,
        default=None,
        help="reproduce the split listed in an existing split_ids.txt instead of computing one",
    )
    parser.add_argument(
        "--copy", action="store_true", help="copy files instead of making symbolic links"
    )
    return parser


def split_names(ratios: Sequence[float], names: Sequence[str] | None) -> list[str]:
    """The split folder names: ``names`` checked (one plain, distinct name per ratio) or the
    defaults (train val test; train test for two ratios)."""
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


def read_identities(path: Path, keys: Sequence[str]) -> dict[str, str]:
    """Identity of each key (relative path) from ``<file> <identity>`` lines, by path or name."""
    if not path.is_file():
        raise UserError(f"{path}: identity file not found; expected '<file> <identity>' per line")
    table: dict[str, str] = {}
    for lineno, fields, line in read_rows(path):
        if len(fields) != 2:
            raise UserError(f"{path}:{lineno}: expected '<file> <identity>', got {line.strip()!r}")
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


def assignment_from_ids(
    ids: Path, src: Path, rel: Sequence[str]
) -> tuple[dict[str, str], list[str], str]:
    """The split an id list records, checked against the files under ``src``.

    Returns:
        ({relative path: split}, split names in list order, how the split was made).
    """
    rows = read_id_list(ids, ("split", "path"))
    have = set(rel)
    missing = [r["path"] for r in rows if r["path"] not in have]
    if missing:
        raise UserError(
            f"{ids}: {len(missing)} listed file(s) are not under {src} (e.g. {missing[0]}); "
            "this copy of the data differs from the one the list was made from"
        )
    assignment = {r["path"]: r["split"] for r in rows}
    order = list(dict.fromkeys(r["split"] for r in rows))
    names = split_names([1.0] * len(order), order)
    if len(rel) > len(assignment):
        log.warning("%s: %d image(s) not in %s are left out", src, len(rel) - len(assignment), ids)
    return assignment, names, f"from {ids.name}"


def seeded_assignment(
    rel: Sequence[str],
    ratios: Sequence[float],
    names: Sequence[str],
    seed: int,
    identities: Path | None,
) -> tuple[dict[str, str], str]:
    """{relative path: split} by hashed order (of files, or of identities), and how."""
    groups = read_identities(identities, rel) if identities else None
    parts = assign_splits(rel, ratios, seed, groups)
    how = f"seed={seed} ratios={','.join(f'{r:g}' for r in ratios)} by={'identity' if groups else 'file'}"
    return {k: names[p] for k, p in zip(rel, parts)}, how


def remove_previous_outputs(dst: Path) -> None:
    """Delete the links/copies a previous split wrote into ``dst`` (its ``split_ids.txt`` lists
    them); nothing else is touched."""
    if not (dst / ID_FILE).is_file():
        return
    for row in read_id_list(dst / ID_FILE, ("split", "path")):
        old = dst / row["split"] / row["path"]
        if old.is_symlink() or old.is_file():
            old.unlink()


def write_split(
    dst: Path,
    sources: Mapping[str, Path],
    assignment: Mapping[str, str],
    names: Sequence[str],
    copy: bool,
    how: str,
) -> dict[str, int]:
    """Link (or copy) each file to ``dst/<split>/<relative path>`` and write ``split_ids.txt``.

    Returns:
        Files per split, in ``names`` order.
    """
    for key in sorted(assignment):
        target = dst / assignment[key] / key
        if target.exists() or target.is_symlink():
            raise UserError(
                f"{target}: already exists and is not listed in {dst / ID_FILE}; move it away or "
                "choose a new output folder"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sources[key].resolve()
        if copy:
            shutil.copy2(source, target)
        else:
            os.symlink(source, target)
    rows = sorted(((s, k) for k, s in assignment.items()), key=lambda r: (names.index(r[0]), r[1]))
    # The header names the tool as it was first published, so lists stay byte-identical.
    return write_split_list(
        dst / ID_FILE, ("split", "path"), rows, f"unsup3d.data.split {how}", names
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup_logging(args.verbose)
    src = args.src
    dst = output_argument(parser, args, "DST", "--output_dir")
    if not src.is_dir():
        raise UserError(f"{src}: folder not found; give the folder that holds all the images")
    src_r, dst_r = src.resolve(), dst.resolve()
    if dst_r == src_r or src_r in dst_r.parents:
        raise UserError(f"{dst}: is inside SRC {src}; choose an output folder outside the source")
    if any(r <= 0 for r in args.ratios):
        raise UserError(f"--ratios {args.ratios}: every ratio must be positive")
    names = split_names(args.ratios, args.names)
    files = list_images(src, "put the images to split there")
    rel = [p.relative_to(src).as_posix() for p in files]
    if args.from_ids is not None:
        assignment, names, how = assignment_from_ids(args.from_ids, src, rel)
    else:
        assignment, how = seeded_assignment(rel, args.ratios, names, args.seed, args.identity_file)
    cli.prepare_output_dir(dst, args.overwrite)
    if args.overwrite:
        remove_previous_outputs(dst)
    counts = write_split(dst, dict(zip(rel, files)), assignment, names, args.copy, how)
    kind = "copies" if args.copy else "links"
    summary = ", ".join(f"{n} {c}" for n, c in counts.items())
    log.info("%s: %d %s (%s) and %s", dst, sum(counts.values()), kind, summary, ID_FILE)
    print(f"{dst}: {summary}; list in {dst / ID_FILE}")
    return 0


if __name__ == "__main__":
    cli.run(main)
