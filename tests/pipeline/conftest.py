"""Fixtures for the pipeline tests: a small slice of pipeline_tiny.yaml and a runner."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pipeline.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "experiments" / "pipeline_tiny.yaml"

# One method, one seed, the fast evaluations: seconds on 2 cores.
MINI = [
    "train.methods=[pdr_LV]",
    "train.method_set=[]",
    "clustering.identity=false",
    "clustering.attributes=[]",
    "finch.enabled=false",
    "probe.labels=[Smiling]",
    "disentangle.enabled=false",
    "invariance.enabled=false",
    "segmentation.enabled=false",
]


def argv(output_dir: Path, *overrides: str, config: Path = TINY) -> list[str]:
    sets = [f"pipeline.output_dir={output_dir}", *overrides]
    return [str(config), *(a for s in sets for a in ("--set", s))]


@pytest.fixture
def run_pipeline():
    """``run_pipeline(out, *overrides, mini=True)`` -> (exit status, report/results.json)."""

    def run(out: Path, *overrides: str, mini: bool = True, extra=()):
        status = main([*argv(out, *(MINI if mini else []), *overrides), *extra])
        text = (out / "report" / "results.json").read_text()
        return status, json.loads(text, parse_constant=_no_constant)

    return run


def _no_constant(name: str):
    raise AssertionError(f"results.json holds {name}: JSON floats only")


@pytest.fixture
def check_cells():
    """``check_cells(results)`` -> the problems of the report's cells (see `_check_cells`)."""
    return _check_cells


def _check_cells(results: dict) -> list[str]:
    """Every cell is a finite number with its sources, or a 'not run: '/'failed: ' reason;
    returns the problems."""
    bad = []
    for tid, table in results["tables"].items():
        for method, row in table["rows"].items():
            for col, cell in row.items():
                where = f"{tid}/{method}/{col}"
                if isinstance(cell, str):
                    word, _, reason = cell.partition(": ")
                    if word not in ("not run", "failed") or not reason.strip():
                        bad.append(f"{where}: {cell!r}")
                    continue
                if not (isinstance(cell["mean"], float) and math.isfinite(cell["mean"])):
                    bad.append(f"{where}: mean {cell['mean']!r}")
                if cell["n"] == 1 and cell["std"] is not None:
                    bad.append(f"{where}: one seed with std {cell['std']!r}")
                if not all(s["key"] and s["commands"] for s in cell["sources"]):
                    bad.append(f"{where}: a number without its stage key and command")
    return bad
