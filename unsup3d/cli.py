"""The CLI kit: what every command-line entry point of the project shares.

One definition of each shared flag (`SHARED_FLAGS`), handed to a CLI as an argparse parent parser
(`shared_flags`), like DINO's ``get_args_parser(add_help=False)``; an `ArgumentParser` that also
accepts the hyphenated spelling of every underscore flag (``--eval-features`` for
``--eval_features``), so ``--help`` shows one spelling and no command a user typed breaks; one
output check (`prepare_output_dir`, `check_output_file`); one results writer (`write_results`)
and the command line it records (`command_line`); a settings dataclass from the flags of the
same names (`from_flags`); and the ``main`` wrapper (`cli_main`, `run`) that prints a
`UserError` as one line.

A CLI is written as::

    def build_parser() -> cli.ArgumentParser:
        parser = cli.ArgumentParser(
            description=..., parents=[cli.shared_flags("output_dir", "overwrite", "seed", "verbose")]
        )
        parser.add_argument("features", help=...)
        return parser

    def main(argv=None) -> int:
        args = build_parser().parse_args(argv)
        cli.setup_logging(args.verbose)
        out = cli.prepare_output_dir(args.output_dir, args.overwrite)
        ...  # call library functions, print
        return 0

    if __name__ == "__main__":
        cli.run(main)
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unsup3d.errors import UserError

__all__ = [
    "SHARED_FLAGS",
    "ArgumentParser",
    "check_output_file",
    "cli_main",
    "command_line",
    "device",
    "from_flags",
    "load_script",
    "prepare_output_dir",
    "run",
    "setup_logging",
    "shared_flags",
    "write_results",
]


@dataclass(frozen=True)
class Flag:
    """One shared flag: its spellings, argparse keywords and help text."""

    spellings: tuple[str, ...]
    kwargs: Mapping[str, Any]
    help: str


SHARED_FLAGS: dict[str, Flag] = {
    "output_dir": Flag(
        ("--output_dir",), {"type": Path, "default": None}, "folder the outputs are written to"
    ),
    "output": Flag(("--output",), {"type": Path, "default": None}, "the file to write"),
    "overwrite": Flag(
        ("--overwrite",),
        {"action": "store_true"},
        "write into a non-empty output folder, or replace an existing output file",
    ),
    "seed": Flag(("--seed",), {"type": int, "default": 0}, "random seed"),
    "gpu": Flag(
        ("--gpu",),
        {"type": int, "default": None, "metavar": "N"},
        "CUDA device index; leave out to run on the CPU (no silent fall-back)",
    ),
    "num_workers": Flag(
        ("--num_workers",),
        {"type": int, "default": 0},
        "DataLoader worker processes (good: 4; 0 loads in the main process)",
    ),
    "batch_size": Flag(("--batch_size",), {"type": int, "default": 64}, "samples per batch"),
    "verbose": Flag(("-v", "--verbose"), {"action": "store_true"}, "debug logging"),
    "overrides": Flag(
        ("--set",),
        {"action": "append", "default": [], "metavar": "SECTION.KEY=VALUE"},
        "override a config value, e.g. --set trainer.lr=1e-4 (repeatable)",
    ),
}


def shared_flags(
    *names: str,
    defaults: Mapping[str, Any] | None = None,
    helps: Mapping[str, str] | None = None,
) -> argparse.ArgumentParser:
    """A parent parser holding the named shared flags, listed once under "shared options".

    Args:
        names: keys of `SHARED_FLAGS`, in the order ``--help`` lists them; an argument may
            hold several separated by spaces (``"output_dir overwrite seed"``).
        defaults: per-CLI defaults (e.g. ``{"num_workers": 4}``); the help shows them.
        helps: per-CLI help text replacing the shared one (e.g. what ``--output_dir`` defaults to).

    Returns:
        ``argparse.ArgumentParser(add_help=False)`` to pass in ``parents=[...]``.
    """
    names = tuple(n for item in names for n in item.split())
    defaults, helps = dict(defaults or {}), dict(helps or {})
    unknown = sorted((set(names) | set(defaults) | set(helps)) - set(SHARED_FLAGS))
    if unknown:
        raise ValueError(f"unknown shared flags {unknown}; known: {sorted(SHARED_FLAGS)}")
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("shared options")
    for name in names:
        flag = SHARED_FLAGS[name]
        kwargs = dict(flag.kwargs)
        if name in defaults:
            kwargs["default"] = defaults[name]
        text = helps.get(name, flag.help)
        if (
            kwargs.get("action") not in ("store_true", "append")
            and kwargs.get("default") is not None
        ):
            text += f" (default {kwargs['default']})"
        group.add_argument(*flag.spellings, dest=name, help=text, **kwargs)
    return parent


def _canonical(option: str) -> str:
    return "--" + option[2:].replace("-", "_")


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` that accepts the hyphenated spelling of every long option.

    ``--help`` shows the underscore spelling (the one declared); ``--eval-features X``,
    ``--eval-features=X`` and ``--no-freeze-norm-stats`` are read as ``--eval_features X``, ...
    Tokens after a bare ``--`` are left alone.
    """

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(self._respelled(args), namespace)

    def _respelled(self, args: list[str]) -> list[str]:
        known = {_canonical(o): o for o in self._option_string_actions if o.startswith("--")}
        out = []
        for i, token in enumerate(args):
            if token == "--":
                return out + args[i:]
            if token.startswith("--") and token not in self._option_string_actions:
                name, eq, value = token.partition("=")
                token = known.get(_canonical(name), name) + eq + value
            out.append(token)
        return out


