"""Running one stage: its CLI calls into a half-written folder, renamed into place when complete.

`run_stage` is what an executor runs, in the pipeline's process or a worker: it takes a
picklable `StageTask` (the stage with its placeholders filled in) and returns a `StageResult`,
never raising for a failure of the stage itself, so one failing stage cannot stop the others.
The stage's CLIs are called in-process through their ``main(argv)`` (no interpreter start-up per
call); their log and printed output go to the stage's log file.

A stage's folder is ``<name>-<key>.partial`` while it runs and is renamed to ``<name>-<key>``
only after every output exists and ``stage.json`` is written: a folder without ``.partial`` is a
finished stage, and a killed pipeline leaves only ``.partial`` folders behind (training resumes
from its own; the others start afresh).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import platform
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from unsup3d import cli
from unsup3d.api import UserError, atomic_write_text, git_sha, sha256_file

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
RECORD = "stage.json"


@dataclass(frozen=True)
class StageTask:
    """A stage ready to run: everything a worker process needs, as plain values.

    Attributes:
        name, key: the stage's name and cache key.
        folder: the finished folder; the stage writes into ``<folder>.partial`` first.
        commands: ``[tool, *argv]`` per call, placeholders filled in with the partial folder.
        outputs: files that must exist in the folder afterwards.
        inputs: upstream files read, path -> SHA-256 (recorded in ``stage.json``).
        resume: keep an interrupted attempt's partial folder (training resumes from it).
        threads: torch threads of this stage (cores / jobs); 0 leaves torch's setting.
        log_file: where the stage's log and printed output go.
    """

    name: str
    key: str
    folder: str
    commands: list[list[str]]
    outputs: list[str]
    inputs: dict[str, str] = field(default_factory=dict)
    resume: bool = False
    threads: int = 0
    log_file: str = ""

    @property
    def partial(self) -> Path:
        return Path(self.folder + ".partial")


@dataclass(frozen=True)
class StageResult:
    """What became of a stage: ``done`` (with its ``stage.json`` record) or ``failed``."""

    name: str
    status: str
    seconds: float
    error: str | None = None
    record: dict | None = None


def tool_main(tool: str) -> Callable[[Sequence[str]], int]:
    """The ``main(argv)`` of a project CLI named as the docs spell it: a package's module
    (``clustering/cluster_eval.py`` -> ``clustering.cluster_eval``) or a top-level script."""
    parts = Path(tool).with_suffix("").parts
    if len(parts) > 1 and (ROOT / parts[0] / "__init__.py").is_file():
        return importlib.import_module(".".join(parts)).main
    return cli.load_script(ROOT / tool, "pipeline_script_" + Path(tool).stem).main


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return first if isinstance(exc, UserError) else f"{type(exc).__name__}: {first}"


@contextlib.contextmanager
def _captured(log_file: Path):
    """Send the root logger, stdout and stderr to ``log_file`` for the duration."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with open(log_file, "a", encoding="utf-8") as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
        root.handlers = [handler]
        root.setLevel(logging.INFO)
        try:
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                yield stream
        finally:
            root.handlers, root.level = saved_handlers, saved_level


def _final_command(argv: list[str], task: StageTask) -> list[str]:
    """A command as recorded: the partial folder's path replaced by the finished one's."""
    return [a.replace(str(task.partial), task.folder) for a in argv]


def run_stage(task: StageTask) -> StageResult:
    """Run ``task``'s commands into its partial folder and rename it into place.

    Returns:
        ``done`` with the ``stage.json`` record, or ``failed`` with a one-line error (the
        traceback of an unexpected exception goes to the stage's log file).
    """
    start = time.perf_counter()
    if task.threads:
        import torch

        torch.set_num_threads(task.threads)
    partial = task.partial
    if partial.exists() and not task.resume:
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    log_file = Path(task.log_file) if task.log_file else partial.with_suffix(".log")
    error = None
    with _captured(log_file) as stream:
        print(f"== {task.name} (key {task.key}), {time.strftime('%Y-%m-%d %H:%M:%S')}", file=stream)
        for tool, *argv in task.commands:
            print(f"$ {tool} {' '.join(argv)}", file=stream)
            try:
                status = tool_main(tool)(argv)
                if status:
                    error = f"{tool}: exited with status {status}"
            except SystemExit as exc:  # argparse rejects its arguments
                error = f"{tool}: exited with status {exc.code} (bad arguments; see {log_file})"
            except Exception as exc:
                traceback.print_exc(file=stream)
                error = f"{tool}: {_one_line(exc)}"
            if error:
                break
        missing = [f for f in task.outputs if not (partial / f).is_file()]
        if error is None and missing:
            error = f"{', '.join(missing)} not written"
        if error:
            print(f"failed: {error}", file=stream)
    seconds = time.perf_counter() - start
    if error:
        return StageResult(task.name, "failed", seconds, error=error)
    record = {
        "name": task.name,
        "key": task.key,
        "commands": [_final_command(c, task) for c in task.commands],
        "inputs": task.inputs,
        "outputs": {f: sha256_file(partial / f) for f in task.outputs},
        "seconds": seconds,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        "git_sha": git_sha(),
        "threads": task.threads,
    }
    atomic_write_text(partial / RECORD, json.dumps(record, indent=2) + "\n")
    try:
        os.replace(partial, task.folder)
    except OSError:  # finished by another pipeline meanwhile: keep that one
        shutil.rmtree(partial, ignore_errors=True)
    return StageResult(task.name, "done", seconds, record=record)


def read_record(folder: str | os.PathLike) -> dict | None:
    """The ``stage.json`` of a finished stage folder, or None when there is none."""
    path = Path(folder) / RECORD
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def result_dict(result: StageResult) -> dict:
    return asdict(result)
