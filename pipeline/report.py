"""The report: ``<output>/report/README.md`` and ``report/results.json``, rewritten every run.

Every number is read from a finished stage's results file and recorded with the stage's name,
cache key and command. A cell holds the mean ± std over the seeds (std with ddof=1, null for one
seed) or, where no seed gave a number, a string saying why: ``not run: ...`` (a model or an
evaluation not built yet, an upstream stage that failed) or ``failed: ...`` (the stage's one-line
error). JSON floats only: a non-finite value becomes such a string, never NaN or Infinity.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.scheduler import Outcome
from pipeline.settings import PDR_VARIANTS, PipelineConfig, section_dict
from pipeline.stages import EVALUATIONS
from unsup3d.api import atomic_write_text, git_sha

Extractor = Callable[[dict], Any]  # results JSON -> a number (or raises KeyError/TypeError)


class NotApplicable(Exception):
    """A measure that does not exist for this model (one feature group: no group correlation)."""


RESULT_FILE = {
    "identity": "identity.json", "emotion": "emotion.json", "attributes": "attributes.json",
    "finch": "finch.json", "probe": "results.json", "disentangle": "disentanglement.json",
    "robustness": "robustness.json", "invariance": "invariance.json",
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One column: the stage kind (and suffix, e.g. a label) it reads and how."""

    header: str
    kind: str
    suffix: str | None
    get: Extractor


def _attr_mean(metric: str) -> Extractor:
    """Mean of ``metric`` over the clustered labels of a cluster_eval results file."""

    def get(d: dict) -> float:
        rows = d["metrics"]["attributes"].values()
        return statistics.fmean(r[metric] for r in rows)

    return get


def _probe_acc(n: int) -> Extractor:
    def get(d: dict) -> float:
        (row,) = [r for r in d["metrics"]["results"] if r["num_train"] == n]
        return row["accuracy_mean"]

    return get


def _path(*keys: str) -> Extractor:
    def get(d: dict) -> Any:
        for k in keys:
            d = d[k]
        return d

    return get


def _probe_key(d: dict) -> str:
    keys = list(d["metrics"]["probe"])
    return keys[0]  # the first group set: the paper's (depth+albedo) or all for a baseline


def _rob(part: str, which: str = "first") -> Extractor:
    def get(d: dict) -> float:
        probe = d["metrics"]["probe"]
        key = _probe_key(d) if which == "first" else "all"
        return probe[key][part]

    return get


def _others(kind: str) -> Extractor:
    """Mean movement (vs the inputs' spread) of the groups other than the one changed."""

    def get(d: dict) -> float:
        rows = d["metrics"]["invariance"][kind]
        return statistics.fmean(r["change_vs_input_spread"] for g, r in rows.items() if g != kind)

    return get


def _section(d: dict, name: str) -> dict:
    """A section of disentanglement.json, absent for a model with one feature group."""
    metrics = d["metrics"]
    if name not in metrics and len(metrics["groups"]) < 2:
        raise NotApplicable(f"one feature group ({metrics['groups'][0]}): {name} needs two")
    return metrics[name]


def _dis(name: str, *keys: str) -> Extractor:
    def get(d: dict) -> Any:
        return _path(*keys)(_section(d, name))

    return get


def _matched(d: dict) -> tuple[dict, list[str]]:
    """The factor-prediction section and the feature groups named like a factor group (the
    matrix's diagonal); NotApplicable for a model without such groups (e.g. FDAE's concepts)."""
    fp = _section(d, "factor_prediction")
    common = [g for g in fp["feature_groups"] if g in fp["factor_groups"]]
    if not common:
        shown = ", ".join(fp["feature_groups"][:4]) + (
            ", ..." if len(fp["feature_groups"]) > 4 else ""
        )
        raise NotApplicable(f"no feature group named like a factor group ({shown}): no diagonal")
    return fp, common


def _diag(d: dict) -> float:
    fp, common = _matched(d)
    cols = list(fp["factor_groups"])
    return statistics.fmean(
        fp["matrix"][fp["feature_groups"].index(g)][cols.index(g)] for g in common
    )


