"""User-facing errors and the CLI wrapper that prints them as one line.

Every bad input (missing file, wrong shape, NaN, unknown key, ...) raises `UserError` with a message
of the form ``<path or key>: <problem>; <fix>``. Entry scripts wrap their ``main`` with `cli_main`,
which prints ``error: <message>`` on stderr and returns exit status 2, without a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence


class UserError(Exception):
    """An error caused by the user's input; its message says what is wrong and how to fix it."""


def cli_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)``; turn a `UserError` into one stderr line and exit status 2.

    Args:
        main: the entry script's ``main(argv) -> int``.
        argv: arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns:
        The exit status: ``main``'s, or 2 on a `UserError`, 130 on Ctrl-C.
    """
    try:
        return main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def setup_logging(verbose: bool = False) -> None:
    """Configure the root logger for an entry script (library modules never do this)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
