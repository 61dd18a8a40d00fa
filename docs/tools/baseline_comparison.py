"""PDR against the baselines on synthetic faces (issue #18): clustering, probe, table, figure.

    python docs/tools/baseline_comparison.py \\
        --runs "PDR none=runs/cpu/faces_none_s0,runs/cpu/faces_none_s1,runs/cpu/faces_none_s2" \\
               "PDR LOOCC-L=runs/cpu/faces_L_s0,..." "PDR LOOCC-LV=runs/cpu/faces_LV_s0,..." \\
               "ae=runs/cpu/ae_s0,..." "VQ-VAE=runs/cpu/vqvae_s0,..." "β-VAE=runs/cpu/betavae_s0,..." \\
        --work runs/baseline_eval --table baselines/results_table.md \\
        [--figure baselines/results.png] [--probe_train 1000] [--label_budgets 100,500,1000] \\
        [--probe_runs 1] [--num_workers 0] [--gpu N] [--overwrite]

Each run directory (``run.py`` train of any registered model: ``best.pt``, ``config.yaml``,
``metrics.jsonl``) is evaluated by the project's CLIs into ``WORK/<method>_<seed>/`` (the seed is
``run.seed`` of its ``config.yaml``), on the feature groups its model kind names in `GROUPS`
(PDR and ``ae``: depth,albedo, the paper's default; VQ-VAE and β-VAE: their one group latent):

1. ``features/{tracks,test,train}.npz``: ``run.py extract`` of the run's ``tracks`` split (face
   tracks of test identities), its ``test`` split and the first ``--probe_train`` images of its
   ``train`` split (the probe's labelled pool);
2. ``cluster_identity.json``: ``clustering/cluster_eval.py`` on the tracks, ``--attributes
   identity --tracks on`` (ward HAC on per-track means, the paper's BBT/Buffy protocol);
3. ``cluster_emotion.json``: the same on the test faces, ``--attributes emotion --tracks off``;
4. ``probe/``: ``classification/run_trainer.py``, the frozen linear probe on the attributes
   (``--attributes A``: every label column but identity and emotion; multi-label, the CelebA
   protocol), with ``--label_budgets`` labelled images;
5. ``model.json``: the model kind, its parameter count and image size (``unsup3d.api``).

A step whose output is there is skipped; every output is written atomically.
``<method>_<seed>/study_run.json`` records the checkpoint's SHA-256, the groups and the probe
settings; results of another checkpoint or other settings are an error, or are recomputed with
``--overwrite``. The lowest ``val/recon``, the last training step and the training time are read
from the run's ``metrics.jsonl``.

Then, from the results files only: ``WORK/baseline_comparison.json`` (every number per run and
the mean ± std per method, std over seeds with ddof=1), ``--table`` (Markdown: one row per run,
a ``mean ± std`` row per method, the columns' legend and the commands) and ``--figure`` (one
panel per key measure: each seed a dot, mean ± std an error bar, the chance level dashed). The
runs must have the same labels in every split (same data); different image sizes or training
budgets are said under the table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analysis.figures import save_png
from classification import run_trainer
from clustering import cluster_eval
from evalkit import majority_rate
from unsup3d import cli
from unsup3d.api import (
    Config,
    UserError,
    atomic_write_text,
    count_parameters,
    load_features,
    load_model,
    sha256_file,
)

# docs/tools/loocc_study.py as a module: its run folders, summaries and figure.
study = cli.load_script(Path(__file__).resolve().with_name("loocc_study.py"), "loocc_study")
Measure, Run = study.Measure, study.Run  # Run.variant holds the method name here

log = logging.getLogger("docs.tools.baseline_comparison")

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = "baseline_comparison.json"
# The feature groups each model kind is measured on: PDR's and the renderer-free autoencoder's
# depth and albedo encoders (the paper's default), the VQ-VAE's quantised latent, the β-VAE's
# posterior mean.
GROUPS = {"pdr": "depth,albedo", "ae": "depth,albedo", "vqvae": "latent", "betavae": "latent"}
# The model (and for PDR the loocc.variant) a method name implies; other names are not checked.
METHODS = {
    "PDR none": ("pdr", "none"),
    "PDR LOOCC-L": ("pdr", "L"),
    "PDR LOOCC-LV": ("pdr", "LV"),
    "ae": ("ae", None),
    "VQ-VAE": ("vqvae", None),
    "β-VAE": ("betavae", None),
}
CLUSTERED = {"identity": "tracks", "emotion": "test"}  # label column -> split it is clustered on
SPLITS = ("tracks", "test", "train")
CLUSTER_METRICS = ("cluster_accuracy", "hungarian_accuracy", "nmi")  # kept from cluster_eval


def build_parser() -> cli.ArgumentParser:
    p = study.runs_parser(
        "Evaluate PDR variants and baselines (several seeds each) with the project's CLIs: "
        "identity clustering on tracks, emotion clustering, the frozen attribute probe; write "
        "the comparison table, results JSON and figure.",
        "method",
        "'PDR LOOCC-LV=runs/cpu/faces_LV_s0,runs/cpu/faces_LV_s1' VQ-VAE=runs/cpu/vqvae_s0,...",
        "folder for the per-run results (<method>_<seed>/, spaces as _) and "
        "baseline_comparison.json, e.g. runs/baseline_eval",
        "replace an existing --table / --figure, and recompute the results of a run whose "
        "checkpoint, groups or probe settings changed",
    )
    p.add_argument(
        "--table", type=Path, required=True, help="the Markdown table, e.g. baselines/results.md"
    )
    p.add_argument("--figure", type=Path, help="optional PNG, e.g. baselines/results.png")
    p.add_argument(
        "--probe_train",
        type=int,
        default=1000,
        help="training images whose features form the probe's labelled pool (default 1000)",
    )
    p.add_argument(
        "--label_budgets",
        default="100,500,1000",
        help="comma-separated numbers of labelled images the probe trains on, each at most "
        "--probe_train (default 100,500,1000, the paper's)",
    )
    p.add_argument(
        "--probe_runs",
        type=int,
        default=1,
        help="probe seeds per budget per model, averaged (default 1: every model gets the same "
        "labelled subsets; the spread comes from the training seeds)",
    )
    return p


# --------------------------------------------------------------------------------------------
# The runs


def check_method(method: str, run_dir: Path, cfg: Config) -> None:
    """Refuse a model kind without feature groups in `GROUPS`, and a run whose model (and for
    PDR, loocc.variant) is not the one its method name implies (`METHODS`)."""
    kind = cfg.model.name
    if kind not in GROUPS:
        raise UserError(
            f"{run_dir / 'config.yaml'}: model.name {kind!r} has no feature groups here; "
            f"compare {', '.join(GROUPS)} (add it to GROUPS in docs/tools/baseline_comparison.py)"
        )
    want_kind, want_variant = METHODS.get(method, (kind, None))
    variant = cfg.loocc.variant
    if kind != want_kind or want_variant not in (None, variant):
        shown = f"model.name={kind}" + (f", loocc.variant={variant}" if kind == want_kind else "")
        raise UserError(
            f"{run_dir / 'config.yaml'}: {shown}, but it is given as method {method!r}; list it "
            "under its own method"
        )


def find_models(runs: Mapping[str, Sequence[str]], work: Path) -> list[tuple[Run, str]]:
    """The runs of ``--runs`` (`loocc_study.find_runs`) with their model kinds; a run's results
    go to ``work/<method>_<seed>``, spaces in the method name written as ``_``.

    Raises:
        UserError: what `find_runs` and `check_method` refuse; two model kinds in one method;
            two method names that give the same folder.
    """
    kinds: dict[Path, str] = {}

    def check(method: str, run_dir: Path, cfg: Config) -> None:
        check_method(method, run_dir, cfg)
        kinds[run_dir] = cfg.model.name

    found = [(r, kinds[r.run_dir]) for r in study.find_runs(runs, work, check=check)]
    names = {"_".join(m.split()): m for m in runs}
    if len(names) < len(runs):
        raise UserError(f"--runs: methods {', '.join(runs)} differ only in spaces; rename one")
    found = [
        (dataclasses.replace(r, work=work / f"{'_'.join(r.variant.split())}_{r.seed}"), kind)
        for r, kind in found
    ]
    for method in runs:
        mixed = {kind: r.run_dir for r, kind in found if r.variant == method}
        if len(mixed) > 1:
            shown = ", ".join(f"{d} is {k}" for k, d in mixed.items())
            raise UserError(f"--runs {method}: {shown}; give each model kind its own method")
    return found


# --------------------------------------------------------------------------------------------
# Evaluating one run: each step skipped when its output is there


@dataclass(frozen=True)
class Options(study.RunFlags):
    probe_train: int
    label_budgets: list[int]
    probe_runs: int


@dataclass(frozen=True)
class Step:
    """One CLI call: the file whose presence means done, the script and its arguments."""

    output: Path
    script: str
    argv: list[Any]


def features_path(work: Path, split: str) -> Path:
    return work / "features" / f"{split}.npz"


def cli_steps(
    work: Path, checkpoint: Path | str, groups: str, opts: Options, attributes: str = "A"
) -> list[Step]:
    """The CLI calls of one run, in order (also shown under the table, with placeholders);
    ``attributes``: the probe's label columns, comma-separated."""
    device = [*opts.device_flags(), "--num_workers", opts.num_workers]
    steps = [
        Step(features_path(work, split), "run.py",
             ["extract", "--checkpoint", checkpoint, "--split", split,
              *(["--max_images", opts.probe_train] if split == "train" else []),
              "--output", features_path(work, split), *device])
        for split in SPLITS
    ]  # fmt: skip
    for label, split in CLUSTERED.items():
        out = work / f"cluster_{label}.json"
        tracks = "on" if split == "tracks" else "off"
        argv = [features_path(work, split), "--groups", groups, "--attributes", label]
        steps.append(Step(out, "clustering/cluster_eval.py",
                          [*argv, "--tracks", tracks, "--output", out, "--overwrite"]))  # fmt: skip
    probe = ["--features", features_path(work, "train"),
             "--eval_features", features_path(work, "test"), "--groups", groups,
             "--attributes", attributes,
             "--num_train", *opts.label_budgets, "--runs", opts.probe_runs,
             *opts.device_flags(), "--output_dir", work / "probe", "--overwrite"]  # fmt: skip
    steps.append(Step(work / "probe" / "results.json", "classification/run_trainer.py", probe))
    return steps


