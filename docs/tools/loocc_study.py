"""The LOOCC study (issue #17): every measure of trained PDR variants over seeds, a table, a figure.

    python docs/tools/loocc_study.py \
        --runs none=runs/study/none_s0,runs/study/none_s1,runs/study/none_s2 \
               L=runs/study/L_s0,... LV=runs/study/LV_s0,... release=runs/study/release_s0,... \
        --work runs/study/eval [--labels Blond_Hair,Black_Hair,Pale_Skin] \
        [--num_train 4000] [--num_test 2000] [--num_workers 0] [--gpu N] \
        --table docs/results_loocc_table.md --figure docs/results_loocc.png [--overwrite]

Each run directory (``run.py`` train: ``best.pt``, ``config.yaml``, ``metrics.jsonl``) is
evaluated by the project's CLIs into ``WORK/<variant>_<seed>/`` (the seed is ``run.seed`` of its
``config.yaml``):

1. ``test/``: ``run.py test --split test`` (the run's own test split): face-pixel depth measures
   (``depth_metrics.json``) and reconstruction PSNR (``image_metrics.json``); when the run dir
   already holds ``test_test/`` written by ``run.py test --split test`` after its ``best.pt``,
   those two files are copied instead;
2. the lowest ``val/recon`` of ``metrics.jsonl``;
3. ``features/{train,test,ood}.npz``: ``run.py extract`` (``data.num_train``/``num_test`` set to
   ``--num_train``/``--num_test``; ``ood`` at its default size);
4. ``disentangle/``: ``analysis/disentangle.py --metrics correlation,groups`` on the test features;
5. ``robustness_<label>/``: ``analysis/robustness.py`` per ``--labels`` label, the frozen probe on
   the depth+albedo features, test vs ood;
6. ``invariance/``: ``analysis/invariance.py``, feature movement after a new light / view.

A step whose output is there is skipped, so a second call only does what is missing (a new seed,
a new label). Every output is written atomically (``test/`` is renamed into place when complete).
``<variant>_<seed>/study_run.json`` records the checkpoint's SHA-256 and the feature sizes; results
of another checkpoint or other sizes are an error, or are recomputed with ``--overwrite``.

Then, from the results files only (read through `analysis.records`): ``WORK/loocc_study.json``
(every number per run and the mean ± std per variant), ``--table`` (Markdown: one row per run, a
``mean ± std`` row per variant, std over seeds with ddof=1; the measures are listed under it) and
``--figure`` (one panel per key measure: each seed a dot, mean ± std an error bar).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis import disentangle, invariance, robustness
from analysis.figures import pyplot, save_png
from analysis.records import (
    DisentanglementMetrics,
    FactorPredictionResults,
    InvarianceMetrics,
    RobustnessMetrics,
    read,
)
from unsup3d import cli
from unsup3d.api import Config, UserError, atomic_write_text, load_config, sha256_file

log = logging.getLogger("docs.tools.loocc_study")

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = "loocc_study.json"
STAMP_FILE = "study_run.json"
GROUP_SET = "depth,albedo"  # the probe's features: the paper's default
PROBE_KEY = "depth+albedo"  # its key in robustness.json
# The loocc settings a variant name implies (variant, compat); other names are not checked.
VARIANT_SETTINGS = {
    "none": ("none", "clean"),
    "L": ("L", "clean"),
    "LV": ("LV", "clean"),
    "release": (None, "release"),
}


@dataclass(frozen=True)
class Measure:
    """One column of the table: its key in ``loocc_study.json``, header and definition."""

    key: str
    header: str
    what: str


MEASURES = (
    Measure("side", "face SIDE", "scale-invariant depth error on face pixels "
            "(`object_side_mean` of run.py test's depth_metrics.json; lower is better)"),
    Measure("side_constant", "constant", "the same for the best constant depth "
            "(`object_side_best_constant_mean`): a SIDE above it is worse than a flat face"),
    Measure("mad_deg", "MAD °", "normal angle deviation on face pixels, degrees "
            "(`object_mad_deg_mean`)"),
    Measure("relief", "relief", "slope of predicted on true log depth, median over images "
            "(`object_relief_scale_median`; 1 right, 0 flat)"),
    Measure("depth_corr", "corr", "correlation of predicted and true log depth "
            "(`object_log_depth_correlation_mean`)"),
    Measure("val_recon", "val recon", "lowest validation reconstruction loss (`val/recon` of "
            "metrics.jsonl)"),
    Measure("psnr", "PSNR", "reconstruction PSNR, dB (`recon_psnr_mean` of image_metrics.json)"),
    Measure("thumb_psnr", "8×8 PSNR", "PSNR of the input shrunk to 8 x 8 and scaled back up, dB "
            "(`thumbnail8_psnr_mean`): a PSNR below it says less than an 8 x 8 thumbnail"),
    Measure("psnr_cov", "PSNR cov.", "the reconstruction's PSNR over the pixels it covers "
            "(`recon_psnr_covered_mean`; the others lie outside the canonical frame, mid-grey)"),
    Measure("thumb_psnr_cov", "8×8 cov.", "the thumbnail's PSNR over the same pixels "
            "(`thumbnail8_psnr_covered_mean`)"),
    Measure("pcc", "PCC", "the paper's PCC: mean |r| of matched units over the group pairs "
            "(`correlation.mean.matched_abs_r` of disentanglement.json)"),
    Measure("cca", "CCA", "held-out canonical correlation, mean over the group pairs "
            "(`correlation.mean.cca_mean`)"),
    Measure("diag", "diag", "feature group x factor group matrix (held-out ridge R²): mean of "
            "the diagonal (`factor_prediction.matrix`)"),
    Measure("off_diag", "off-diag", "the same matrix's mean off the diagonal, over the groups "
            "named both as feature and as factor group"),
    Measure("gap", "gap", "`factor_prediction.diagonal_gap`: per factor group, diagonal minus the "
            "best other feature group, mean (1 diagonal, <= 0 no better than another group)"),
    Measure("probe_test", "probe test", "frozen logistic probe on the depth+albedo features: "
            "test accuracy, mean over the labels (robustness.json `probe.depth+albedo`)"),
    Measure("probe_ood", "probe ood", "the same probe's accuracy on the ood split (novel light "
            "and view), mean over the labels"),
    Measure("probe_drop", "probe drop", "test - ood accuracy, mean over the labels (lower is "
            "more robust)"),
    Measure("inv_light", "light: others", "feature movement of depth, albedo and view after "
            "re-rendering with a new light, relative to the spread of the input images' features "
            "(`change_vs_input_spread` of invariance.json, mean of the groups; ideal 0)"),
    Measure("inv_light_rel", "light: others rel.", "the same groups' `relative_change` "
            "(mean movement / feature norm)"),
    Measure("inv_view", "view: others", "movement of depth, albedo and light after a new view "
            "(`change_vs_input_spread`, mean of the groups; ideal 0)"),
    Measure("inv_view_rel", "view: others rel.", "the same groups' `relative_change`"),
)  # fmt: skip
KEYS = tuple(m.key for m in MEASURES)
DEPTH_KEYS = {
    "side": "object_side_mean",
    "side_constant": "object_side_best_constant_mean",
    "mad_deg": "object_mad_deg_mean",
    "relief": "object_relief_scale_median",
    "depth_corr": "object_log_depth_correlation_mean",
}
IMAGE_KEYS = {
    "psnr": "recon_psnr_mean",
    "thumb_psnr": "thumbnail8_psnr_mean",
    "psnr_cov": "recon_psnr_covered_mean",
    "thumb_psnr_cov": "thumbnail8_psnr_covered_mean",
}
# Figure panels: (measure, title, reference-line measure or None, its legend).
PANELS = (
    ("side", "face SIDE (lower is better)", "side_constant", "best constant depth"),
    ("psnr_cov", "reconstruction PSNR on covered pixels, dB", "thumb_psnr_cov", "input at 8 x 8"),
    ("pcc", "PCC between groups (paper; lower: less correlated)", None, ""),
    ("cca", "held-out CCA between groups (lower: less correlated)", None, ""),
    ("gap", "factor matrix: diagonal gap (higher is better)", None, ""),
    ("probe_drop", "probe drop test - ood, depth+albedo (lower is better)", None, ""),
    ("inv_light", "new light: depth, albedo, view move\n(vs input spread; ideal 0)", None, ""),
    ("inv_view", "new view: depth, albedo, light move\n(vs input spread; ideal 0)", None, ""),
)


def _script(name: str, path: Path):
    """A script outside the packages (run.py, demo_figure.py) as a module."""
    return cli.load_script(path, name)


def runs_parser(
    description: str, name: str, example: str, work_help: str, overwrite_help: str
) -> cli.ArgumentParser:
    """The parser of a tool that evaluates trained runs over seeds: the CLI kit's ``--overwrite
    --gpu --num_workers -v``, ``--runs NAME=DIR[,DIR...]`` (``name``: what a group of runs is,
    ``example``: its value in the help) and ``--work`` (``work_help``)."""
    shared = cli.shared_flags(
        "overwrite gpu num_workers verbose", helps={"overwrite": overwrite_help}
    )
    p = cli.ArgumentParser(description=description, parents=[shared])
    p.add_argument(
        "--runs",
        nargs="+",
        required=True,
        metavar=f"{name.upper()}=DIR[,DIR...]",
        help=f"per {name}, its run directories (best.pt, config.yaml, metrics.jsonl), one per "
        f"training seed, e.g. {example}",
    )
    p.add_argument("--work", type=Path, required=True, help=work_help)
    return p


def build_parser() -> cli.ArgumentParser:
    p = runs_parser(
        "Evaluate trained LOOCC variants (several seeds each) with the project's CLIs and write "
        "the study's table, figure and results JSON.",
        "variant",
        "none=runs/study/none_s0,runs/study/none_s1 LV=runs/study/LV_s0,...",
        "folder for the per-run results (<variant>_<seed>/) and loocc_study.json, e.g. "
        "runs/study/eval",
        "replace an existing --table / --figure, and recompute the results of a run whose "
        "checkpoint or feature sizes changed",
    )
    p.add_argument(
        "--labels",
        default="Blond_Hair,Black_Hair,Pale_Skin",
        help="comma-separated labels the robustness probe predicts, one at a time (default "
        "Blond_Hair,Black_Hair,Pale_Skin)",
    )
    p.add_argument(
        "--num_train",
        type=int,
        default=4000,
        help="training images whose features train the probe (default 4000)",
    )
    p.add_argument(
        "--num_test",
        type=int,
        default=2000,
        help="test images whose features are measured (default 2000)",
    )
    p.add_argument(
        "--table",
        type=Path,
        required=True,
        help="the Markdown table, e.g. docs/results_loocc_table.md",
    )
    p.add_argument(
        "--figure", type=Path, required=True, help="the PNG, e.g. docs/results_loocc.png"
    )
    return p


# --------------------------------------------------------------------------------------------
# The runs


@dataclass(frozen=True)
class Run:
    """One trained run: its variant (the ``--runs`` name), seed, directory and results folder."""

    variant: str
    seed: int
    run_dir: Path
    work: Path

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / "best.pt"


def check_variant(variant: str, run_dir: Path, cfg: Config) -> None:
    """Refuse a run whose ``loocc`` settings are not those its variant name implies
    (`VARIANT_SETTINGS`; other names are not checked)."""
    want_variant, want_compat = VARIANT_SETTINGS.get(variant, (None, None))
    got = (cfg.loocc.variant, cfg.loocc.compat)
    if (want_variant or got[0], want_compat or got[1]) != got:
        raise UserError(
            f"{run_dir / 'config.yaml'}: loocc.variant={got[0]}, loocc.compat={got[1]}, but it "
            f"is given as variant {variant!r}; list it under its own variant"
        )


def find_runs(
    runs: Mapping[str, Sequence[str]],
    work: Path,
    check: Callable[[str, Path, Config], None] = check_variant,
) -> list[Run]:
    """The runs of ``--runs``, their seeds from ``config.yaml``; checks each run's files.

    Args:
        runs: variant -> run directories.
        work: the results folder; a run's results go to ``work/<variant>_<seed>``.
        check: ``check(variant, run_dir, config)`` raises a `UserError` for a run listed under
            the wrong variant (default: its ``loocc`` settings, `check_variant`).

    Raises:
        UserError: a missing directory, config.yaml, best.pt or metrics.jsonl; a run ``check``
            refuses; a seed given twice in a variant.
    """
    out: list[Run] = []
    for variant, dirs in runs.items():
        seen: dict[int, Path] = {}
        for d in map(Path, dirs):
            if not d.is_dir():
                raise UserError(f"{d}: no such run directory; give the run.output_dir of a run")
            for name in ("config.yaml", "best.pt", "metrics.jsonl"):
                if not (d / name).is_file():
                    raise UserError(
                        f"{d / name}: missing; give the directory of a finished run.py training"
                    )
            cfg = load_config(d / "config.yaml")
            check(variant, d, cfg)
            seed = cfg.run.seed
            if seed in seen:
                raise UserError(
                    f"--runs {variant}: {seen[seed]} and {d} both have run.seed {seed}; give each "
                    "seed once"
                )
            seen[seed] = d
            out.append(Run(variant, seed, d, work / f"{variant}_{seed}"))
    return out


# --------------------------------------------------------------------------------------------
# Evaluating one run: each step skipped when its output is there


@dataclass(frozen=True)
class RunFlags:
    """The shared flags a run's evaluation passes on or obeys."""

    num_workers: int
    gpu: int | None
    overwrite: bool

    def device_flags(self) -> list[str]:
        return [] if self.gpu is None else ["--gpu", str(self.gpu)]


