"""Data-preparation tools: one command-line program a module, run as ``python -m unsup3d.tools.<name>``.

    split               a folder of images -> train/val/test folders + an id list
    celeba_subset       a seeded subset of a CelebA split as an id list (the paper's 6,000)
    celebamask_prepare  CelebAMask-HQ -> class-id masks in split folders at S x S
    shapenet_classes    the 5-class ShapeNet car subset, by keywords of the metadata table
    materialize         the synthetic data written to disk in the real loaders' layouts
    contact_sheet       the PNG of synthetic samples in docs/

Each is built on the CLI kit (`unsup3d.cli`); the readers and writers they use live in
`unsup3d.data`. The old paths (``python -m unsup3d.data.split`` ...) forward here.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def output_argument(
    parser: argparse.ArgumentParser,
    positional: Path | None,
    flag_value: Path | None,
    name: str,
    flag: str,
) -> Path:
    """The output a tool writes, given either as its positional argument or as its flag.

    Args:
        parser: the tool's parser (a missing or doubled output is its usage error, exit 2).
        positional: the positional argument's value (None when left out).
        flag_value: the flag's value (None when left out).
        name: the positional argument's name in the usage line, e.g. ``DST``.
        flag: the flag, e.g. ``--output_dir``.

    Returns:
        The output path.
    """
    if positional is not None and flag_value is not None and positional != flag_value:
        parser.error(f"{name} and {flag} name different outputs; give one of them")
    out = positional if positional is not None else flag_value
    if out is None:
        parser.error(f"the output is required: give {name} or {flag}")
    return out
