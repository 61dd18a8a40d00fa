"""Plain-text tables of `clustering.protocol.run_protocol` results (the CLI prints them)."""

from __future__ import annotations

from typing import Any

from evalkit import METRIC_NAMES

HEADERS = {
    "cluster_accuracy": "acc(WCP)",
    "hungarian_accuracy": "hungarian",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "nmi": "NMI",
}


def _cell(mean: float, std: float | None) -> str:
    return f"{mean:.4f}" if std is None else f"{mean:.4f}±{std:.4f}"


def _plain(value: Any) -> str:
    return "/".join(map(str, value)) if isinstance(value, list) else str(value)


def _rows(
    names: list[str],
    values: dict[str, dict[str, Any]],
    stds: dict[str, dict[str, float]] | None,
    extra: list[tuple[str, str]],
) -> list[list[str]]:
    rows = []
    for name in names:
        v = values[name]
        s = stds.get(name) if stds else None
        cells = [name] + [_plain(v[key]) for key, _ in extra]
        cells += [_cell(v[m], s[m] if s else None) for m in METRIC_NAMES]
        rows.append(cells)
    return rows


def _render(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        first = r[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        lines.append("  ".join([first, *rest]).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def format_table(result: dict[str, Any]) -> str:
    """The results as text: one row per label column plus their mean.

    Args:
        result: the dict `run_protocol` returns.

    Returns:
        A multi-line table (with ``mean±std`` cells when there were several runs; for FINCH, a
        table of every level of the hierarchy first).
    """
    names = list(result["label_names"])
    finch = result["method"] == "finch"
    parts = []
    if finch:
        # one table per run would be long; show the hierarchy of the first run
        run = result["runs"][0]
        header = ["level", "clusters"] + [HEADERS[m] for m in METRIC_NAMES]
        rows = []
        for lv in run["levels"]:
            scores = list(lv["attributes"].values())
            mean = {m: sum(s[m] for s in scores) / len(scores) for m in METRIC_NAMES}
            rows.append(
                [str(lv["level"]), str(lv["n_clusters"])]
                + [_cell(mean[m], None) for m in METRIC_NAMES]
            )
        title = "FINCH hierarchy" + (" (run 0)" if len(result["runs"]) > 1 else "")
        title += ", metrics per level" + (" (mean over labels)" if len(names) > 1 else "")
        parts += [title + ":", _render(header, rows), ""]
    extra = [("n_clusters", "k")]
    if finch:
        extra += [("level", "level"), ("finch_clusters", "clusters")]
    header = ["label"] + [h for _, h in extra] + [HEADERS[m] for m in METRIC_NAMES]
    stds = result.get("attributes_std")
    rows = _rows(names, result["attributes"], stds, extra)
    if len(names) > 1:
        mean_std = result.get("mean_std")
        mean_row = ["mean"] + [""] * len(extra)
        mean_row += [
            _cell(result["mean"][m], mean_std[m] if mean_std else None) for m in METRIC_NAMES
        ]
        rows.append(mean_row)
    parts.append(_render(header, rows))
    return "\n".join(parts)