def attribute_columns(work: Path) -> str:
    """The probe's label columns: every column of the training features' label table but the
    clustered ones (identity, emotion), comma-separated."""
    source = features_path(work, "train")
    fs = load_features(source)
    names = [n for n in fs.label_names if n not in CLUSTERED]
    if fs.labels is None or fs.labels.ndim != 2 or not names:
        raise UserError(
            f"{source}: needs an (N, A) label table with attributes besides "
            f"{', '.join(CLUSTERED)}; extract a synthetic_faces split"
        )
    return ",".join(names)


def model_info(checkpoint: Path, out: Path) -> None:
    """``model.json``: the checkpoint's model kind, parameter count and image size."""
    model, cfg, _ = load_model(checkpoint, torch.device("cpu"))
    info = {
        "model": cfg.model.name,
        "parameters": count_parameters(model),
        "image_size": cfg.data.image_size,
    }
    atomic_write_text(out, json.dumps(info, indent=2) + "\n")


def evaluate_run(run: Run, kind: str, opts: Options) -> int:
    """Run every missing step of ``run`` into ``run.work``; returns how many ran."""
    mains = {
        "run.py": study._script("run", ROOT / "run.py").main,
        "clustering/cluster_eval.py": cluster_eval.main,
        "classification/run_trainer.py": run_trainer.main,
    }
    w, done = run.work, 0
    steps = cli_steps(w, run.checkpoint, GROUPS[kind], opts)
    for step in steps[: len(SPLITS)]:  # the features
        if not step.output.is_file():  # written atomically by run.py extract
            study._call(mains[step.script], step.argv, step.script)
            done += 1
    steps = cli_steps(w, run.checkpoint, GROUPS[kind], opts, attribute_columns(w))
    for step in steps[len(SPLITS) :]:
        if not step.output.is_file():  # written last, atomically
            study._call(mains[step.script], step.argv, step.script)
            done += 1
    if not (w / "model.json").is_file():
        model_info(run.checkpoint, w / "model.json")
        done += 1
    return done