def prepare_output_dir(
    path: str | os.PathLike, overwrite: bool, flag: str = "--output_dir"
) -> Path:
    """Create the output folder, refusing a non-empty one unless ``overwrite``.

    Args:
        path: the folder. overwrite: the CLI's ``--overwrite``.
        flag: the flag that named the folder, for the message.

    Returns:
        The folder as a `Path` (created).

    Raises:
        UserError: the path is a file, or a non-empty folder without ``overwrite``.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; choose another {flag}")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(
            f"{out}: folder is not empty; pass --overwrite to write into it, or choose another {flag}"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def check_output_file(path: str | os.PathLike, overwrite: bool, flag: str = "--output") -> Path:
    """Refuse to replace an existing output file unless ``overwrite``; create its folder.

    Raises:
        UserError: the path is a folder, or an existing file without ``overwrite``.
    """
    out = Path(path)
    if out.is_dir():
        raise UserError(f"{out}: is a folder; give a file name with {flag}")
    if out.exists() and not overwrite:
        raise UserError(f"{out}: exists; pass --overwrite to replace it, or choose another {flag}")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def command_line(prog: str, argv: Sequence[str] | None = None) -> list[str]:
    """The command that ran, to record in the results and to repeat in a hint.

    Args:
        prog: the script as the docs spell it (``"clustering/cluster_eval.py"``), for a ``main``
            called from Python with its own ``argv`` (a test).
        argv: ``main``'s ``argv``; None means the script's own command line.

    Returns:
        ``sys.argv`` (the program as the user typed it) when ``argv`` is None, else
        ``[prog, *argv]``.
    """
    return list(sys.argv) if argv is None else [prog, *map(str, argv)]


def from_flags(cls: type, args: argparse.Namespace, **resolved: Any) -> Any:
    """A settings dataclass whose fields are the parsed flags of the same names.

    Args:
        cls: the dataclass (e.g. a protocol's options).
        args: the parsed flags; each field of ``cls`` not in ``resolved`` must be one.
        resolved: fields whose value the CLI computes (a unit conversion, a derived default).

    Returns:
        ``cls(**{field: args.<field>}, **resolved)``.
    """
    names = {f.name for f in dataclasses.fields(cls)} - set(resolved)
    return cls(**{name: getattr(args, name) for name in names}, **resolved)


def device(gpu: int | None):
    """The torch device of ``--gpu`` (CPU when None); a missing GPU is a `UserError`."""
    from unsup3d.utils import resolve_device

    return resolve_device(gpu)


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # a torch tensor
        return value.detach().cpu().tolist()
    return value


def write_results(
    path: str | os.PathLike,
    metrics: Mapping[str, Any],
    inputs: Iterable[str | os.PathLike] = (),
    argv: Sequence[str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write an evaluation's results JSON atomically: metrics, input hashes, options, command.

    Args:
        path: the ``<name>.json`` to write.
        metrics: the numbers (nested dicts/lists of numbers and strings; arrays are converted).
        inputs: files the results were computed from; each is recorded with its SHA-256.
        argv: the command line (default ``sys.argv``).
        options: resolved options worth recording (groups, seeds, ...).

    Returns:
        The dict that was written: ``metrics``, ``inputs`` ([{path, sha256}]), ``options``,
        ``command`` and ``git_sha``.
    """
    from unsup3d.utils import atomic_write_text, git_sha, sha256_file

    record = {
        "metrics": _jsonable(metrics),
        "inputs": [{"path": str(p), "sha256": sha256_file(p)} for p in inputs],
        "options": _jsonable(options or {}),
        "command": list(sys.argv if argv is None else argv),
        "git_sha": git_sha(),
    }
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=False) + "\n")
    return record


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


def run(main: Callable[[Sequence[str] | None], int]) -> None:
    """``sys.exit(cli_main(main))``: the last line of every entry script."""
    sys.exit(cli_main(main))


def setup_logging(verbose: bool = False) -> None:
    """Configure the root logger for an entry script (library modules never do this)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def load_script(path: str | os.PathLike, module_name: str | None = None):
    """A script outside the packages (``run.py``, a ``docs/tools`` script) as a module, loaded
    once per process (as ``module_name``, default ``script_<stem>``), so another tool can call
    its ``main([...])`` in-process."""
    path = Path(path)
    name = module_name or f"script_{path.stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses need it while it is executed
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]
