"""The six-panel summary figure of the analysis CLIs on two model variants (docs/analysis_demo.png).

    python analysis/demo_figure.py \
        --disentangle LV=D/dis_demo,D/dis_demo_s1_LV none=D/dis_demo_none,D/dis_demo_s1_none \
        --robustness LV=D/rob_demo_Blond_Hair,D/rob_demo_s1_LV_Blond_Hair \
                     none=D/rob_demo_none_Blond_Hair,D/rob_demo_s1_none_Blond_Hair \
        --interpret LV=D/int_demo none=D/int_demo_none \
        --invariance LV=D/inv_demo none=D/inv_demo_none \
        [--retrained LV=D/dis_demo_s0_LV_rerun] --output docs/analysis_demo.png [--overwrite]

Reads only the ``*.json`` files the other analysis CLIs write into their ``--output_dir``:
(a) group correlation per training seed (``disentanglement.json``), (b, c) feature group x
factor group matrix per variant, mean of the seeds, (d) IG share per group
(``interpretability.json``), (e) probe accuracy test vs ``ood`` with each split's majority-class
chance (``robustness.json``), (f) feature movement after re-rendering (``invariance.json``).
Exactly two variants (e.g. LOOCC-LV and no LOOCC); each variant's folders in seed order, seed 0
first; ``--interpret`` and ``--invariance`` take the seed-0 folder of each variant.
The commands that make the folders: analysis/README.md, "Results on the demo models".
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.figures import pyplot, save_png
from unsup3d.cli import cli_main, setup_logging
from unsup3d.errors import UserError

log = logging.getLogger("analysis.demo_figure")

DEFAULT_TITLE = (
    "analysis/ CLIs on the CPU demo models (32 px, small preset, 256 steps): LOOCC-LV vs no LOOCC"
)
# The command that writes each CLI's JSON, for the fix in an error message.
CLIS = {
    "disentangle": (
        "disentanglement.json",
        "python analysis/disentangle.py F/M_test.npz --output_dir DIR",
    ),
    "robustness": (
        "robustness.json",
        "python analysis/robustness.py --train F/M_train.npz --test F/M_test.npz "
        "--ood F/M_ood.npz --label NAME --output_dir DIR",
    ),
    "interpret": (
        "interpretability.json",
        "python analysis/interpret.py F/M_test.npz --labels a,b --output_dir DIR",
    ),
    "invariance": (
        "invariance.json",
        "python analysis/invariance.py --checkpoint runs/M/best.pt --output_dir DIR",
    ),
}
# Panel (a): correlation measures of `disentanglement.json` and their tick labels.
MEASURES = ("matched_abs_r", "cross_abs_r", "cca_mean")
SPLITS = (
    ("in_distribution", "tab:green", "test (in distribution)", "test"),
    ("ood", "tab:red", "ood (novel light + view)", "ood"),
)
COLOURS = ("tab:blue", "tab:orange")
FP = ("metrics", "factor_prediction")
HATCHES = ("", "//", "..", "xx")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Compose the six-panel figure of the analysis CLIs on two model variants "
        "(docs/analysis_demo.png) from their JSON outputs."
    )
    spec = "VARIANT=DIR[,DIR...]"
    p.add_argument(
        "--disentangle",
        nargs="+",
        required=True,
        metavar=spec,
        help="per variant, the --output_dir folders of analysis/disentangle.py, one per training "
        "seed, seed 0 first (panels a-c), e.g. LV=D/dis_demo,D/dis_demo_s1_LV none=D/dis_demo_none",
    )
    p.add_argument(
        "--retrained",
        default=None,
        metavar="VARIANT=DIR",
        help="optional: the disentangle.py folder of that variant's seed 0 retrained on newer "
        "code, drawn as an x in panel a, e.g. LV=D/dis_demo_s0_LV_rerun",
    )
    p.add_argument(
        "--robustness",
        nargs="+",
        required=True,
        metavar=spec,
        help="per variant, the --output_dir folders of analysis/robustness.py (one label, the "
        "same test/ood splits), one per seed, seed 0 first (panel e), e.g. "
        "LV=D/rob_demo_Blond_Hair,D/rob_demo_s1_LV_Blond_Hair none=...",
    )
    p.add_argument(
        "--interpret",
        nargs="+",
        required=True,
        metavar="VARIANT=DIR",
        help="per variant, the seed-0 --output_dir of analysis/interpret.py (panel d), "
        "e.g. LV=D/int_demo none=D/int_demo_none",
    )
    p.add_argument(
        "--invariance",
        nargs="+",
        required=True,
        metavar="VARIANT=DIR",
        help="per variant, the seed-0 --output_dir of analysis/invariance.py (panel f), "
        "e.g. LV=D/inv_demo none=D/inv_demo_none",
    )
    p.add_argument(
        "--output",
        required=True,
        help="the PNG to write (1870 x 1045 px), e.g. docs/analysis_demo.png",
    )
    p.add_argument("--overwrite", action="store_true", help="allow replacing an existing --output")
    p.add_argument(
        "--title", default=DEFAULT_TITLE, help="figure title (default: the demo models' title)"
    )
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


@dataclass(frozen=True)
class Source:
    """One CLI's JSON file: where it is and how to write it again (for error messages)."""

    path: Path
    cli: str

    def error(self, problem: str) -> UserError:
        command = CLIS[self.cli][1]
        folder = self.path.parent
        return UserError(
            f"{self.path}: {problem}; re-run `{command.replace('DIR', str(folder))} --overwrite` "
            "with the current code"
        )