@dataclass(frozen=True)
class Options(RunFlags):
    labels: list[str]
    num_train: int
    num_test: int


def _stamp(run: Run, opts: Options) -> dict[str, Any]:
    return {
        "run_dir": str(run.run_dir),
        "checkpoint_sha256": sha256_file(run.checkpoint),
        "num_train": opts.num_train,
        "num_test": opts.num_test,
    }


def check_work(run: Run, stamp: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    """Make sure ``run.work`` holds results of this stamp (or nothing).

    Args:
        run: the run whose results folder is checked.
        stamp: what its results depend on: ``run_dir`` (may move) and the values that must not
            change (checkpoint SHA-256, sizes, ...).
        overwrite: empty a folder whose results were made with another stamp, instead of failing.

    Returns:
        The stamp, written into ``run.work``.

    Raises:
        UserError: the folder holds other results (without ``overwrite``: then it is emptied),
            or is not empty and was not made by this tool.
    """
    path = run.work / STAMP_FILE
    if path.is_file():
        old = json.loads(path.read_text())
        changed = [k for k in stamp if k != "run_dir" and old.get(k) != stamp[k]]
        if changed:
            if not overwrite:
                raise UserError(
                    f"{path}: its results were computed with another {', '.join(changed)}; pass "
                    "--overwrite to recompute them, or choose another --work"
                )
            log.info("%s: %s changed; recomputing", run.work, ", ".join(changed))
            shutil.rmtree(run.work)
    elif run.work.is_dir() and any(run.work.iterdir()):
        raise UserError(
            f"{run.work}: not empty and has no {STAMP_FILE}; remove it or choose another --work"
        )
    if not path.is_file():
        run.work.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(stamp, indent=2) + "\n")
    return stamp