def stamp(run: Run, kind: str, opts: Options) -> dict[str, Any]:
    """What a run's results depend on (`loocc_study.check_work` compares all but run_dir)."""
    return {
        "run_dir": str(run.run_dir),
        "checkpoint_sha256": sha256_file(run.checkpoint),
        "groups": GROUPS[kind],
        "probe_train": opts.probe_train,
        "label_budgets": opts.label_budgets,
        "probe_runs": opts.probe_runs,
    }


# --------------------------------------------------------------------------------------------
# Reading the results back


def measures(budgets: Sequence[int]) -> tuple[Measure, ...]:
    """The table's number columns (`loocc_study.Measure`), a probe column per budget."""
    return (
        Measure("identity_acc", "identity acc", "identity clustering of the face tracks: cluster "
                "accuracy (`cluster_accuracy` = WCP, the paper's Eq. 8) of ward HAC on per-track "
                "mean features, as many clusters as identities (cluster_identity.json)"),
        Measure("identity_nmi", "identity NMI", "the same clustering's NMI (`nmi`)"),
        Measure("emotion_acc", "emotion acc", "emotion clustering of the test faces (one unit "
                "per image, as many clusters as emotions): cluster accuracy (`cluster_accuracy`, "
                "cluster_emotion.json)"),
        Measure("emotion_nmi", "emotion NMI", "the same clustering's NMI (`nmi`)"),
        *(Measure(f"probe_{n}", f"probe @{n}", f"frozen linear probe trained on {n} labelled "
                  "images, mean attribute accuracy on the test faces (`accuracy_mean` of "
                  "probe/results.json at num_train " f"{n}; multi-label, sigmoid + BCE)")
          for n in budgets),
        Measure("val_recon", "val recon", "lowest `val/recon` of metrics.jsonl: each model's own "
                "reconstruction loss (PDR: L1 + flipped L1 + depth smoothness; ae: L1; VQ-VAE and "
                "β-VAE: MSE), comparable only within a model kind"),
        Measure("train_min", "train min", "training time, minutes (sum of `time_s` over "
                "metrics.jsonl's epochs; the machine was shared, so only roughly comparable)"),
    )  # fmt: skip