def _gap(d: dict) -> float:
    return _matched(d)[0]["diagonal_gap"]


def tables(cfg: PipelineConfig) -> dict[str, tuple[str, list[Column], list[str] | None]]:
    """table id -> (title, columns, the methods it lists or None for all)."""
    wcp_f1_nmi = (("WCP", "cluster_accuracy"), ("F1", "f1"), ("NMI", "nmi"))
    clustering = [
        Column(f"{proto} {h}", proto, None, _attr_mean(m))
        for proto in ("identity", "emotion", "attributes")
        for h, m in wcp_f1_nmi
    ]
    probe = [
        Column(f"{label} N={n}", "probe", label, _probe_acc(n))
        for label in cfg.probe.labels
        for n in cfg.probe.num_train
    ]
    probe += [
        Column(f"{label} finetuned", "probe_finetune", label, _path("none"))
        for label in cfg.probe.labels
        if cfg.probe.finetune
    ]
    enabled = set(cfg.disentangle.metrics.split(","))
    dis = [  # (the --metrics name it needs, column)
        ("dci", Column("DCI D", "disentangle", None, _dis("factor_metrics", "dci", "disentanglement"))),
        ("dci", Column("DCI C", "disentangle", None, _dis("factor_metrics", "dci", "completeness"))),
        ("dci", Column("DCI I", "disentangle", None, _dis("factor_metrics", "dci", "informativeness_test"))),
        ("mig", Column("MIG", "disentangle", None, _dis("factor_metrics", "mig", "mig"))),
        ("sap", Column("SAP", "disentangle", None, _dis("factor_metrics", "sap", "sap"))),
        ("factorvae", Column("FactorVAE", "disentangle", None, _dis("factor_metrics", "factorvae", "eval_accuracy"))),
        ("groups", Column("matrix diag", "disentangle", None, _diag)),
        ("groups", Column("diag gap", "disentangle", None, _gap)),
        ("correlation", Column("PCC", "disentangle", None, _dis("correlation", "mean", "matched_abs_r"))),
        ("correlation", Column("CCA", "disentangle", None, _dis("correlation", "mean", "cca_mean"))),
    ]  # fmt: skip
    dis = [c for metric, c in dis if metric in enabled]
    ood = []
    for label in cfg.robustness.labels:
        ood += [
            Column(f"{label} test", "robustness", label, _rob("in_distribution")),
            Column(f"{label} ood", "robustness", label, _rob("ood")),
            Column(f"{label} drop", "robustness", label, _rob("drop")),
            Column(
                f"{label} test (all groups)", "robustness", label, _rob("in_distribution", "all")
            ),
        ]
    ood += [
        Column("new light: others move", "invariance", None, _others("light")),
        Column("new view: others move", "invariance", None, _others("view")),
    ]
    finch = [Column(f"FINCH {h}", "finch", None, _attr_mean(m)) for h, m in wcp_f1_nmi]
    finch.append(Column("FINCH clusters", "finch", None, _attr_mean("finch_clusters")))
    seg = [Column("mIoU", "segmentation", None, _path("none"))]
    ablation = [clustering[2], clustering[5], clustering[8]]
    if probe and cfg.probe.num_train:
        n = max(cfg.probe.num_train)
        ablation += [c for c in probe if c.header.endswith(f"N={n}")]
    key = ("DCI D", "MIG", "diag gap", "PCC")
    ablation += [c for c in dis if c.header in key] + ood[:3] + ood[-2:]
    pdr = [f"pdr_{v}" for v in PDR_VARIANTS if f"pdr_{v}" in cfg.train.methods]
    return {
        "clustering": ("Clustering (Table 1 protocols): WCP / F1 / NMI", clustering, None),
        "probe": ("Frozen linear probe accuracy per label budget (Table 2 protocol)", probe, None),
        "loocc_ablation": ("LOOCC ablation: none / L / LV", ablation, pdr),
        "disentanglement": ("Disentanglement against the ground-truth factors", dis, None),
        "ood": ("Robustness: test vs ood probe accuracy, depth+albedo vs all groups, feature "
                "invariance (change vs the inputs' spread; ideal 0)", ood, None),
        "finch": ("FINCH on the tracks' identities", finch, None),
        "segmentation": ("Segmentation (Table 3 protocol)", seg, None),
    }  # fmt: skip