def _call(main: Callable[[Sequence[str]], int], argv: Sequence[Any], what: str) -> None:
    argv = [str(a) for a in argv]
    log.info("%s %s", what, " ".join(argv))
    status = main(argv)
    if status != 0:
        raise UserError(f"{what} {' '.join(argv)}: exited with status {status}")


def _own_test_results(run: Run) -> list[Path]:
    """``<run>/test_test/{depth,image}_metrics.json`` when `run.py test --split test` wrote them
    for the current checkpoint (both newer than it), else []."""
    files = [run.run_dir / "test_test" / f for f in ("depth_metrics.json", "image_metrics.json")]
    mtime = run.checkpoint.stat().st_mtime
    if all(f.is_file() and f.stat().st_mtime > mtime for f in files):
        return files
    return []


def evaluate_run(run: Run, opts: Options) -> int:
    """Run every missing step of ``run`` into ``run.work``; returns how many ran."""
    run_py = _script("run", ROOT / "run.py")
    w, ck, done = run.work, run.checkpoint, 0
    common = ["--checkpoint", ck, "--num_workers", opts.num_workers, *opts.device_flags()]
    test = w / "test"
    if not test.is_dir():
        partial = w / "partial.test"  # renamed into place once complete
        if partial.exists():
            shutil.rmtree(partial)
        own = _own_test_results(run)
        if own:  # run.py test's default output for this very checkpoint: its numbers only
            partial.mkdir(parents=True)
            for f in own:
                shutil.copy2(f, partial / f.name)
            log.info("%s: reusing %s", run.run_dir, own[0].parent)
        else:
            argv = ["test", *common, "--split", "test", "--output_dir", partial, "--overwrite"]
            _call(run_py.main, argv, "run.py")
        partial.rename(test)
        done += 1
    feats = {s: w / "features" / f"{s}.npz" for s in ("train", "test", "ood")}
    sizes = {"train": ["--set", f"data.num_train={opts.num_train}"],
             "test": ["--set", f"data.num_test={opts.num_test}"], "ood": []}  # fmt: skip
    for split, path in feats.items():
        if not path.is_file():  # written atomically by run.py extract
            argv = ["extract", *common, "--split", split, *sizes[split], "--output", path]
            _call(run_py.main, argv, "run.py")
            done += 1
    probe = ["--train", feats["train"], "--test", feats["test"], "--ood", feats["ood"]]
    probe += ["--group_sets", GROUP_SET, "--no_cluster"]
    steps = [
        (w / "disentangle", DisentanglementMetrics, disentangle.main,
         [feats["test"], "--metrics", "correlation,groups"]),
        *((w / f"robustness_{label}", RobustnessMetrics, robustness.main,
           [*probe, "--label", label]) for label in opts.labels),
        (w / "invariance", InvarianceMetrics, invariance.main,
         ["--checkpoint", ck, *opts.device_flags()]),
    ]  # fmt: skip
    for folder, record, main, argv in steps:
        if not (folder / record.FILE).is_file():  # written last, atomically
            out = ["--output_dir", folder, "--overwrite", "--no_figures"]
            _call(main, [*argv, *out], record.CLI.split()[0])
            done += 1
    return done


