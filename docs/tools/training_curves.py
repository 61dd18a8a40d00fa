"""Validation reconstruction loss of trained runs, from initialisation to the end: table + figure.

    python docs/tools/training_curves.py "ae=runs/cpu/ae_s0,runs/cpu/ae_s1" \
        "VQ-VAE=runs/cpu/vqvae_s0,..." [--output docs/curves.png] [--json curves.json] [--overwrite]

For each run directory (``run.py`` train: ``config.yaml``, ``metrics.jsonl``), the validation
loss at step 0 is measured by building the run's `Trainer` from its saved config (same seed, so
the same initial weights; a temporary output folder) and calling its ``evaluate`` on the
validation set, exactly as the run validated itself after every epoch; ``metrics.jsonl`` gives
``val/recon`` after each epoch. Printed per run: the initial, lowest and last ``val/recon`` and
the reduction (1 - lowest / initial); the figure has one panel per method, one line per seed,
log-scaled loss against training steps. Each model's ``recon`` is its own reconstruction term
(PDR and ``ae``: L1 in [-1, 1] units; VQ-VAE and beta-VAE: MSE in [-1, 1] units), so compare
reductions across methods, not levels.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from analysis.figures import pyplot, save_png
from unsup3d import cli
from unsup3d.api import Trainer, UserError, atomic_write_text, load_config

log = logging.getLogger("docs.tools.training_curves")


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags("output overwrite verbose", helps={"output": "the PNG to write"})
    p = cli.ArgumentParser(
        description="Validation reconstruction loss of runs from step 0 to the end.",
        parents=[shared],
    )
    p.add_argument(
        "methods", nargs="+", help="NAME=RUN_DIR[,RUN_DIR...] per method, e.g. ae=runs/cpu/ae_s0"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    return p


def initial_validation(run: Path) -> float:
    """``val/recon`` of the run's model at initialisation (its config, seed and trainer)."""
    config = run / "config.yaml"
    if not config.is_file():
        raise UserError(f"{config}: missing; pass a run directory written by run.py")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(config, [f"run.output_dir={tmp}/run", "trainer.tensorboard=false"])
        trainer = Trainer(cfg, torch.device("cpu"))
        return float(trainer.evaluate(trainer.val_set)["recon"])


def curve(run: Path) -> dict[str, Any]:
    """Steps and ``val/recon`` from step 0 (measured) through every validated epoch."""
    metrics = run / "metrics.jsonl"
    if not metrics.is_file():
        raise UserError(f"{metrics}: missing; pass a run directory written by run.py")
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    points = [(int(r["step"]), float(r["val/recon"])) for r in records if "val/recon" in r]
    if not points:
        raise UserError(f"{metrics}: no val/recon record; the run has not validated yet")
    first = initial_validation(run)
    steps = [0] + [s for s, _ in points]
    values = [first] + [v for _, v in points]
    best = min(v for _, v in points)
    return {
        "run": str(run),
        "seed": load_config(run / "config.yaml").run.seed,
        "steps": steps,
        "val_recon": values,
        "initial": first,
        "best": best,
        "last": values[-1],
        "reduction": 1 - best / first,
    }


def figure(results: dict[str, list[dict[str, Any]]]):
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(3.2 * len(results), 2.8), squeeze=False)
    for ax, (name, runs) in zip(axes[0], results.items()):
        for r in runs:
            ax.plot(r["steps"], r["val_recon"], marker="o", ms=3, label=f"seed {r['seed']}")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("training step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    axes[0, 0].set_ylabel("validation recon loss", fontsize=8)
    fig.tight_layout()
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    demo_figure = cli.load_script(
        Path(__file__).resolve().with_name("demo_figure.py"), "demo_figure"
    )
    methods = {
        name: [Path(d) for d in dirs]
        for name, dirs in demo_figure.parse_variants(
            args.methods, "methods", example="ae=runs/cpu/ae_s0"
        ).items()
    }
    out = cli.check_output_file(args.output, args.overwrite) if args.output else None
    results = {name: [curve(run) for run in runs] for name, runs in methods.items()}
    print("| method | seed | val recon at step 0 | lowest | last | reduction |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        for r in runs:
            print(
                f"| {name} | {r['seed']} | {r['initial']:.4f} | {r['best']:.4f} | "
                f"{r['last']:.4f} | {100 * r['reduction']:.1f} % |"
            )
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=2) + "\n")
    if out is not None:
        save_png(figure(results), out, dpi=120)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    cli.run(main)