def get(record: Mapping[str, Any], keys: Sequence[str], src: Source) -> Any:
    """``record[keys[0]][keys[1]]...`` of a JSON record; a missing key is a `UserError` naming
    the file and the dotted key from the top of the file."""
    obj: Any = record
    for i, key in enumerate(keys):
        if not isinstance(obj, Mapping) or key not in obj:
            raise src.error(f"no key '{'.'.join(keys[: i + 1])}'")
        obj = obj[key]
    return obj


def number(record: Mapping[str, Any], keys: Sequence[str], src: Source) -> float:
    """`get` of a finite number."""
    v = get(record, keys, src)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise src.error(f"'{'.'.join(keys)}' is {v!r}, not a finite number")
    return float(v)


def load_json(folder: str | Path, cli: str, flag: str) -> tuple[dict[str, Any], Source]:
    """The record (``metrics``, ``options``, ...) of the JSON that ``cli`` wrote into ``folder``."""
    name, command = CLIS[cli]
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{flag}={folder}: no such folder; pass the --output_dir of `{command}`")
    path = folder / name
    if not path.is_file():
        raise UserError(
            f"{flag}={folder}: no {name} in it; pass the --output_dir of `{command}` "
            f"(it writes {name})"
        )
    src = Source(path, cli)
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise src.error(f"cannot read it as JSON ({exc})") from exc
    get(record, ["metrics"], src)
    return record, src