# --------------------------------------------------------------------------------------------
# Reading the results back


def _json_numbers(path: Path, keys: Mapping[str, str]) -> dict[str, float | None]:
    """``keys`` (measure -> key) from a JSON object file; None where the file or key is absent."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    return {m: (float(data[k]) if data.get(k) is not None else None) for m, k in keys.items()}


def best_val_recon(path: Path) -> float:
    """The lowest ``val/recon`` of a ``metrics.jsonl``."""
    values = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{path}:{i}: not JSON ({exc}); is it a run.py metrics.jsonl?"
            ) from None
        if record.get("val/recon") is not None:
            values.append(float(record["val/recon"]))
    if not values:
        raise UserError(f"{path}: no val/recon in any line; the run has not validated yet")
    return min(values)


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def factor_matrix_summary(fp: FactorPredictionResults | None) -> dict[str, float | None]:
    """Diagonal mean, off-diagonal mean (groups named as both feature and factor group) and the
    record's ``diagonal_gap`` of the feature group x factor group matrix."""
    if fp is None:
        return {"diag": None, "off_diag": None, "gap": None}
    columns = list(fp.factor_groups)
    common = [g for g in fp.feature_groups if g in columns]
    m = np.asarray(fp.matrix)  # (feature groups, factor groups)
    sub = m[np.ix_([fp.feature_groups.index(g) for g in common],
                   [columns.index(g) for g in common])]  # fmt: skip
    off = sub[~np.eye(len(common), dtype=bool)]
    return {
        "diag": _mean(np.diag(sub).tolist()),
        "off_diag": _mean(off.tolist()),
        "gap": fp.diagonal_gap,
    }


