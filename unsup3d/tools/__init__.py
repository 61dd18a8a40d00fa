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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from unsup3d import cli

_POSITIONAL_OUTPUT = "positional_output"


def tool_parser(
    tool: str,
    description: str,
    flags: Mapping[str, str | None],
    defaults: Mapping[str, Any] | None = None,
) -> cli.ArgumentParser:
    """The parser of ``python -m unsup3d.tools.<tool>``, holding the shared flags it takes.

    Args:
        tool: the module name, e.g. ``split``.
        description: the ``--help`` description.
        flags: shared flag name (`unsup3d.cli.SHARED_FLAGS`) -> this tool's help text for it, or
            None for the shared one; ``-v/--verbose`` is always added.
        defaults: per-tool defaults of shared flags.
    """
    helps = {name: text for name, text in flags.items() if text}
    shared = cli.shared_flags(*flags, "verbose", defaults=defaults, helps=helps)
    return cli.ArgumentParser(
        prog=f"python -m unsup3d.tools.{tool}", description=description, parents=[shared]
    )


def add_output_positional(parser: argparse.ArgumentParser, metavar: str, text: str) -> None:
    """The optional positional argument naming the output (the spelling the docs used first);
    `output_argument` reads it together with the shared ``--output_dir`` or ``--output``."""
    parser.add_argument(_POSITIONAL_OUTPUT, metavar=metavar, type=Path, nargs="?", help=text)


def output_argument(
    parser: argparse.ArgumentParser, args: argparse.Namespace, metavar: str, flag: str
) -> Path:
    """The output a tool writes, given either as its positional argument or as its flag.

    Args:
        parser: the tool's parser (a missing or doubled output is its usage error, exit 2).
        args: the parsed arguments.
        metavar: the positional argument's name in the usage line, e.g. ``DST``.
        flag: the shared flag, ``--output_dir`` or ``--output``.

    Returns:
        The output path.
    """
    positional, flag_value = getattr(args, _POSITIONAL_OUTPUT), getattr(args, flag[2:])
    if positional is not None and flag_value is not None and positional != flag_value:
        parser.error(f"{metavar} and {flag} name different outputs; give one of them")
    out = positional if positional is not None else flag_value
    if out is None:
        parser.error(f"the output is required: give {metavar} or {flag}")
    return out
