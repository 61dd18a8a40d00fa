"""Running the stage graph: what is cached is reused, the rest goes to the executor.

For each stage whose upstream stages are settled: a stage with a ``not_run`` reason, or whose
upstream failed or did not run, is ``not run`` (with the reason); otherwise its cache key is
computed from its settings, its input files' SHA-256 (read from the upstream ``stage.json``) and
the project version, and a finished folder ``<output>/stages/<name>-<key>`` means ``cached``;
else it is submitted. A failed stage is recorded with its one-line error and the stages that do
not depend on it go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.executors import Executor
from pipeline.runner import StageResult, StageTask, read_record
from pipeline.stages import Stage, project_version, stage_key

log = logging.getLogger(__name__)

OK = ("done", "cached")


@dataclass(frozen=True)
class Outcome:
    """What became of one stage in this pipeline run.

    Attributes:
        status: ``done`` (ran now), ``cached`` (finished before), ``failed`` or ``not run``.
        key, folder: its cache key and finished folder (None when it never got that far).
        reason: the one-line error of a failed stage, the reason of one not run.
        seconds: wall time of this run's attempt (a cached stage: its recorded time).
        record: its ``stage.json`` (commands, input and output hashes, ...).
    """

    stage: Stage
    status: str
    key: str | None = None
    folder: Path | None = None
    reason: str | None = None
    seconds: float = 0.0
    record: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK


def stage_folder(output_dir: Path, stage: Stage, key: str) -> Path:
    return output_dir / "stages" / f"{stage.name}-{key}"


def _fill(text: str, partial: Path, inputs: dict[str, Path]) -> str:
    text = text.replace("{out}", str(partial))
    for name, path in inputs.items():
        text = text.replace(f"{{in:{name}}}", str(path))
    return text


def _blocked(stage: Stage, outcomes: dict[str, Outcome]) -> str | None:
    """Why ``stage`` cannot run because of an upstream stage, or None."""
    for dep in stage.deps:
        up = outcomes[dep]
        if up.status == "failed":
            return f"not run: {dep} failed ({up.reason})"
        if up.status == "not run":
            return up.reason  # the first cause, unchanged: "not run: model ... not registered"
    return None


def _task(
    stage: Stage, key: str, folder: Path, outcomes, output_dir: Path, threads: int
) -> StageTask:
    partial = Path(str(folder) + ".partial")
    paths = {p: outcomes[dep].folder / file for p, (dep, file) in stage.inputs.items()}
    hashes = {str(paths[p]): outcomes[dep].record["outputs"][file]
              for p, (dep, file) in stage.inputs.items()}  # fmt: skip
    commands = [[tool, *(_fill(a, partial, paths) for a in argv)] for tool, argv in stage.commands]
    return StageTask(
        stage.name, key, str(folder), commands, list(stage.outputs), hashes, stage.resume,
        threads, str(output_dir / "logs" / f"{stage.name}.log"),
    )  # fmt: skip


def run_graph(
    stages: Sequence[Stage],
    output_dir: Path,
    executor: Executor,
    on_outcome: Callable[[Outcome, int, int], None] | None = None,
    poll_seconds: float = 0.2,
) -> dict[str, Outcome]:
    """Settle every stage; returns name -> `Outcome` in the order of ``stages``.

    Args:
        stages: the graph, each stage after its upstream stages (`pipeline.stages.plan`).
        output_dir: the pipeline's folder (``stages/``, ``logs/`` below it).
        executor: where stages run (`pipeline.executors`).
        on_outcome: called with each outcome, its index and the number of stages (progress).
    """
    version = project_version()
    outcomes: dict[str, Outcome] = {}
    running: dict[str, tuple[object, str, Path]] = {}
    started: dict[str, float] = {}

    def settle(outcome: Outcome) -> None:
        outcomes[outcome.stage.name] = outcome
        if on_outcome is not None:
            on_outcome(outcome, len(outcomes), len(stages))

    by_name = {s.name: s for s in stages}
    try:
        while len(outcomes) < len(stages):
            progressed = False
            for stage in stages:
                if stage.name in outcomes or stage.name in running:
                    continue
                if any(d not in outcomes for d in stage.deps):
                    continue
                reason = stage.not_run or _blocked(stage, outcomes)
                if reason:
                    settle(Outcome(stage, "not run", reason=reason))
                    progressed = True
                    continue
                hashes = {p: outcomes[dep].record["outputs"][file]
                          for p, (dep, file) in stage.inputs.items()}  # fmt: skip
                key = stage_key(stage, hashes, version)
                folder = stage_folder(output_dir, stage, key)
                record = read_record(folder)
                if record is not None:
                    seconds = float(record.get("seconds", 0.0))
                    settle(Outcome(stage, "cached", key, folder, seconds=seconds, record=record))
                    progressed = True
                    continue
                if len(running) >= executor.slots:
                    continue
                task = _task(stage, key, folder, outcomes, output_dir, executor.threads)
                started[stage.name] = time.perf_counter()
                running[stage.name] = (executor.submit(task), key, folder)
                progressed = True
            for name, (handle, key, folder) in list(running.items()):
                if not handle.done():
                    continue
                del running[name]
                try:
                    result: StageResult = handle.result()
                except Exception as exc:
                    wall = time.perf_counter() - started[name]
                    result = StageResult(name, "failed", wall, error=f"worker died: {exc!r}")
                if result.status == "done":
                    settle(Outcome(by_name[name], "done", key, folder, seconds=result.seconds,
                                   record=result.record))  # fmt: skip
                else:
                    settle(Outcome(by_name[name], "failed", key, None, result.error,
                                   result.seconds))  # fmt: skip
                progressed = True
            if not progressed:
                time.sleep(poll_seconds)
    finally:
        executor.shutdown()
    return {s.name: outcomes[s.name] for s in stages}