def parse_variants(items: Sequence[str], flag: str, single: bool = False) -> dict[str, list[str]]:
    """``["LV=a,b", "none=c"]`` -> ``{"LV": ["a", "b"], "none": ["c"]}``."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, dirs = item.partition("=")
        folders = [d for d in dirs.split(",") if d]
        if not sep or not name or not folders:
            raise UserError(f"{flag} {item!r}: expected VARIANT=DIR[,DIR...], e.g. LV=D/dis_demo")
        if name in out:
            raise UserError(f"{flag}: variant {name!r} given twice; give each variant once")
        if single and len(folders) != 1:
            raise UserError(f"{flag} {item!r}: one folder per variant (the seed-0 model's)")
        out[name] = folders
    return out


@dataclass
class DemoResults:
    """The numbers of the six panels, gathered from the CLIs' JSON files.

    Per-variant dicts are keyed by variant name in the order of ``variants``; lists over seeds
    follow the order of the folders given.
    """

    variants: list[str]
    correlation: dict[str, dict[str, list[float]]]  # variant -> measure -> per seed
    num_pairs: int
    num_samples: int
    cca_components: int
    retrained: tuple[str, dict[str, float]] | None  # (variant, measure -> value)
    feature_groups: list[str]
    factor_groups: list[str]
    factor_matrices: dict[str, np.ndarray]  # variant -> (seeds, feature groups, factor groups)
    diagonal_gaps: dict[str, list[float]]
    ig_groups: list[str]
    ig_shares: dict[str, np.ndarray]  # variant -> (labels, groups), fractions in [0, 1]
    ig_baseline: str
    probe_label: str
    group_sets: list[str]
    probe: dict[str, dict[str, dict[str, list[float]]]]  # variant -> set -> split -> per seed
    chance: dict[str, float]  # split -> majority-class rate of that split's labels
    inv_groups: list[str]
    inv_kinds: list[str]
    invariance: dict[str, dict[str, list[float]]]  # variant -> kind -> per group
    inv_images: int
    inv_split: str


def _same(values: Sequence[Any], what: str, sources: Sequence[Source], fix: str) -> Any:
    for v, src in zip(values, sources):
        if v != values[0]:
            raise UserError(
                f"{src.path}: {what} is {v!r} but {values[0]!r} in {sources[0].path}; {fix}"
            )
    return values[0]


def _check_variants(name: str, got: Mapping[str, Any], variants: Sequence[str]) -> None:
    if set(got) != set(variants):
        raise UserError(
            f"--{name}: variants {sorted(got)} but --disentangle has {sorted(variants)}; "
            "give the same variant names to every flag"
        )


def collect(
    disentangle: Mapping[str, Sequence[str]],
    robustness: Mapping[str, Sequence[str]],
    interpret: Mapping[str, Sequence[str]],
    invariance: Mapping[str, Sequence[str]],
    retrained: tuple[str, str] | None = None,
) -> DemoResults:
    """Read every JSON file and check that they fit one figure.

    Args:
        disentangle, robustness: variant -> result folders, one per seed.
        interpret, invariance: variant -> [the seed-0 result folder].
        retrained: optional (variant, disentangle.py folder) for the x marker of panel a.

    Raises:
        UserError: a folder, file or key is missing, or the files do not fit together.
    """
    variants = list(disentangle)
    if len(variants) != 2:
        raise UserError(
            f"--disentangle: {len(variants)} variant(s) {variants}; the figure compares "
            "exactly two, e.g. LV=... none=..."
        )
    for name, got in (
        ("robustness", robustness),
        ("interpret", interpret),
        ("invariance", invariance),
    ):
        _check_variants(name, got, variants)

    # (a-c) disentangle.py
    correlation: dict[str, dict[str, list[float]]] = {}
    mats: dict[str, list[np.ndarray]] = {}
    gaps: dict[str, list[float]] = {}
    dis_srcs: list[Source] = []
    pairs, samples, cca, fgroups, cgroups = [], [], [], [], []
    for k in variants:
        correlation[k] = {m: [] for m in MEASURES}
        mats[k], gaps[k] = [], []
        for folder in disentangle[k]:
            rec, src = load_json(folder, "disentangle", f"--disentangle {k}")
            dis_srcs.append(src)
            for meas in MEASURES:
                correlation[k][meas].append(
                    number(rec, ["metrics", "correlation", "mean", meas], src)
                )
            pairs.append(len(get(rec, ["metrics", "correlation", "pairs"], src)))
            samples.append(int(number(rec, ["metrics", "num_samples"], src)))
            cca.append(int(number(rec, ["options", "cca_components"], src)))
            fgroups.append(list(get(rec, [*FP, "feature_groups"], src)))
            cgroups.append(list(get(rec, [*FP, "factor_groups"], src)))
            try:
                mat = np.asarray(get(rec, [*FP, "matrix"], src), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise src.error(
                    f"'factor_prediction.matrix' is not a numeric matrix ({exc})"
                ) from exc
            if mat.shape != (len(fgroups[-1]), len(cgroups[-1])):
                raise src.error(
                    f"'factor_prediction.matrix' has shape {mat.shape}, expected "
                    f"{(len(fgroups[-1]), len(cgroups[-1]))} (feature x factor groups)"
                )
            mats[k].append(mat)
            gaps[k].append(number(rec, [*FP, "diagonal_gap"], src))
    fix = "run disentangle.py with the same options on the same split for every model"
    _same(fgroups, "factor_prediction.feature_groups", dis_srcs, fix)
    _same(cgroups, "factor_prediction.factor_groups", dis_srcs, fix)
    _same(pairs, "the number of group pairs", dis_srcs, fix)
    _same(samples, "num_samples", dis_srcs, fix)
    _same(cca, "options.cca_components", dis_srcs, fix)
    matrices = {k: np.stack(v) for k, v in mats.items()}  # (seeds, feature, factor groups)
    extra = None
    if retrained is not None:
        variant, folder = retrained
        if variant not in variants:
            raise UserError(
                f"--retrained {variant}={folder}: unknown variant; use one of {variants}"
            )
        rec, src = load_json(folder, "disentangle", f"--retrained {variant}")
        extra = (
            variant,
            {m: number(rec, ["metrics", "correlation", "mean", m], src) for m in MEASURES},
        )

    # (d) interpret.py
    ig_shares, ig_groups, baselines, int_srcs = {}, [], [], []
    for k in variants:
        rec, src = load_json(interpret[k][0], "interpret", f"--interpret {k}")
        int_srcs.append(src)
        groups = list(get(rec, ["metrics", "groups"], src))
        labels = get(rec, ["metrics", "labels"], src)
        if not isinstance(labels, Mapping) or not labels:
            raise src.error("'labels' is empty")
        ig_shares[k] = np.array(
            [
                [number(rec, ["metrics", "labels", lab, "shares", g], src) for g in groups]
                for lab in labels
            ]
        )
        ig_groups.append(groups)
        baselines.append(str(get(rec, ["options", "baseline"], src)))
    fix = "run interpret.py with the same --groups and --baseline for every model"
    _same(ig_groups, "groups", int_srcs, fix)
    _same(baselines, "options.baseline", int_srcs, fix)

    # (e) robustness.py
    probe: dict[str, dict[str, dict[str, list[float]]]] = {}
    rob_srcs, labels_, sets_ = [], [], []
    chances: dict[str, list[float]] = {split: [] for split, *_ in SPLITS}
    chance_srcs: list[Source] = []
    for k in variants:
        probe[k] = {}
        for folder in robustness[k]:
            rec, src = load_json(folder, "robustness", f"--robustness {k}")
            rob_srcs.append(src)
            labels_.append(str(get(rec, ["metrics", "label"], src)))
            p = get(rec, ["metrics", "probe"], src)
            if not isinstance(p, Mapping) or not p:
                raise src.error("'probe' is empty (run with --train/--test/--ood)")
            sets_.append(list(p))
            for s in p:
                for split, *_ in SPLITS:
                    acc = number(rec, ["metrics", "probe", s, split], src)
                    probe[k].setdefault(s, {}).setdefault(split, []).append(acc)
                    chances[split].append(
                        number(rec, ["metrics", "probe", s, f"chance_{split}"], src)
                    )
                    chance_srcs.append(src)
    fix = "run robustness.py with the same --label and --group_sets for every model"
    label = _same(labels_, "label", rob_srcs, fix)
    group_sets = _same(sets_, "the probe's group sets", rob_srcs, fix)
    chance = {}
    for split, vals in chances.items():
        i = int(np.argmax(np.abs(np.asarray(vals) - vals[0])))
        if abs(vals[i] - vals[0]) > 1e-9:
            raise UserError(
                f"{chance_srcs[i].path}: chance_{split} is {vals[i]} but {vals[0]} in "
                f"{chance_srcs[0].path}; the probes must be scored on the same {split} split "
                "for one chance line (extract every model's features with the same data.num_* "
                "settings)"
            )
        chance[split] = vals[0]

    # (f) invariance.py
    inv, inv_groups, kinds, images, splits, inv_srcs = {}, [], [], [], [], []
    for k in variants:
        rec, src = load_json(invariance[k][0], "invariance", f"--invariance {k}")
        inv_srcs.append(src)
        table = get(rec, ["metrics", "invariance"], src)
        if not isinstance(table, Mapping) or not table:
            raise src.error("'invariance' is empty")
        kinds.append(list(table))
        groups = list(get(rec, ["metrics", "invariance", kinds[-1][0]], src))
        inv_groups.append(groups)
        inv[k] = {
            kind: [
                number(rec, ["metrics", "invariance", kind, g, "change_vs_spread"], src)
                for g in groups
            ]
            for kind in table
        }
        images.append(int(number(rec, ["metrics", "num_images"], src)))
        splits.append(str(get(rec, ["metrics", "split"], src)))
    fix = "run invariance.py with the same --perturb, --split and --num_images for every model"
    _same(kinds, "the perturbed kinds", inv_srcs, fix)
    _same(inv_groups, "the groups", inv_srcs, fix)
    _same(images, "num_images", inv_srcs, fix)
    _same(splits, "split", inv_srcs, fix)

    return DemoResults(
        variants=variants,
        correlation=correlation,
        num_pairs=pairs[0],
        num_samples=samples[0],
        cca_components=cca[0],
        retrained=extra,
        feature_groups=fgroups[0],
        factor_groups=cgroups[0],
        factor_matrices=matrices,
        diagonal_gaps=gaps,
        ig_groups=ig_groups[0],
        ig_shares=ig_shares,
        ig_baseline=baselines[0],
        probe_label=label,
        group_sets=group_sets,
        probe=probe,
        chance=chance,
        inv_groups=inv_groups[0],
        inv_kinds=kinds[0],
        invariance=inv,
        inv_images=images[0],
        inv_split=splits[0],
    )


def _seeds(n: int) -> str:
    return "seed 0" if n == 1 else f"seeds 0-{n - 1}"


def _panel_correlation(ax, r: DemoResults) -> None:
    """(a) mean PCC, mean |r| and held-out CCA per training seed, one colour per variant."""
    step = 0.7 / len(r.variants)  # 0.35 for two variants
    ticks = [
        "paper PCC\n(matched |r|)",
        "mean |r|,\nall unit pairs",
        f"top-{r.cca_components} CCA\n(held out)",
    ]
    centre = (len(r.variants) - 1) / 2
    for i, meas in enumerate(MEASURES):
        first = i == 0
        for j, k in enumerate(r.variants):
            vals = r.correlation[k][meas]
            n = len(vals)
            xpos = i + (j - centre) * step
            ax.bar(
                xpos,
                np.mean(vals),
                step * 6 / 7,
                color=COLOURS[j],
                alpha=0.45,
                label=f"{k}: mean of {_seeds(n)}" if first else None,
            )
            ax.scatter(
                [xpos] * n,
                vals,
                color=COLOURS[j],
                edgecolor="k",
                zorder=3,
                s=28,
                label=f"{k}: one seed" if first else None,
            )
            top = list(vals)
            if r.retrained is not None and r.retrained[0] == k:
                top.append(r.retrained[1][meas])
            ax.text(xpos, max(top) + 0.02, f"{np.mean(vals):.3f}", ha="center", fontsize=8)
        if r.retrained is not None:
            k, values = r.retrained
            ax.scatter(
                [i + (r.variants.index(k) - centre) * step],
                [values[meas]],
                marker="x",
                color="k",
                zorder=4,
                label=f"{k} seed 0 retrained on the current code" if first else None,
            )
    ax.set_xticks(range(len(MEASURES)), ticks)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"mean over the {r.num_pairs} group pairs ({r.num_samples:,} images)")
    counts = {len(r.correlation[k][MEASURES[0]]) for k in r.variants}
    seeds = f"{counts.pop()} training seeds each" if len(counts) == 1 else "training seeds"
    ax.set_title(f"(a) correlation between feature groups, {seeds}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")


def _panel_factor_matrix(fig, ax, r: DemoResults, k: str, tag: str) -> None:
    """(b, c) feature group x ground-truth factor group, held-out ridge R^2, mean of the seeds."""
    mats = r.factor_matrices[k]  # (seeds, feature groups, factor groups)
    mat = mats.mean(0)
    im = ax.imshow(mat, vmin=0, vmax=0.5, cmap="viridis")
    for row in range(mat.shape[0]):
        for col in range(mat.shape[1]):
            ax.text(
                col,
                row,
                f"{mat[row, col]:.2f}\n[{mats[:, row, col].min():.2f}-{mats[:, row, col].max():.2f}]",
                ha="center",
                va="center",
                color="w" if mat[row, col] < 0.3 else "k",
                fontsize=8.5,
                fontweight="bold" if row == col else "normal",
            )
    ax.set_xticks(range(mat.shape[1]), r.factor_groups)
    ax.set_yticks(range(mat.shape[0]), r.feature_groups)
    ax.set_xlabel("ground-truth factor group")
    ax.set_ylabel("feature group")
    gaps = r.diagonal_gaps[k]
    ax.set_title(
        f"({tag}) factor prediction, held-out ridge $R^2$, {k}: mean [min-max] of "
        f"{len(mats)} seeds\ndiagonal gap {np.mean(gaps):.3f} [{min(gaps):.3f}-{max(gaps):.3f}]",
        fontsize=10,
    )
    fig.colorbar(im, ax=ax, fraction=0.046)


def _panel_ig(ax, r: DemoResults) -> None:
    """(d) IG share per group, mean and min-max over the explained labels."""
    x = np.arange(len(r.ig_groups))
    width = 0.76 / len(r.variants)  # 0.38 for two variants
    top = 50.0
    for j, k in enumerate(r.variants):
        sh = r.ig_shares[k] * 100  # (labels, groups), percent
        mean = sh.mean(0)
        xs = x + (j - (len(r.variants) - 1) / 2) * width
        ax.bar(
            xs,
            mean,
            width,
            yerr=[mean - sh.min(0), sh.max(0) - mean],
            capsize=3,
            color=COLOURS[j],
            label=f"{k} (bar: mean, whisker: min-max over labels)",
        )
        for xi, v in zip(xs, mean):
            ax.text(xi, 1, f"{v:.0f}", ha="center", va="bottom", fontsize=8, color="w")
        top = max(top, float(sh.max()) * 1.1)
    ax.axhline(100 / len(r.ig_groups), color="k", ls=":", lw=1)
    ax.set_xticks(x, r.ig_groups)
    ax.set_ylim(0, top)
    ax.set_ylabel(f"% of |IG| ({r.ig_baseline} baseline)")
    n_labels = {len(r.ig_shares[k]) for k in r.variants}
    what = f"{n_labels.pop()} attributes" if len(n_labels) == 1 else "attributes"
    ax.set_title(
        f"(d) IG share per group, probes on {what}, seed 0\n(dotted: equal shares)", fontsize=10
    )
    ax.legend(fontsize=8, loc="upper left")


def _panel_probe(ax, r: DemoResults) -> None:
    """(e) probe accuracy per split and group set, bars: mean, dots: seeds; chance per split."""
    xs, ticks, lowest = [], [], min(r.chance.values())
    pos = 0.0
    n_seeds = set()
    for k in r.variants:
        for s in r.group_sets:
            for dx, (split, colour, label, _) in zip((-0.2, 0.2), SPLITS):
                v = r.probe[k][s][split]
                n_seeds.add(len(v))
                lowest = min(lowest, *v)
                ax.bar(
                    pos + dx,
                    np.mean(v),
                    0.4,
                    color=colour,
                    alpha=0.6,
                    label=label if pos == 0 else None,
                )
                ax.scatter([pos + dx] * len(v), v, color=colour, edgecolor="k", s=22, zorder=3)
                ax.text(pos + dx, max(v) + 0.008, f"{np.mean(v):.3f}", ha="center", fontsize=8)
            xs.append(pos)
            ticks.append(f"{k}\n{s}")
            pos += 1
        pos += 0.4
    for split, colour, _, short in SPLITS:
        c = r.chance[split]
        ax.axhline(c, color=colour, ls="--", lw=1, label=f"majority class, {short} ({c:.3f})")
    ax.set_xticks(xs, ticks)
    ax.set_ylim(min(0.6, lowest - 0.05), 1.0)
    ax.set_ylabel("accuracy")
    sets = " vs ".join("all groups" if s == "all" else s for s in r.group_sets)
    seeds = _seeds(n_seeds.pop()) if len(n_seeds) == 1 else "seeds"
    ax.set_title(
        f"(e) linear probe for {r.probe_label} (fit on train), test vs ood\n"
        f"{sets}; bars: mean, dots: {seeds}",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper right", ncol=2)


def _panel_invariance(ax, r: DemoResults) -> None:
    """(f) change_vs_spread per group after re-rendering with a new light / view."""
    x = np.arange(len(r.inv_groups))
    n_bars = len(r.inv_kinds) * len(r.variants)
    width = 0.8 / n_bars  # 0.2 for two kinds x two variants
    top = 1.6
    for i, kind in enumerate(r.inv_kinds):
        for j, k in enumerate(r.variants):
            v = r.invariance[k][kind]
            off = (len(r.variants) * i + j - (n_bars - 1) / 2) * width
            ax.bar(
                x + off,
                v,
                width,
                color=COLOURS[j],
                hatch=HATCHES[i % len(HATCHES)],
                edgecolor="k",
                lw=0.4,
                label=f"new {kind}, {k}",
            )
            top = max(top, max(v) * 1.1)
    ax.set_xticks(x, r.inv_groups)
    ax.set_ylabel("feature movement / typical inter-image distance")
    ax.set_title(
        f"(f) feature movement after re-rendering {r.inv_images} {r.inv_split} images, seed 0\n"
        "(ideal: only the changed group moves)",
        fontsize=10,
    )
    ax.legend(fontsize=8, ncol=2, loc="upper left")
    ax.set_ylim(0, top)


def demo_figure(r: DemoResults, title: str = DEFAULT_TITLE):
    """The six-panel matplotlib ``Figure`` (17 x 9.5 in; not saved)."""
    fig, axes = pyplot().subplots(2, 3, figsize=(17, 9.5))
    _panel_correlation(axes[0, 0], r)
    for ax, k, tag in zip(axes[0, 1:], r.variants, "bc"):
        _panel_factor_matrix(fig, ax, r, k, tag)
    _panel_ig(axes[1, 0], r)
    _panel_probe(axes[1, 1], r)
    _panel_invariance(axes[1, 2], r)
    fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise UserError(f"--output {out}: must end in .png, e.g. docs/analysis_demo.png")
    if out.is_dir():
        raise UserError(f"--output {out}: is a folder; pass a .png file path")
    if out.exists() and not args.overwrite:
        raise UserError(f"--output {out}: exists; pass --overwrite or another --output")
    retrained = None
    if args.retrained is not None:
        one = parse_variants([args.retrained], "--retrained", single=True)
        retrained = next((k, v[0]) for k, v in one.items())
    r = collect(
        parse_variants(args.disentangle, "--disentangle"),
        parse_variants(args.robustness, "--robustness"),
        parse_variants(args.interpret, "--interpret", single=True),
        parse_variants(args.invariance, "--invariance", single=True),
        retrained,
    )
    fig = demo_figure(r, args.title)
    save_png(fig, out, dpi=110, bbox_inches=None)
    print(
        f"wrote {out}; {r.probe_label} majority class: test {r.chance['in_distribution']:.4f}, "
        f"ood {r.chance['ood']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli_main(main))
