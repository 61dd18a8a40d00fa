"""Text tables and the per-attribute CSV for a protocol summary (see `run_protocol`)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from unsup3d.api import atomic_write_text


def write_report(folder: str | os.PathLike, summary: dict, title: str = "") -> str:
    """Write ``results.txt`` (the tables) and, for multi-label, ``per_attribute.csv``.

    Args:
        folder: the output folder (exists).
        summary: what `classification.protocol.run_protocol` returns.
        title: a line naming what was probed.

    Returns:
        The text of ``results.txt`` (without the final newline), for printing.
    """
    text = summary_table(summary, title)
    attr = per_attribute_table(summary)
    if attr:
        text += "\n\n" + attr
        write_per_attribute_csv(Path(folder) / "per_attribute.csv", summary)
    atomic_write_text(Path(folder) / "results.txt", text + "\n")
    return text


def summary_table(summary: dict, title: str = "") -> str:
    """One row per N: accuracy mean ± std over runs, the number of runs, the majority rate."""
    metric = "top-1 accuracy" if summary["task"] == "multiclass" else "mean attribute accuracy"
    lines = [title] if title else []
    lines.append(
        f"task {summary['task']} ({_what(summary)}), {summary['num_eval']} evaluation samples, "
        f"majority-class rate {summary['majority_rate']:.4f}"
    )
    lines.append(f"{'N train':>8}  {metric:>24}  {'runs':>4}")
    for entry in summary["results"]:
        acc = f"{entry['accuracy_mean']:.4f} ± {entry['accuracy_std']:.4f}"
        lines.append(f"{entry['num_train']:>8}  {acc:>24}  {len(entry['runs']):>4}")
    return "\n".join(lines)


def _what(summary: dict) -> str:
    if summary["task"] == "multiclass":
        return f"'{summary['label_names'][0]}', {summary['num_classes']} classes"
    return f"{len(summary['label_names'])} attributes"


def per_attribute_table(summary: dict) -> str:
    """Multi-label: one row per attribute, mean ± std per N, and the attribute's majority rate."""
    if summary["task"] != "multilabel":
        return ""
    width = max(9, *(len(n) for n in summary["label_names"]))
    head = f"{'attribute':<{width}}  {'majority':>8}" + "".join(
        f"  {'N=' + str(e['num_train']):>15}" for e in summary["results"]
    )
    lines = [head]
    for i, name in enumerate(summary["label_names"]):
        row = f"{name:<{width}}  {summary['majority_per_attribute'][i]:>8.4f}"
        for e in summary["results"]:
            row += f"  {e['per_attribute_mean'][i]:.4f} ± {e['per_attribute_std'][i]:.4f}"
        lines.append(row)
    return "\n".join(lines)


def write_per_attribute_csv(path: str | os.PathLike, summary: dict) -> None:
    """Multi-label: ``attribute,majority_rate,N<n>_mean,N<n>_std,...`` (one row per attribute),
    so methods can be compared attribute by attribute."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["attribute", "majority_rate"]
    for e in summary["results"]:
        header += [f"N{e['num_train']}_mean", f"N{e['num_train']}_std"]
    writer.writerow(header)
    for i, name in enumerate(summary["label_names"]):
        row = [name, f"{summary['majority_per_attribute'][i]:.6f}"]
        for e in summary["results"]:
            row += [f"{e['per_attribute_mean'][i]:.6f}", f"{e['per_attribute_std'][i]:.6f}"]
        writer.writerow(row)
    atomic_write_text(path, buf.getvalue())