def _metrics(path: Path, keys: Sequence[str]) -> dict[str, Any]:
    """``metrics`` of a CLI's results JSON, checked for ``keys`` (dotted paths)."""
    metrics = json.loads(path.read_text())["metrics"]
    for key in keys:
        node = metrics
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise UserError(f"{path}: no metrics.{key}; remove the file to compute it again")
            node = node[part]
    return metrics


def training_log(path: Path) -> dict[str, float | None]:
    """The lowest ``val/recon``, last ``step`` and summed ``time_s`` (minutes) of a
    ``metrics.jsonl``."""
    recon = study.best_val_recon(path)  # also checks every line is JSON
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    steps = [r["step"] for r in records if r.get("step") is not None]
    seconds = [float(r["time_s"]) for r in records if r.get("time_s") is not None]
    return {
        "val_recon": recon,
        "steps": max(steps) if steps else None,
        "train_min": sum(seconds) / 60 if seconds else None,
    }


def data_summary(work: Path) -> dict[str, Any]:
    """Per split: images, SHA-256 of the labels (the same for every run on the same data), and
    the chance level of each clustering (the majority rate of its units, a floor of cluster
    accuracy); the feature dimension of the groups and the image size."""
    out: dict[str, Any] = {"splits": {}}
    for split in SPLITS:
        fs = load_features(features_path(work, split))
        digest = hashlib.sha256(json.dumps(fs.label_names).encode())
        digest.update(np.ascontiguousarray(fs.labels).tobytes())
        out["splits"][split] = {"images": int(fs.labels.shape[0]), "labels": digest.hexdigest()}
        out["image_size"] = fs.meta.get("image_size")
        if split == "test":
            out["dims"] = {g: int(a.shape[1]) for g, a in fs.features.items()}
    for label, split in CLUSTERED.items():
        fs = load_features(features_path(work, split))
        values = fs.labels[:, fs.label_names.index(label)]
        if split == "tracks":  # the units are tracks: one label each
            values = values[np.unique(fs.track_ids, return_index=True)[1]]
        out[f"{label}_chance"] = majority_rate(values)[0]
    return out


