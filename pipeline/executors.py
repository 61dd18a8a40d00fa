"""Executors: where stages run. The scheduler (`pipeline.scheduler`) only submits and polls.

An executor has ``slots`` (how many stages may run at once), ``submit(task) -> handle`` and
``shutdown()``; a handle has ``done()`` and ``result()`` (a `pipeline.runner.StageResult`).
`concurrent.futures.Future` and ``submitit.Job`` both have that shape, so a Slurm executor is
``submitit.AutoExecutor`` behind the same two methods (not built yet; see docs/pipeline.md).

- `InlineExecutor` (``--executor local --jobs 1``): each stage in the pipeline's own process,
  one after the other; no start-up cost.
- `ProcessExecutor` (``--executor local --jobs N``, N > 1): N worker processes (spawned, so no
  torch state is forked), each stage with torch threads = cores / N.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from typing import Protocol

from pipeline.runner import StageResult, StageTask, run_stage
from unsup3d.api import UserError

EXECUTORS = ("local", "slurm")


class Handle(Protocol):
    def done(self) -> bool: ...

    def result(self) -> StageResult: ...


class Executor(Protocol):
    slots: int
    threads: int

    def submit(self, task: StageTask) -> Handle: ...

    def shutdown(self) -> None: ...


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_stage(jobs: int, cores: int | None = None) -> int:
    """Torch threads of each of ``jobs`` parallel stages: cores / jobs, at least 1, at most
    ``OMP_NUM_THREADS`` when that is set (a user's or a cluster's cap)."""
    n = max(1, (cores or available_cores()) // jobs)
    cap = os.environ.get("OMP_NUM_THREADS", "")
    return min(n, int(cap)) if cap.isdigit() and int(cap) > 0 else n


class _Finished:
    """The handle of a stage that already ran."""

    def __init__(self, result: StageResult) -> None:
        self._result = result

    def done(self) -> bool:
        return True

    def result(self) -> StageResult:
        return self._result


class InlineExecutor:
    """Runs each stage in this process when it is submitted."""

    slots = 1

    def __init__(self) -> None:
        self.threads = threads_per_stage(1)

    def submit(self, task: StageTask) -> Handle:
        return _Finished(run_stage(task))

    def shutdown(self) -> None:
        pass


class ProcessExecutor:
    """Runs up to ``jobs`` stages at once in spawned worker processes."""

    def __init__(self, jobs: int) -> None:
        self.slots = jobs
        self.threads = threads_per_stage(jobs)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
        )

    def submit(self, task: StageTask) -> Handle:
        return self._pool.submit(run_stage, task)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(kind: str, jobs: int) -> Executor:
    """The executor of ``--executor`` / ``--jobs``.

    Raises:
        UserError: ``jobs`` < 1, or ``slurm`` (not built yet).
    """
    if jobs < 1:
        raise UserError(f"--jobs {jobs}: must be >= 1, e.g. --jobs 2")
    if kind == "slurm":
        raise UserError(
            "--executor slurm: not built yet (planned: submitit, see docs/pipeline.md); use "
            "--executor local"
        )
    if kind != "local":
        raise UserError(f"--executor {kind}: unknown; use one of {', '.join(EXECUTORS)}")
    return InlineExecutor() if jobs == 1 else ProcessExecutor(jobs)
