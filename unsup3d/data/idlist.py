"""Id-list files: the plain-text tables the split tools write and the loaders read.

Format (UTF-8)::

    # any number of comment lines (tool, seed, ratios, counts)
    split<TAB>path                 <- header: the column names
    train<TAB>20_1_0_2017....jpg   <- one row per item, tab-separated, no quoting
    ...

Rows are written in a fixed order (the tools sort them), so two users who run a tool on the same
files get byte-identical lists, and ``diff`` shows any difference.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from unsup3d.errors import UserError
from unsup3d.utils import atomic_write_text


def write_id_list(
    path: str | os.PathLike,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    comments: Sequence[str] = (),
) -> Path:
    """Write an id list atomically.

    Args:
        path: the file to write (parent folders are created).
        columns: column names (no tabs).
        rows: one sequence of ``len(columns)`` values per item; values may not contain tabs or
            newlines.
        comments: lines written first, each prefixed with ``# ``.

    Returns:
        The path written.
    """
    lines = [f"# {c}" for c in comments]
    lines.append("\t".join(columns))
    for row in rows:
        values = [str(v) for v in row]
        if len(values) != len(columns) or any(("\t" in v or "\n" in v) for v in values):
            raise ValueError(f"bad id-list row {row!r} for columns {list(columns)}")
        lines.append("\t".join(values))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)


def write_split_list(
    path: str | os.PathLike,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    header: str,
    splits: Sequence[str] = (),
) -> dict[str, int]:
    """Write an id list whose first column is the split, with a ``counts:`` comment line.

    Args:
        path, columns, rows: as `write_id_list` (``rows`` in their final order).
        header: the first comment line (the tool and its options).
        splits: splits counted first, in this order, even when empty; others follow in the order
            they first appear.

    Returns:
        Items per split, in the order of the ``counts:`` line.
    """
    counts = dict.fromkeys(splits, 0)
    for row in rows:
        counts[str(row[0])] = counts.get(str(row[0]), 0) + 1
    line = "counts: " + " ".join(f"{k}={v}" for k, v in counts.items())
    write_id_list(path, columns, rows, comments=[header, line])
    return counts


def read_id_list(path: str | os.PathLike, required: Sequence[str]) -> list[dict[str, str]]:
    """Read an id list; each row as {column: value}.

    Raises:
        UserError: missing file, no header, a required column missing, a row with the wrong
            number of fields.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: id list not found; write it with the split tool named in docs/datasets.md"
        )
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if header is None:
                header = fields
                missing = [c for c in required if c not in header]
                if missing:
                    raise UserError(
                        f"{path}:{lineno}: id list has columns {header} but needs {list(required)}; "
                        "the first non-comment line names the tab-separated columns"
                    )
                continue
            if len(fields) != len(header):
                raise UserError(
                    f"{path}:{lineno}: {len(fields)} tab-separated fields, expected {len(header)} "
                    f"({', '.join(header)})"
                )
            rows.append(dict(zip(header, fields)))
    if header is None:
        raise UserError(f"{path}: empty id list; expected a header line naming {list(required)}")
    return rows