def collect_run(run: Run, opts: Options, stamp: Mapping[str, Any]) -> dict[str, Any]:
    """Every number of one run, read from its results files (analysis records for the CLIs)."""
    w = run.work
    measures: dict[str, float | None] = {}
    measures |= _json_numbers(w / "test" / "depth_metrics.json", DEPTH_KEYS)
    measures["val_recon"] = best_val_recon(run.run_dir / "metrics.jsonl")
    measures |= _json_numbers(w / "test" / "image_metrics.json", IMAGE_KEYS)
    dis = read(DisentanglementMetrics, w / "disentangle").metrics
    corr = dis.correlation
    measures["pcc"] = corr.mean["matched_abs_r"] if corr else None
    measures["cca"] = corr.mean["cca_mean"] if corr else None
    measures |= factor_matrix_summary(dis.factor_prediction)
    probe = {}
    for label in opts.labels:
        rob = read(RobustnessMetrics, w / f"robustness_{label}").metrics
        p = rob.probe[PROBE_KEY]
        probe[label] = {"test": p.in_distribution, "ood": p.ood, "drop": p.drop,
                        "chance_test": p.chance_in_distribution, "chance_ood": p.chance_ood}  # fmt: skip
    for key, part in (("probe_test", "test"), ("probe_ood", "ood"), ("probe_drop", "drop")):
        measures[key] = _mean([v[part] for v in probe.values()])
    inv = read(InvarianceMetrics, w / "invariance").metrics
    for kind in ("light", "view"):
        rows = {g: r for g, r in inv.invariance.get(kind, {}).items() if g != kind}
        measures[f"inv_{kind}"] = _mean([r.change_vs_input_spread for r in rows.values()])
        measures[f"inv_{kind}_rel"] = _mean([r.relative_change for r in rows.values()])
    return {
        "variant": run.variant,
        "seed": run.seed,
        "run_dir": str(run.run_dir),
        "work": str(run.work),
        "checkpoint_sha256": stamp["checkpoint_sha256"],
        "measures": {k: measures[k] for k in KEYS},
        "probe": probe,
        "invariance": {
            kind: {g: vars(r) for g, r in rows.items()} for kind, rows in inv.invariance.items()
        },
        "factor_prediction": vars(dis.factor_prediction) if dis.factor_prediction else None,
    }