def _finite(value: Any) -> float | str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"missing: not a number ({value!r})"
    if not math.isfinite(value):
        return f"missing: the value is {value}"
    return float(value)


def _seed_value(outcome: Outcome | None, column: Column) -> tuple[float | str, dict | None]:
    """One seed's value of a column: a number with its source, or the reason there is none."""
    if outcome is None:
        return "not run: not in this pipeline's config", None
    if outcome.status == "not run":
        return outcome.reason, None
    if outcome.status == "failed":
        return f"failed: {outcome.stage.name}: {outcome.reason}", None
    path = outcome.folder / RESULT_FILE[column.kind]
    try:
        value = _finite(column.get(json.loads(path.read_text())))
    except NotApplicable as exc:
        value = f"not run: {exc}"
    except (KeyError, TypeError, ValueError, IndexError, statistics.StatisticsError) as exc:
        value = f"missing: {path.name} has no such value ({type(exc).__name__}: {exc})"
    source = {
        "stage": outcome.stage.name,
        "key": outcome.key,
        "file": str(path),
        "commands": outcome.record["commands"] if outcome.record else [],
    }
    return value, source


def cell(values: Sequence[tuple[int, float | str, dict | None]]) -> dict | str:
    """Seeds' values -> ``{mean, std, n, seeds, values, sources}`` or the first reason."""
    numbers = [(s, v, src) for s, v, src in values if isinstance(v, float)]
    if not numbers:
        return next((v for _, v, _ in values if isinstance(v, str)), "not run: no seed")
    xs = [v for _, v, _ in numbers]
    return {
        "mean": statistics.fmean(xs),
        "std": statistics.stdev(xs) if len(xs) > 1 else None,
        "n": len(xs),
        "seeds": [s for s, _, _ in numbers],
        "values": xs,
        "sources": [src for _, _, src in numbers],
        "missing": {str(s): v for s, v, _ in values if isinstance(v, str)},
    }


def build_results(cfg: PipelineConfig, outcomes: Mapping[str, Outcome]) -> dict[str, Any]:
    """Every table as row -> column -> cell (see `cell`)."""
    by_key: dict[tuple[str, str, int, str | None], Outcome] = {}
    for o in outcomes.values():
        parts = o.stage.name.split("/")
        suffix = parts[3] if len(parts) > 3 else None
        by_key[(o.stage.kind, o.stage.method, o.stage.seed, suffix)] = o
    out = {}
    for tid, (title, columns, methods) in tables(cfg).items():
        rows = {}
        for method in methods if methods is not None else cfg.train.methods:
            rows[method] = {
                c.header: cell(
                    [
                        (s, *_seed_value(by_key.get((c.kind, method, s, c.suffix)), c))
                        for s in cfg.pipeline.seeds
                    ]
                )  # fmt: skip
                for c in columns
            }
        out[tid] = {"title": title, "columns": [c.header for c in columns], "rows": rows}
    return out


def fmt_cell(value: dict | str, notes: list[str]) -> str:
    """A Markdown cell: ``0.812 ± 0.013``; ``0.812`` for one seed; a reason as a footnote."""
    if isinstance(value, str):
        if value not in notes:
            notes.append(value)
        word = value.split(":", 1)[0]
        return f"{word} [{notes.index(value) + 1}]"
    mean = f"{value['mean']:.4g}"
    return mean if value["std"] is None else f"{mean} ± {value['std']:.2g}"