def collect_run(run: Run, kind: str, opts: Options, stamp_: Mapping[str, Any]) -> dict[str, Any]:
    """Every number of one run, read from its results files."""
    w, groups = run.work, GROUPS[kind]
    clusters = {}
    for label in CLUSTERED:
        keys = (*CLUSTER_METRICS, "n_clusters")
        m = _metrics(w / f"cluster_{label}.json", [f"attributes.{label}.{k}" for k in keys])
        clusters[label] = {k: m["attributes"][label][k] for k in keys}
        clusters[label]["units"] = m.get("n_units")
    probe = _metrics(w / "probe" / "results.json", ["results", "majority_rate"])
    by_n = {r["num_train"]: r for r in probe["results"]}
    missing = [n for n in opts.label_budgets if n not in by_n]
    if missing:
        raise UserError(
            f"{w / 'probe' / 'results.json'}: no result for num_train {missing}; remove it to "
            "compute it again"
        )
    data = data_summary(w)
    info = json.loads((w / "model.json").read_text())
    numbers = {f"{label}_{short}": clusters[label][key] for label in CLUSTERED
               for short, key in (("acc", "cluster_accuracy"), ("nmi", "nmi"))}  # fmt: skip
    numbers |= {f"probe_{n}": by_n[n]["accuracy_mean"] for n in opts.label_budgets}
    train = training_log(run.run_dir / "metrics.jsonl")
    numbers |= {"val_recon": train["val_recon"], "train_min": train["train_min"]}
    numbers |= {f"{label}_chance": data[f"{label}_chance"] for label in CLUSTERED}
    numbers["probe_chance"] = probe["majority_rate"]
    return {
        "method": run.variant,
        "seed": run.seed,
        "model": kind,
        "groups": groups,
        "feature_dim": sum(data["dims"][g] for g in groups.split(",")),
        "parameters": info["parameters"],
        "steps": train["steps"],
        "image_size": data["image_size"],
        "run_dir": str(run.run_dir),
        "work": str(w),
        "checkpoint_sha256": stamp_["checkpoint_sha256"],
        "measures": numbers,
        "clustering": clusters,
        "probe": {
            "majority_rate": probe["majority_rate"],
            "per_attribute_majority": probe.get("majority_per_attribute"),
            "by_num_train": {
                n: {
                    "accuracy_mean": by_n[n]["accuracy_mean"],
                    "accuracy_std_over_probe_runs": by_n[n]["accuracy_std"],
                    "per_attribute_mean": by_n[n].get("per_attribute_mean"),
                }
                for n in opts.label_budgets
            },
        },  # fmt: skip
        "data": data["splits"],
    }


def check_same_data(records: Sequence[Mapping[str, Any]]) -> None:
    """Refuse runs whose splits carry different labels (other data, other sizes)."""
    first = records[0]
    for r in records[1:]:
        for split, info in r["data"].items():
            if info != first["data"][split]:
                raise UserError(
                    f"{r['work']}: the {split} split's labels differ from those of "
                    f"{first['work']} ({info['images']} vs {first['data'][split]['images']} "
                    "images); compare runs of the same data (data.name, data.dataset_seed, "
                    "data.num_test)"
                )