def summarise(
    runs: Sequence[Mapping[str, Any]], keys: Sequence[str] = KEYS, by: str = "variant"
) -> dict[str, dict[str, dict[str, Any]]]:
    """variant (the runs' ``by`` value) -> measure (``keys`` of their ``measures``) -> {mean,
    std (over seeds, ddof=1; None for one seed), n}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in runs:
        out.setdefault(r[by], {})
    for variant, summary in out.items():
        for key in keys:
            values = [r["measures"][key] for r in runs if r[by] == variant]
            values = [v for v in values if v is not None and math.isfinite(v)]
            summary[key] = {
                "mean": _mean(values),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
                "n": len(values),
            }
    return out


def result_files(run: Run, labels: Sequence[str]) -> list[Path]:
    """The files a run's numbers are read from (recorded with their SHA-256)."""
    w = run.work
    files = [
        run.run_dir / "metrics.jsonl",
        w / STAMP_FILE,
        w / "disentangle" / DisentanglementMetrics.FILE,
    ]
    files += [w / "test" / n for n in ("depth_metrics.json", "image_metrics.json")]
    files += [w / f"robustness_{label}" / RobustnessMetrics.FILE for label in labels]
    files.append(w / "invariance" / InvarianceMetrics.FILE)
    return [f for f in files if f.is_file()]


# --------------------------------------------------------------------------------------------
# Table and figure


