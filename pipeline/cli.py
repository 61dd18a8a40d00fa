"""``python pipeline.py CONFIG.yaml [--set section.key=value] [--executor local --jobs N]``."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from pipeline.executors import EXECUTORS, make_executor
from pipeline.report import write_report
from pipeline.scheduler import Outcome, run_graph
from pipeline.settings import load_pipeline_config
from pipeline.stages import plan
from unsup3d import cli

log = logging.getLogger("pipeline")

PROG = "pipeline.py"


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(
        prog=PROG,
        description="Run the experiment pipeline of a config: train, extract features, "
        "evaluate, report. Finished stages are cached; a re-run does only what changed.",
        parents=[
            cli.shared_flags(
                "overrides verbose",
                helps={"overrides": "override a config value, e.g. --set pipeline.seeds=[0,1]"},
            )
        ],
    )
    parser.add_argument(
        "config", type=Path, help="pipeline YAML, e.g. experiments/pipeline_demo.yaml"
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: this machine (default); slurm: not built yet",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="stages run at once (local; each gets cores / jobs torch threads). 1 runs them in "
        "this process (default 1; good: 2 on 2 cores only when the stages are small)",
    )
    parser.add_argument(
        "--dry_run",
        action="store_true",
        help="list the stages and whether each is cached; run none",
    )
    return parser


def _progress(outcome: Outcome, i: int, n: int) -> None:
    if outcome.status == "cached":
        what = f"cached ({outcome.key})"
    elif outcome.status == "done":
        what = f"done in {outcome.seconds:.1f} s"
    elif outcome.status == "failed":
        what = f"failed: {outcome.reason}"
    else:
        what = outcome.reason
    log.info("[%d/%d] %s: %s", i, n, outcome.stage.name, what)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    start = time.perf_counter()
    cfg = load_pipeline_config(args.config, args.overrides)
    output_dir = Path(cfg.pipeline.output_dir)
    stages = plan(cfg)
    executor = make_executor(args.executor, args.jobs)
    log.info("%s: %d stages, output %s, executor %s x %d (%d torch threads each)", args.config,
             len(stages), output_dir, args.executor, executor.slots, executor.threads)  # fmt: skip
    if args.dry_run:
        for s in stages:
            print(f"{s.name}: {s.not_run or 'to run or cached'}")
        executor.shutdown()
        return 0
    outcomes = run_graph(stages, output_dir, executor, on_outcome=_progress)
    wall = time.perf_counter() - start
    readme = write_report(cfg, outcomes, output_dir, cli.command_line(PROG, argv), wall)
    failed = [o for o in outcomes.values() if o.status == "failed"]
    counts = {}
    for o in outcomes.values():
        counts[o.status] = counts.get(o.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{summary} in {wall:.1f} s; report: {readme}")
    for o in failed:
        print(f"error: {o.stage.name}: {o.reason}", flush=True)
    return 1 if failed else 0
