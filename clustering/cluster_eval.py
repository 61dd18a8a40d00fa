"""Clustering evaluation of a feature file: the paper's ward-HAC protocol, or FINCH.

    python clustering/cluster_eval.py features.npz [--groups depth,albedo] [--standardize]
    python clustering/cluster_eval.py features.npz --runs 10 --subsample 1000 --seed 0
    python clustering/cluster_eval.py features.npz --method finch

Reads the project's feature `.npz` (or the paper's ``feats``/``features`` + ``labels`` layout; a
pickled `.npy` dict only with ``--allow-pickle``), averages per track when the file has
``track_ids``, clusters, prints a table and writes ``<stem>_cluster_<method>.json`` next to the
input (or in ``--output_dir``, or at ``--output``) with the metrics, the input's sha256 and the
options; an existing results file is replaced only with ``--overwrite``. The protocol and the
metrics are documented in clustering/README.md.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clustering.protocol import (
    METHODS,
    ProtocolOptions,
    as_columns,
    prepare_units,
    run_protocol,
)
from clustering.report import format_table
from evalkit import HAC_BACKENDS
from unsup3d import cli
from unsup3d.api import UserError, load_features

log = logging.getLogger("cluster_eval")

PROG = "clustering/cluster_eval.py"


# What --output_dir, --output and --seed mean here (the kit's help for the others).
SHARED_HELP = {
    "output_dir": "folder for <stem>_cluster_<method>.json (default: the input's folder)",
    "output": "exact path of the results JSON (overrides --output_dir)",
    "seed": "seed of run 0; run r uses seed + r",
}


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags(
        "output_dir", "output", "overwrite", "seed", "verbose", helps=SHARED_HELP
    )
    parser = cli.ArgumentParser(
        description="Cluster a feature file with ward HAC (the paper's protocol) or FINCH and "
        "score the clusters against its labels.",
        parents=[shared],
    )
    parser.add_argument(
        "features",
        help="feature file: .npz from `run.py extract`, or the paper's .npz (feats + labels)",
    )
    parser.add_argument(
        "--groups",
        default=None,
        help="feature groups to concatenate, comma-separated, or 'all' "
        "(default: depth,albedo as in the paper)",
    )
    parser.add_argument(
        "--allow_pickle",
        action="store_true",
        help="read a pickled .npy dict; unpickling runs code, so only for files you made",
    )
    parser.add_argument(
        "--attributes",
        default=None,
        help="label columns to score, comma-separated names or 0-based indices "
        "(default: all, e.g. CelebA's 40 attributes)",
    )
    parser.add_argument(
        "--standardize",
        action="store_true",
        help="z-score every feature dimension before clustering (the paper does not)",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="hac",
        help="hac: ward agglomerative clustering with as many clusters as label values "
        "(paper); finch: every partition of the FINCH hierarchy (needs finch-clust)",
    )
    parser.add_argument(
        "--hac_backend",
        choices=HAC_BACKENDS,
        default="scipy",
        help="scipy: the tree sklearn builds, memory ~8*N^2 bytes (default); fastcluster: "
        "fastcluster's vector method, memory ~N*D, slower",
    )
    parser.add_argument(
        "--tracks",
        choices=("auto", "on", "off"),
        default="auto",
        help="average the features of each track: auto = when track ids exist (default); "
        "on = require them; off = cluster individual samples",
    )
    parser.add_argument(
        "--track_ids",
        default=None,
        help="file with one integer track id per sample (.npy or text, one per line), for "
        "feature files without track_ids",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="repetitions of the protocol (e.g. 10; needs --subsample)",
    )
    parser.add_argument(
        "--subsample",
        type=int,
        default=None,
        help="units (samples or tracks) drawn per run without replacement, e.g. 1000",
    )
    parser.add_argument(
        "--finch_distance",
        choices=("cosine", "euclidean"),
        default="cosine",
        help="FINCH first-neighbour metric (default cosine, FINCH's recommendation)",
    )
    parser.add_argument(
        "--max_memory_gb",
        type=float,
        default=None,
        help="refuse a ward HAC needing more memory than this, in GB "
        "(default: 90%% of the memory available now)",
    )
    return parser


def _select_columns(
    labels: np.ndarray, names: list[str], wanted: str | None, source: str
) -> tuple[np.ndarray, list[str]]:
    labels = as_columns(labels)  # (N,) -> (N, 1)
    if wanted is None:
        return labels, names
    picked: list[int] = []
    for item in (w.strip() for w in wanted.split(",") if w.strip()):
        if item in names:
            picked.append(names.index(item))
        elif item.lstrip("-").isdigit() and 0 <= int(item) < len(names):
            picked.append(int(item))
        else:
            raise UserError(
                f"{source}: unknown label '{item}' in --attributes; this file has "
                f"{', '.join(names)} (or indices 0..{len(names) - 1})"
            )
    if not picked:
        raise UserError(f"--attributes {wanted!r}: no label named; give names or indices")
    picked = list(dict.fromkeys(picked))
    return labels[:, picked], [names[i] for i in picked]


def _read_track_ids(path: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: no such file; give one integer track id per sample")
    try:
        if p.suffix == ".npy":
            ids = np.load(p, allow_pickle=False)
        else:
            ids = np.loadtxt(p, dtype=np.float64, ndmin=1)
    except ValueError as exc:
        raise UserError(f"{path}: cannot read track ids ({exc}); expected integers") from None
    ids = np.asarray(ids).reshape(-1)
    if ids.dtype.kind not in "iuf" or (ids.dtype.kind == "f" and not np.all(ids == np.round(ids))):
        raise UserError(f"{path}: track ids must be integers")
    return ids.astype(np.int64)


def _output_path(args: argparse.Namespace) -> tuple[Path, str]:
    """The results JSON and the flag that chose it (for the overwrite message)."""
    if args.output:
        return Path(args.output), "--output"
    src = Path(args.features)
    folder = Path(args.output_dir) if args.output_dir else src.parent
    return folder / f"{src.stem}_cluster_{args.method}.json", "--output_dir"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    command = cli.command_line(PROG, argv)
    source = args.features
    out, flag = _output_path(args)
    existed = out.exists()
    cli.check_output_file(out, args.overwrite, flag)

    hint = shlex.join(["python", *command, "--allow-pickle"])
    fs = load_features(source, allow_pickle=args.allow_pickle, rerun_hint=hint)
    if fs.labels is None:
        raise UserError(
            f"{source}: no 'labels' array; clustering is scored against ground-truth labels, "
            "so extract features from a labelled split"
        )
    groups = fs.resolve_groups(args.groups, source)
    x = fs.select(groups, source)  # (N, sum of group widths)
    labels, names = _select_columns(fs.labels, list(fs.label_names), args.attributes, source)
    inputs = [source]
    track_ids = fs.track_ids
    if args.track_ids is not None:
        if args.tracks == "off":
            raise UserError("--track_ids with --tracks off: choose one")
        track_ids = _read_track_ids(args.track_ids)
        inputs.append(args.track_ids)
    n_samples = x.shape[0]
    x, labels, unit = prepare_units(x, labels, names, track_ids, args.tracks, source)
    log.info(
        "%s: %d samples -> %d %ss, groups %s (%d dims), %d label column(s), method %s",
        source,
        n_samples,
        x.shape[0],
        unit,
        ",".join(groups),
        x.shape[1],
        len(names),
        args.method,
    )

    max_bytes = None if args.max_memory_gb is None else int(args.max_memory_gb * 1e9)
    options = cli.from_flags(ProtocolOptions, args, max_memory_bytes=max_bytes)
    result = run_protocol(x, labels, names, options, source)
    result = {"unit": unit, "n_samples": n_samples, "groups": groups, **result}
    print(format_table(result))
    cli.write_results(
        out,
        metrics=result,
        inputs=inputs,
        argv=command,
        options={**vars(args), "groups": groups, "attributes": names, "unit": unit},
    )
    print(f"wrote {out}" + (" (replaced the previous results)" if existed else ""))
    return 0


if __name__ == "__main__":
    cli.run(main)