def fmt(value: float | None) -> str:
    """A number in 4 significant digits; ``n/a`` for an absent one."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4g}"


def mean_std(stats: Mapping[str, Any]) -> str:
    """``mean ± std`` (4 and 2 significant digits); ``n/a`` for a std of one seed or a measure
    no run has."""
    if stats["mean"] is None:
        return "n/a"
    std = "n/a" if stats["std"] is None else f"{stats['std']:.2g}"
    return f"{fmt(stats['mean'])} ± {std}"


def seed_counts(study: Mapping[str, Any], by: str = "variant") -> str:
    """``LV: 3 seeds, none: 1 seed`` (the runs grouped by their ``by`` value)."""
    counts = {v: sum(r[by] == v for r in study["runs"]) for v in study["summary"]}
    return ", ".join(f"{v}: {n} seed{'s' * (n != 1)}" for v, n in counts.items())


def table(study: Mapping[str, Any]) -> str:
    """The Markdown table of ``loocc_study.json``'s metrics: one row per run, then per variant
    a ``mean ± std`` row; the measures' definitions below it."""
    runs, summary = study["runs"], study["summary"]
    header = ["variant", "seed", *(m.header for m in MEASURES)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant, per_measure in summary.items():
        for r in sorted((r for r in runs if r["variant"] == variant), key=lambda r: r["seed"]):
            cells = [variant, str(r["seed"]), *(fmt(r["measures"][k]) for k in KEYS)]
            lines.append("| " + " | ".join(cells) + " |")
        cells = [mean_std(per_measure[k]) for k in KEYS]
        lines.append(f"| **{variant}** | mean ± std | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"mean ± std over the seeds of each variant (std with ddof=1; {seed_counts(study)}); "
        f"probe labels: {', '.join(study['labels'])}. Columns:",
        "",
        *(f"- **{m.header}**: {m.what}" for m in MEASURES),
    ]
    return "\n".join(lines) + "\n"


def figure(
    study: Mapping[str, Any],
    panels: Sequence[tuple[str, str, str | None, str]] = PANELS,
    by: str = "variant",
    title: str = "LOOCC study",
):
    """One panel per key measure (``panels``, four a row): variants (the runs' ``by`` values; a
    space in a name breaks the tick label) on x, each seed a dot, mean ± std as an error bar, a
    reference measure (the constant depth, the 8 x 8 thumbnail) as a dashed line, mean over runs.
    """
    plt = pyplot()
    runs, variants = study["runs"], list(study["summary"])
    rows = -(-len(panels) // 4)
    fig, axes = plt.subplots(rows, 4, figsize=(16, 3.75 * rows), squeeze=False)
    x = np.arange(len(variants))
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    for ax, (key, title_, ref, ref_label) in zip(axes.ravel(), panels):
        for i, variant in enumerate(variants):
            values = [r["measures"][key] for r in runs if r[by] == variant]
            values = [v for v in values if v is not None and math.isfinite(v)]
            if not values:
                continue
            jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
            ax.scatter(i + np.asarray(jitter[: len(values)]), values, s=18, color="tab:blue",
                       alpha=0.7, zorder=3, label="seed" if i == 0 else None)  # fmt: skip
            s = study["summary"][variant][key]
            if s["mean"] is not None:
                ax.errorbar(i + 0.25, s["mean"], yerr=s["std"] or 0.0, fmt="s", color="k",
                            ms=5, capsize=4, label="mean ± std" if i == 0 else None)  # fmt: skip
        refs = [r["measures"][ref] for r in runs if ref and r["measures"][ref] is not None]
        if refs:
            ax.axhline(float(np.mean(refs)), ls="--", color="tab:red", lw=1, label=ref_label)
        if not any(r["measures"][key] is not None for r in runs):
            ax.text(0.5, 0.5, "n/a", transform=ax.transAxes, ha="center", va="center")
        ax.set_xticks(x, [v.replace(" ", "\n") for v in variants])
        ax.set_xlim(-0.6, len(variants) - 0.4)
        ax.set_title(title_, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if refs:  # the legend where a reference line needs one
            ax.legend(fontsize=8)
    fig.suptitle(f"{title}: {seed_counts(study, by)}", fontsize=12)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    demo_figure = _script("demo_figure", Path(__file__).resolve().with_name("demo_figure.py"))
    spec = demo_figure.parse_variants(args.runs, "--runs", example="LV=runs/study/LV_s0")
    labels = [s for s in args.labels.split(",") if s]
    if not labels:
        raise UserError(f"--labels {args.labels!r}: give at least one label, e.g. Blond_Hair")
    for flag, value in (("--num_train", args.num_train), ("--num_test", args.num_test)):
        if value < 2:
            raise UserError(f"{flag} {value}: need at least 2 images, e.g. 2000")
    if args.table.suffix.lower() != ".md":
        raise UserError(f"--table {args.table}: must end in .md, e.g. docs/results_loocc_table.md")
    if args.figure.suffix.lower() != ".png":
        raise UserError(f"--figure {args.figure}: must end in .png, e.g. docs/results_loocc.png")
    table_path = cli.check_output_file(args.table, args.overwrite, "--table")
    figure_path = cli.check_output_file(args.figure, args.overwrite, "--figure")
    opts = cli.from_flags(Options, args, labels=labels)
    runs = find_runs(spec, args.work)
    stamps = [check_work(r, _stamp(r, opts), opts.overwrite) for r in runs]
    done = sum(evaluate_run(r, opts) for r in runs)
    log.info("%d step(s) run for %d run(s); the others were done already", done, len(runs))
    per_run = [collect_run(r, opts, s) for r, s in zip(runs, stamps)]
    study = {
        "labels": labels,
        "measures": {m.key: {"header": m.header, "what": m.what} for m in MEASURES},
        "runs": per_run,
        "summary": summarise(per_run),
    }
    inputs = [f for r in runs for f in result_files(r, labels)]
    options = {"labels": labels, "num_train": args.num_train, "num_test": args.num_test}
    command = cli.command_line("docs/tools/loocc_study.py", argv)
    cli.write_results(args.work / RESULTS_FILE, study, inputs, command, options)
    atomic_write_text(table_path, table(study))
    save_png(figure(study), figure_path, dpi=110, bbox_inches=None)
    print(f"wrote {args.work / RESULTS_FILE}, {table_path}, {figure_path} ({done} step(s) run)")
    return 0


if __name__ == "__main__":
    cli.run(main)