def markdown(cfg: PipelineConfig, results: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    lines = [
        f"# PDR pipeline report ({cfg.pipeline.scale} scale)",
        "",
        f"{header['scale_note']}",
        "",
        f"- made: {header['date']} on {header['machine']}, git {header['git_sha']}",
        f"- seeds: {', '.join(map(str, cfg.pipeline.seeds))}; cells are mean ± std over the "
        "seeds (std with ddof=1; one number: one seed)",
        f"- stages: {header['counts']}; wall time of this run {header['wall_seconds']:.1f} s",
        "- every number with its stage, cache key and command: `results.json`",
        "",
    ]
    for table in results["tables"].values():
        notes: list[str] = []
        cols = table["columns"]
        lines += [f"## {table['title']}", "", "| method | " + " | ".join(cols) + " |",
                  "|---|" + "---|" * len(cols)]  # fmt: skip
        for method, row in table["rows"].items():
            lines.append(
                f"| {method} | " + " | ".join(fmt_cell(row[c], notes) for c in cols) + " |"
            )
        lines.append("")
        lines += [f"[{i}] {n}  " for i, n in enumerate(notes, 1)]
        lines.append("")
    lines += ["## Stages", "", "| stage | status | seconds | share | key | note |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    total = sum(s["seconds"] for s in results["stages"]) or 1.0
    for s in results["stages"]:
        share = f"{100 * s['seconds'] / total:.1f}%" if s["seconds"] else ""
        note = (s["reason"] or "").replace("|", "/")
        lines.append(f"| {s['name']} | {s['status']} | {s['seconds']:.1f} | {share} | "
                     f"{s['key'] or ''} | {note} |")  # fmt: skip
    lines += ["", "Time by stage kind (the recorded compute time of every finished stage): "
              + ", ".join(f"{k} {v:.1f} s" for k, v in results["seconds_by_kind"].items()), ""]  # fmt: skip
    return "\n".join(lines) + "\n"


SCALE_NOTES = {
    "tiny": "Toy scale for the tests: the numbers say the wiring works, nothing about the method.",
    "demo": "Demo scale (minutes on 2 CPU cores, 1 seed): the numbers show the protocol end to "
    "end; they are not the paper's and not a study.",
    "cpu": "Study scale on the built-in synthetic data (CPU).",
    "paper": "The paper's sizes on the built-in synthetic data.",
}


def write_report(
    cfg: PipelineConfig,
    outcomes: Mapping[str, Outcome],
    output_dir: Path,
    command: Sequence[str],
    wall_seconds: float,
) -> Path:
    """Write ``report/README.md`` and ``report/results.json``; returns the README's path."""
    counts: dict[str, int] = {}
    by_kind: dict[str, float] = {}
    for o in outcomes.values():
        counts[o.status] = counts.get(o.status, 0) + 1
        if o.ok:
            by_kind[o.stage.kind] = by_kind.get(o.stage.kind, 0.0) + o.seconds
    header = {
        "scale": cfg.pipeline.scale,
        "scale_note": SCALE_NOTES[cfg.pipeline.scale],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.node()} ({platform.machine()}, {platform.system()})",
        "git_sha": git_sha(),
        "wall_seconds": wall_seconds,
        "counts": ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
        "command": list(command),
    }
    results = {
        "header": header,
        "config": {name: section_dict(getattr(cfg, name)) for name in cfg.__dataclass_fields__},
        "evaluations": EVALUATIONS,
        "tables": build_results(cfg, outcomes),
        "stages": [
            {
                "name": o.stage.name,
                "status": o.status,
                "key": o.key,
                "folder": str(o.folder) if o.folder else None,
                "seconds": o.seconds,
                "reason": o.reason,
                "commands": o.record["commands"] if o.record else None,
            }
            for o in outcomes.values()
        ],
        "seconds_by_kind": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
    }
    folder = output_dir / "report"
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, allow_nan=False) + "\n"
    atomic_write_text(folder / "results.json", text)
    readme = folder / "README.md"
    atomic_write_text(readme, markdown(cfg, results, header))
    return readme
