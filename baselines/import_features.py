"""Import features computed elsewhere (StyleGAN2 W+, Retrieve-in-Style) as a project feature file.

    python baselines/import_features.py wplus.npy --labels identity.txt --output stylegan2.npz
    python baselines/import_features.py ris.npz --key s --labels attrs.csv --output ris_s.npz \\
        --group_sizes s=9088
    python baselines/import_features.py wplus.npy --labels ids.npy --output w.npz \\
        --group_sizes coarse=2048,middle=2048,fine=5120 --track_ids tracks.txt

The weights of StyleGAN2, e4e and Retrieve-in-Style cannot be fetched here, so their features are
computed with the public code on another machine (``baselines/README.md`` says how) and handed
over as one numeric array: ``(N, D)``, or ``(N, A, B)`` flattened row-major to ``(N, A * B)``
(W+ ``(N, 18, 512)`` -> 9,216-d; RIS S-space 9,088-d; RIS part mask ``(N, 8, 9088)`` ->
72,704-d). This script checks it (numeric, finite, one label row per sample) and writes the
project's feature ``.npz`` (`unsup3d.api.save_features`): one group ``features_<name>`` (default
name ``features``), or several cut from the columns in order with ``--group_sizes``. The labels,
optional track ids and image ids are checked against N. ``meta`` records the provenance: each
input file's path and sha256, the array key and shape, the command and the git SHA.

Nothing here runs a model: the features are whatever the array holds.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unsup3d import cli
from unsup3d.api import FeatureSet, UserError, git_sha, save_features, sha256_file

log = logging.getLogger("import_features")

PROG = "baselines/import_features.py"
LABEL_SUFFIXES = (".npy", ".npz", ".csv", ".txt")
_GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

SHARED_HELP = {
    "output": "the feature file to write (.npz), e.g. runs/stylegan2/features_test.npz",
    "overwrite": "replace an existing --output",
}


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags("output", "overwrite", "verbose", helps=SHARED_HELP)
    parser = cli.ArgumentParser(
        description="Convert features computed elsewhere (StyleGAN2 W+, Retrieve-in-Style "
        "S-space or part masks) into the project's feature file format.",
        parents=[shared],
    )
    parser.add_argument(
        "array",
        help="the features: a numeric .npy, or a .npz (one array, or pick it with --key); "
        "shape (N, D), or (N, A, B) flattened to (N, A*B), e.g. W+ (N, 18, 512)",
    )
    parser.add_argument(
        "--key",
        default=None,
        help="the array to read from a .npz holding several (e.g. w_plus)",
    )
    parser.add_argument(
        "--labels",
        required=True,
        help="one label row per sample, in the array's order: .npy/.npz integers (N,) or (N, A); "
        ".txt whitespace-separated integers, one row per line; .csv comma-separated integers, "
        "an optional header row naming the columns (e.g. CelebA attributes)",
    )
    parser.add_argument(
        "--label_names",
        default=None,
        help="comma-separated names of the label columns (default: the .csv header, else "
        "'label' for one column, attr_0, attr_1, ... for several)",
    )
    parser.add_argument(
        "--group_sizes",
        default=None,
        metavar="NAME=DIM,...",
        help="cut the columns into named groups, in order; the sizes must sum to the width, "
        "e.g. coarse=2048,middle=2048,fine=5120 for W+ (default: one group, see --group)",
    )
    parser.add_argument(
        "--group",
        default="features",
        help="name of the single group when --group_sizes is not given, e.g. w_plus "
        "(default features; written as features_<name>)",
    )
    parser.add_argument(
        "--track_ids",
        default=None,
        help="one integer track id per sample (.npy, or text with one per line), for per-track "
        "averaging in clustering/cluster_eval.py",
    )
    parser.add_argument(
        "--image_ids",
        default=None,
        help="one image id per sample (text, one per line, e.g. the file names; or a .npy of str)",
    )
    parser.add_argument(
        "--source_model",
        default="imported",
        help="what computed the features, recorded in meta (e.g. stylegan2_e4e_wplus, "
        "ris_s_space, ris_part_mask)",
    )
    parser.add_argument(
        "--allow_pickle",
        action="store_true",
        help="read an object (pickled) .npy/.npz; unpickling runs code, so only for files you made",
    )
    return parser


# --------------------------------------------------------------------------------------------
# Reading arrays


def _check_file(path: str, fix: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: no such file; {fix}")
    return p


def _pickle_refusal(path: Path, argv_hint: str) -> UserError:
    return UserError(
        f"{path}: holds object (pickled) arrays, and unpickling runs code; if you made this file "
        f"yourself, re-run with {argv_hint}, or re-save it as a plain array: "
        f"np.save('{path.with_suffix('.npy')}', np.asarray(x, dtype=np.float32))"
    )


def _load_arrays(path: Path, allow_pickle: bool) -> dict[str, Any]:
    """The arrays of a .npy (key ``""``) or .npz; a pickled 0-d dict is opened as its items."""
    try:
        if path.suffix == ".npz" or zipfile.is_zipfile(path):
            with np.load(path, allow_pickle=allow_pickle) as npz:
                return {k: npz[k] for k in npz.files}
        arr = np.load(path, allow_pickle=allow_pickle)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise _pickle_refusal(path, "--allow_pickle") from None
        raise UserError(
            f"{path}: not a readable .npy/.npz ({exc}); re-save it with np.save"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(
            f"{path}: not a readable .npy/.npz ({exc.__class__.__name__}); re-save it with np.save"
        ) from None
    if arr.dtype == object and arr.shape == () and isinstance(arr.item(), Mapping):
        return {str(k): v for k, v in arr.item().items()}
    return {"": arr}


def _pick(arrays: Mapping[str, Any], key: str | None, path: Path, flag: str) -> tuple[Any, str]:
    if key is not None:
        if key not in arrays:
            raise UserError(
                f"{path}: no array {key!r}; it holds {', '.join(sorted(arrays)) or 'nothing'}; "
                f"pick one with {flag}"
            )
        return arrays[key], key
    if len(arrays) != 1:
        raise UserError(
            f"{path}: holds {len(arrays)} arrays ({', '.join(sorted(arrays)) or 'none'}); "
            f"pick one with {flag}"
        )
    return next(iter(arrays.values())), next(iter(arrays))


def _numeric(arr: Any, path: Path, what: str) -> np.ndarray:
    """``arr`` as a numeric ndarray (an object array's items converted), or a `UserError`."""
    arr = np.asarray(arr)
    if arr.dtype == object:
        try:
            arr = np.asarray(arr.tolist(), dtype=np.float64)
        except (ValueError, TypeError):
            raise UserError(
                f"{path}: the {what} are Python objects that are not one rectangular numeric "
                "array; re-save them as a float32 (N, D) array"
            ) from None
    if arr.dtype.kind not in "fiub":
        raise UserError(
            f"{path}: the {what} have dtype {arr.dtype}; expected numbers (float32 (N, D))"
        )
    return arr


def read_features(path: str, key: str | None, allow_pickle: bool) -> tuple[np.ndarray, str, tuple]:
    """The feature array of ``path``, flattened to float32 (N, D) and checked.

    Args:
        path: a .npy or .npz. key: the .npz array to read (None: its only array).
        allow_pickle: permit object arrays (unpickling runs code).

    Returns:
        (features float32 (N, D), the key read, the array's original shape).

    Raises:
        UserError: missing/unreadable file, object arrays without ``allow_pickle``, several
            arrays without ``key``, a non-numeric dtype, a shape other than (N, D) or (N, A, B),
            no rows, or NaN/inf values (how many rows, and the first).
    """
    p = _check_file(path, "give the .npy/.npz of features computed elsewhere")
    arr, key_read = _pick(_load_arrays(p, allow_pickle), key, p, "--key")
    arr = _numeric(arr, p, "features")
    shape = tuple(arr.shape)
    if arr.ndim not in (2, 3) or 0 in shape:
        hint = " (images? give features)" if arr.ndim == 4 else ""
        raise UserError(
            f"{p}: features have shape {shape}{hint}; expected (N, D) or (N, A, B) with N, D > 0, "
            "e.g. W+ as (N, 18, 512) or (N, 9216)"
        )
    feats = np.ascontiguousarray(arr.reshape(shape[0], -1), dtype=np.float32)  # (N, A*B)
    bad = ~np.isfinite(feats).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise UserError(
            f"{p}: NaN/inf in {int(bad.sum())} of {shape[0]} rows (first: row {first}); "
            "recompute those samples' features, or drop the rows and their labels"
        )
    return feats, key_read, shape


def _read_text_table(p: Path, comma: bool) -> tuple[np.ndarray, list[str]]:
    """Rows of integers; a first row that is not all numbers is a header (its names)."""
    lines = [ln.strip() for ln in p.read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    rows = [[c.strip() for c in (ln.split(",") if comma else ln.split())] for ln in lines]
    header: list[str] = []

    def numeric(cells: list[str]) -> bool:
        try:
            [float(c) for c in cells]
        except ValueError:
            return False
        return True

    if rows and not numeric(rows[0]):
        header, rows = rows[0], rows[1:]
    for i, row in enumerate(rows):
        if not numeric(row):
            raise UserError(
                f"{p}: line {i + 1 + bool(header)} is not all numbers ({','.join(row)[:60]}); "
                "expected integer labels"
            )
        if len(row) != len(rows[0]):
            raise UserError(
                f"{p}: line {i + 1 + bool(header)} has {len(row)} columns, the first row "
                f"{len(rows[0])}; give every sample the same label columns"
            )
    if header and rows and len(header) != len(rows[0]):
        raise UserError(
            f"{p}: the header names {len(header)} columns but the rows have {len(rows[0])}"
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1), header


def read_labels(path: str, allow_pickle: bool) -> tuple[np.ndarray, list[str]]:
    """Integer labels (N,) or (N, A) and the column names a .csv header gives (else []).

    Raises:
        UserError: missing file, unknown suffix, non-integer or non-finite values, bad shape.
    """
    p = _check_file(path, "give one label row per sample (.npy, .npz, .csv or .txt)")
    if p.suffix not in LABEL_SUFFIXES:
        raise UserError(
            f"{p}: unknown label file type {p.suffix!r}; use {', '.join(LABEL_SUFFIXES)}"
        )
    names: list[str] = []
    if p.suffix in (".npy", ".npz"):
        arrays = _load_arrays(p, allow_pickle)
        key = "labels" if p.suffix == ".npz" and "labels" in arrays else None
        labels = _numeric(
            _pick(arrays, key, p, "a .npz with one array or a 'labels' array")[0], p, "labels"
        )
    else:
        labels, names = _read_text_table(p, comma=p.suffix == ".csv")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim not in (1, 2) or labels.shape[0] == 0:
        raise UserError(f"{p}: labels have shape {labels.shape}; expected (N,) or (N, A), N > 0")
    if labels.dtype.kind == "f" and (
        not np.isfinite(labels).all() or not np.all(labels == np.round(labels))
    ):
        raise UserError(f"{p}: labels are not all whole numbers; give integer class ids")
    return labels.astype(np.int64), names


def read_track_ids(path: str, allow_pickle: bool) -> np.ndarray:
    """Integer track ids (N,) from a .npy or a text file with one per line."""
    p = _check_file(path, "give one integer track id per sample")
    if p.suffix in (".npy", ".npz"):
        ids = _numeric(
            _pick(_load_arrays(p, allow_pickle), None, p, "a single array")[0], p, "track ids"
        )
    else:
        ids, _ = _read_text_table(p, comma=p.suffix == ".csv")
    ids = ids.reshape(-1)
    if ids.dtype.kind == "f" and not np.all(ids == np.round(ids)):
        raise UserError(f"{p}: track ids are not all whole numbers; give integer track ids")
    return ids.astype(np.int64)


def read_image_ids(path: str) -> np.ndarray:
    """Image ids (N,) as str: a text file with one per line, or a .npy of strings."""
    p = _check_file(path, "give one image id per sample, one per line")
    if p.suffix == ".npy":
        arr = _pick(_load_arrays(p, False), None, p, "a single array")[0]
        return np.asarray([str(v) for v in np.asarray(arr).reshape(-1)], dtype=np.str_)
    lines = [ln.strip() for ln in p.read_text().splitlines()]
    return np.asarray([ln for ln in lines if ln], dtype=np.str_)


# --------------------------------------------------------------------------------------------
# Groups


def parse_group_sizes(spec: str) -> dict[str, int]:
    """``"a=2048,b=7168"`` -> {"a": 2048, "b": 7168} (order kept).

    Raises:
        UserError: a malformed item, a bad or repeated name, a size that is not a positive int.
    """
    out: dict[str, int] = {}
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items:
        raise UserError("--group_sizes: empty; give NAME=DIM,... e.g. w_plus=9216")
    for item in items:
        name, eq, size = item.partition("=")
        name, size = name.strip(), size.strip()
        if not eq or not name or not size:
            raise UserError(f"--group_sizes: {item!r} is not NAME=DIM; e.g. s=9088,mask=72704")
        check_group_name(name, "--group_sizes")
        if name in out:
            raise UserError(f"--group_sizes: group {name!r} is given twice; name each group once")
        if not size.isdigit() or int(size) == 0:
            raise UserError(f"--group_sizes: {item!r}: the size must be a positive integer")
        out[name] = int(size)
    return out


def check_group_name(name: str, flag: str) -> None:
    if not _GROUP_NAME.match(name):
        raise UserError(
            f"{flag}: group name {name!r} must start with a letter and hold only letters, digits "
            "and _ (it becomes the key features_<name>)"
        )


def split_groups(
    feats: np.ndarray, sizes: Mapping[str, int], source: str, shape: tuple
) -> dict[str, np.ndarray]:
    """Cut (N, D) into consecutive column blocks of ``sizes`` (must sum to D)."""
    width = feats.shape[1]
    total = sum(sizes.values())
    if total != width:
        given = ",".join(f"{k}={v}" for k, v in sizes.items())
        raise UserError(
            f"--group_sizes {given}: sizes sum to {total}, but {source} has {width} columns "
            f"(shape {shape} flattened); make the sizes sum to {width}"
        )
    out, start = {}, 0
    for name, size in sizes.items():
        out[name] = feats[:, start : start + size]
        start += size
    return out


# --------------------------------------------------------------------------------------------


def _rows(n: int, other: np.ndarray, path: str, what: str, array: str) -> None:
    """``other`` must have one row per sample of the feature array."""
    if other.shape[0] != n:
        raise UserError(
            f"{path}: {other.shape[0]} {what} for the {n} samples of {array}; "
            "give exactly one per sample, in the array's order"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.output is None:
        raise UserError("--output: required; name the feature file to write, e.g. stylegan2.npz")
    if Path(args.output).suffix != ".npz":
        raise UserError(f"--output {args.output}: must end in .npz (a feature file)")
    if args.group_sizes is not None:
        sizes = parse_group_sizes(args.group_sizes)
    else:
        check_group_name(args.group, "--group")
        sizes = None
    output = cli.check_output_file(args.output, args.overwrite)
    feats, key, shape = read_features(args.array, args.key, args.allow_pickle)
    n = feats.shape[0]
    labels, header = read_labels(args.labels, args.allow_pickle)
    _rows(n, labels, args.labels, "label rows", args.array)
    cols = 1 if labels.ndim == 1 else labels.shape[1]
    if args.label_names is not None:
        names = [s.strip() for s in args.label_names.split(",") if s.strip()]
        if len(names) != cols:
            raise UserError(
                f"--label_names: {len(names)} names for {cols} label column(s) in {args.labels}"
            )
    else:
        names = header or (["label"] if cols == 1 else [f"attr_{i}" for i in range(cols)])
    track_ids = image_ids = None
    inputs = {"features": args.array, "labels": args.labels}
    if args.track_ids is not None:
        track_ids = read_track_ids(args.track_ids, args.allow_pickle)
        _rows(n, track_ids, args.track_ids, "track ids", args.array)
        inputs["track_ids"] = args.track_ids
    if args.image_ids is not None:
        image_ids = read_image_ids(args.image_ids)
        _rows(n, image_ids, args.image_ids, "image ids", args.array)
        inputs["image_ids"] = args.image_ids
    groups = (
        split_groups(feats, sizes, args.array, shape) if sizes is not None else {args.group: feats}
    )
    hashes = {role: sha256_file(path) for role, path in inputs.items()}
    meta = {
        "imported": True,
        "source_model": args.source_model,
        "source": str(args.array),
        "source_sha256": hashes["features"],
        "inputs": {  # every input file (the features' included), for provenance
            role: {"path": str(path), "sha256": hashes[role]} for role, path in inputs.items()
        },
        "source_key": key,
        "source_shape": list(shape),
        "group_sizes": {g: int(a.shape[1]) for g, a in groups.items()},
        "command": cli.command_line(PROG, argv),
        "git_sha": git_sha(),
    }
    fs = FeatureSet(
        features=groups,
        labels=labels,
        label_names=names,
        track_ids=track_ids,
        image_ids=image_ids,
        meta=meta,
    )
    save_features(output, fs)
    widths = ", ".join(f"{g} {a.shape[1]}" for g, a in groups.items())
    print(f"wrote {output}: {n} samples; groups {widths}; labels {', '.join(names)}")
    return 0


if __name__ == "__main__":
    cli.run(main)