def result_files(run: Run) -> list[Path]:
    """The files a run's numbers are read from (recorded with their SHA-256)."""
    w = run.work
    files = [run.run_dir / "metrics.jsonl", w / study.STAMP_FILE, w / "model.json"]
    files += [w / f"cluster_{label}.json" for label in CLUSTERED]
    files += [w / "probe" / "results.json"]
    return [f for f in files if f.is_file()]


# --------------------------------------------------------------------------------------------
# Table and figure


def _common(values: Sequence[Any], fmt=str) -> str:
    """The value all runs share, or ``varies``."""
    return fmt(values[0]) if len(set(values)) == 1 else "varies"


def _millions(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 1e6:.3g} M"


DESCRIPTIVE = (  # the columns before the measures: key, header, formatter
    ("groups", "groups", str),
    ("feature_dim", "dim", str),
    ("parameters", "params", _millions),
    ("steps", "steps", str),
)


def _uniform(records: Sequence[Mapping[str, Any]], key: str) -> str:
    values = sorted({str(r[key]) for r in records})
    return values[0] + " (all runs)" if len(values) == 1 else "differ: " + ", ".join(values)


def table(result: Mapping[str, Any], commands: Sequence[str]) -> str:
    """The Markdown table of ``baseline_comparison.json``'s metrics: one row per run, then per
    method a ``mean ± std`` row; the columns' definitions and the commands below it."""
    runs, summary = result["runs"], result["summary"]
    columns = [Measure(**m) for m in result["measures"]]
    keys = [m.key for m in columns]
    header = ["method", "seed", *(h for _, h, _ in DESCRIPTIVE), *(m.header for m in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, per_measure in summary.items():
        own = sorted((r for r in runs if r["method"] == method), key=lambda r: r["seed"])
        for r in own:
            cells = [method, str(r["seed"]), *(f(r[k]) for k, _, f in DESCRIPTIVE)]
            cells += [study.fmt(r["measures"][k]) for k in keys]
            lines.append("| " + " | ".join(cells) + " |")
        cells = [_common([r[k] for r in own], f) for k, _, f in DESCRIPTIVE]
        cells += [study.mean_std(per_measure[k]) for k in keys]
        lines.append(f"| **{method}** | mean ± std | " + " | ".join(cells) + " |")
    data = runs[0]["data"]
    chance = {k: study.fmt(np.mean([r["measures"][k] for r in runs])) for k in
              ("identity_chance", "emotion_chance", "probe_chance")}  # fmt: skip
    groups = ", ".join(f"{kind} → {g}" for kind, g in GROUPS.items())
    lines += [
        "",
        f"mean ± std over the training seeds of each method (std with ddof=1; "
        f"{study.seed_counts(result, 'method')}). Same data for every run: "
        f"{data['tracks']['images']} track frames, {data['test']['images']} test faces, "
        f"{data['train']['images']} training faces for the probe (their labels are identical "
        f"across runs). Image size: {_uniform(runs, 'image_size')}; training steps: "
        f"{_uniform(runs, 'steps')}.",
        "",
        "Columns:",
        "",
        f"- **groups**: the feature groups measured, by model kind ({groups}); **dim**: their "
        "concatenated width; **params**: the model's parameters (`count_parameters`); "
        "**steps**: the last training step of metrics.jsonl",
        *(f"- **{m.header}**: {m.what}" for m in columns),
        "",
        f"Chance levels (majority rate of the clustered units or the attributes, a floor of "
        f"cluster accuracy): identity on tracks {chance['identity_chance']}, emotion "
        f"{chance['emotion_chance']}, attributes {chance['probe_chance']}. NMI of a random "
        "partition is about 0.",
        "",
        "Commands: this table's, then per run (RUN its directory, W = WORK/<method>_<seed>, "
        "G its groups; A the label columns but identity and emotion):",
        "",
        "```",
        *commands,
        "```",
    ]
    return "\n".join(lines) + "\n"


def panels(budgets: Sequence[int]) -> list[tuple[str, str, str | None, str]]:
    """The figure's panels (`loocc_study.figure`): measure, title, chance measure, its legend."""
    return [
        ("identity_acc", "identity on tracks: cluster accuracy", "identity_chance", "chance"),
        ("identity_nmi", "identity on tracks: NMI", None, ""),
        ("emotion_acc", "emotion: cluster accuracy", "emotion_chance", "chance"),
        ("emotion_nmi", "emotion: NMI", None, ""),
        *((f"probe_{n}", f"attribute probe, {n} labels: accuracy", "probe_chance",
           "majority") for n in budgets),
    ]  # fmt: skip


def shown_commands(command: Sequence[str], opts: Options) -> list[str]:
    """This tool's command line, then the CLI calls of one run with placeholders for its paths
    and groups."""
    steps = cli_steps(Path("W"), "RUN/best.pt", "G", opts)
    calls = [shlex.join(["python", s.script, *map(str, s.argv)]) for s in steps]
    return [shlex.join(["python", *command]), *calls]


# --------------------------------------------------------------------------------------------


def _budgets(text: str, pool: int) -> list[int]:
    try:
        budgets = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        budgets = []
    if not budgets or min(budgets) < 1 or max(budgets) > pool or len(set(budgets)) < len(budgets):
        raise UserError(
            f"--label_budgets {text!r}: give distinct numbers of labelled images between 1 and "
            f"--probe_train ({pool}), e.g. 100,500,1000"
        )
    return budgets


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    demo_figure = study._script("demo_figure", Path(__file__).resolve().with_name("demo_figure.py"))
    spec = demo_figure.parse_variants(args.runs, "--runs", example="ae=runs/cpu/ae_s0")
    if args.probe_train < 2:
        raise UserError(f"--probe_train {args.probe_train}: need at least 2 images, e.g. 1000")
    if args.probe_runs < 1:
        raise UserError(f"--probe_runs {args.probe_runs}: need at least 1, e.g. 1")
    budgets = _budgets(args.label_budgets, args.probe_train)
    if args.table.suffix.lower() != ".md":
        raise UserError(f"--table {args.table}: must end in .md, e.g. baselines/results.md")
    if args.figure is not None and args.figure.suffix.lower() != ".png":
        raise UserError(f"--figure {args.figure}: must end in .png, e.g. baselines/results.png")
    table_path = cli.check_output_file(args.table, args.overwrite, "--table")
    figure_path = args.figure and cli.check_output_file(args.figure, args.overwrite, "--figure")
    opts = cli.from_flags(Options, args, label_budgets=budgets)
    found = find_models(spec, args.work)
    stamps = [study.check_work(r, stamp(r, k, opts), opts.overwrite) for r, k in found]
    done = sum(evaluate_run(r, k, opts) for r, k in found)
    log.info("%d step(s) run for %d run(s); the others were done already", done, len(found))
    per_run = [collect_run(r, k, opts, s) for (r, k), s in zip(found, stamps)]
    check_same_data(per_run)
    columns = measures(budgets)
    result = {
        "groups": GROUPS,
        "label_budgets": budgets,
        "probe_train": args.probe_train,
        "probe_runs": args.probe_runs,
        "measures": [dataclasses.asdict(m) for m in columns],
        "runs": per_run,
        "summary": study.summarise(per_run, [m.key for m in columns], by="method"),
    }
    inputs = [f for r, _ in found for f in result_files(r)]
    options = {k: result[k] for k in ("groups", "label_budgets", "probe_train", "probe_runs")}
    command = cli.command_line("docs/tools/baseline_comparison.py", argv)
    cli.write_results(args.work / RESULTS_FILE, result, inputs, command, options)
    commands = shown_commands(command, opts)
    atomic_write_text(table_path, table(result, commands))
    written = [str(args.work / RESULTS_FILE), str(table_path)]
    if figure_path:
        fig = study.figure(result, panels(budgets), by="method", title="PDR and baselines")
        save_png(fig, figure_path, dpi=110, bbox_inches=None)
        written.append(str(figure_path))
    print(f"wrote {', '.join(written)} ({done} step(s) run)")
    return 0


if __name__ == "__main__":
    cli.run(main)
