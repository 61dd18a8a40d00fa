"""The six-panel summary figure of the analysis CLIs on two model variants (docs/analysis_demo.png).

    python docs/tools/demo_figure.py \
        --disentangle LV=D/dis_demo,D/dis_demo_s1_LV none=D/dis_demo_none,D/dis_demo_s1_none \
        --robustness LV=D/rob_demo_Blond_Hair,D/rob_demo_s1_LV_Blond_Hair \
                     none=D/rob_demo_none_Blond_Hair,D/rob_demo_s1_none_Blond_Hair \
        --interpret LV=D/int_demo none=D/int_demo_none \
        --invariance LV=D/inv_demo none=D/inv_demo_none \
        [--retrained LV=D/dis_demo_s0_LV_rerun] [--title TITLE] \
        --output docs/analysis_demo.png [--overwrite]

Reads only the results the other analysis CLIs write into their ``--output_dir``, through their
typed records (`analysis.records`): (a) group correlation per training seed
(``disentanglement.json``), (b, c) feature group x factor group matrix per variant, mean of the
seeds, (d) IG share per group (``interpretability.json``), (e) probe accuracy test vs ``ood``
with each split's majority-class chance (``robustness.json``), (f) feature movement after
re-rendering (``invariance.json``). Exactly two variants (e.g. LOOCC-LV and no LOOCC); each
variant's folders in seed order, seed 0 first; ``--interpret`` and ``--invariance`` take the
seed-0 folder of each variant. The title says what the inputs are (variants, seeds, images)
unless ``--title`` is given. The commands that make the folders: analysis/README.md, "Results on
the demo models".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from analysis.figures import pyplot, save_png
from analysis.records import (
    DisentanglementMetrics,
    FactorPredictionResults,
    InterpretabilityMetrics,
    InvarianceMetrics,
    Results,
    RobustnessMetrics,
    finite,
    read,
)
from unsup3d import cli
from unsup3d.api import UserError

log = logging.getLogger("docs.tools.demo_figure")

M = TypeVar("M")

# Panel (a): correlation measures of `disentanglement.json` and their tick labels.
MEASURES = ("matched_abs_r", "cross_abs_r", "cca_mean")
SPLITS = (
    ("in_distribution", "tab:green", "test (in distribution)", "test"),
    ("ood", "tab:red", "ood (novel light + view)", "ood"),
)
COLOURS = ("tab:blue", "tab:orange")
HATCHES = ("", "//", "..", "xx")


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags(
        "output",
        "overwrite",
        "verbose",
        helps={"output": "the PNG to write (1870 x 1045 px), e.g. docs/analysis_demo.png"},
    )
    p = cli.ArgumentParser(
        description="Compose the six-panel figure of the analysis CLIs on two model variants "
        "(docs/analysis_demo.png) from their JSON outputs.",
        parents=[shared],
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
        "--title",
        default=None,
        help="figure title (default: what the inputs are: the variants, seeds and images)",
    )
    return p


def parse_variants(
    items: Sequence[str], flag: str, single: bool = False, example: str = "LV=D/dis_demo"
) -> dict[str, list[str]]:
    """``["LV=a,b", "none=c"]`` -> ``{"LV": ["a", "b"], "none": ["c"]}`` (``example``: an item
    for the message of a malformed one)."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, dirs = item.partition("=")
        folders = [d for d in dirs.split(",") if d]
        if not sep or not name or not folders:
            raise UserError(f"{flag} {item!r}: expected VARIANT=DIR[,DIR...], e.g. {example}")
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

    def title(self) -> str:
        """What the inputs are, for a figure without ``--title``."""
        seeds = {len(v[MEASURES[0]]) for v in self.correlation.values()}
        each = f"{seeds.pop()} training seeds each" if len(seeds) == 1 else "several seeds"
        return (
            f"analysis/ CLIs on two model variants, {' vs '.join(self.variants)} ({each}; "
            f"{self.num_samples:,} test images)"
        )


def _read(
    metrics: type[M], folders: Mapping[str, Sequence[str]], flag: str
) -> dict[str, list[Results[M]]]:
    return {k: [read(metrics, f, f"{flag} {k}") for f in v] for k, v in folders.items()}


def _need(record: Results, value: Any, key: str, fix: str = "") -> Any:
    """A section the figure needs (None: absent from the file)."""
    if value is None or (isinstance(value, (dict, list)) and not value):
        raise record.error(f"no key '{key}'" + (f" or it is empty ({fix})" if fix else ""))
    return value


def _same(records: Sequence[Results], what: str, value: Callable[[Results], Any], fix: str) -> Any:
    """``value(record)``, the same for every record; else a `UserError` naming two files."""
    values = [value(r) for r in records]
    for v, r in zip(values, records):
        if v != values[0]:
            raise r.error(f"{what} is {v!r} but {values[0]!r} in {records[0].path}; {fix}")
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
    """Read every results file through its record and check that they fit one figure.

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
    if retrained is not None and retrained[0] not in variants:
        raise UserError(
            f"--retrained {retrained[0]}={retrained[1]}: unknown variant; use one of {variants}"
        )
    dis = _read(DisentanglementMetrics, disentangle, "--disentangle")
    rob = _read(RobustnessMetrics, robustness, "--robustness")
    ig = {k: v[0] for k, v in _read(InterpretabilityMetrics, interpret, "--interpret").items()}
    inv = {k: v[0] for k, v in _read(InvarianceMetrics, invariance, "--invariance").items()}
    extra = None
    if retrained is not None:
        rec = read(DisentanglementMetrics, retrained[1], f"--retrained {retrained[0]}")
        corr = _need(rec, rec.metrics.correlation, "metrics.correlation")
        extra = (retrained[0], {m: corr.mean[m] for m in MEASURES})
    return DemoResults(
        variants=variants,
        **_disentanglement(dis),
        retrained=extra,
        **_attribution(ig),
        **_probes(rob),
        **_invariance(inv),
    )


def _disentanglement(dis: Mapping[str, list[Results[DisentanglementMetrics]]]) -> dict[str, Any]:
    """(a-c) disentangle.py: correlation means per seed, factor matrices, diagonal gaps."""
    records = [r for v in dis.values() for r in v]
    for r in records:
        corr = _need(r, r.metrics.correlation, "metrics.correlation")
        gp = _need(r, r.metrics.factor_prediction, "metrics.factor_prediction")
        finite([corr.mean[m] for m in MEASURES], "metrics.correlation.mean", r)
        shape = (len(gp.feature_groups), len(gp.factor_groups))
        if len(gp.matrix) != shape[0] or any(len(row) != shape[1] for row in gp.matrix):
            raise r.error(
                f"'metrics.factor_prediction.matrix' is not {shape[0]} x {shape[1]} "
                "(feature x factor groups)"
            )
        finite(gp.matrix, "metrics.factor_prediction.matrix", r)
    fix = "run disentangle.py with the same options on the same split for every model"

    def fp(r: Results[DisentanglementMetrics]) -> FactorPredictionResults:
        return r.metrics.factor_prediction

    return {
        "correlation": {
            k: {m: [r.metrics.correlation.mean[m] for r in v] for m in MEASURES}
            for k, v in dis.items()
        },
        "feature_groups": _same(
            records, "factor_prediction.feature_groups", lambda r: fp(r).feature_groups, fix
        ),
        "factor_groups": _same(
            records, "factor_prediction.factor_groups", lambda r: list(fp(r).factor_groups), fix
        ),
        "num_pairs": _same(
            records, "the number of group pairs", lambda r: len(r.metrics.correlation.pairs), fix
        ),
        "num_samples": _same(records, "num_samples", lambda r: r.metrics.num_samples, fix),
        "cca_components": _same(
            records, "options.cca_components", lambda r: r.option("cca_components", int), fix
        ),
        # (seeds, feature groups, factor groups)
        "factor_matrices": {
            k: np.stack([np.asarray(fp(r).matrix) for r in v]) for k, v in dis.items()
        },
        "diagonal_gaps": {k: [fp(r).diagonal_gap for r in v] for k, v in dis.items()},
    }


def _attribution(ig: Mapping[str, Results[InterpretabilityMetrics]]) -> dict[str, Any]:
    """(d) interpret.py: IG shares per label and group."""
    records = list(ig.values())
    for r in records:
        _need(r, r.metrics.labels, "metrics.labels", "explain at least one label")
    fix = "run interpret.py with the same --groups and --baseline for every model"
    groups = _same(records, "groups", lambda r: r.metrics.groups, fix)
    shares = {
        k: finite(
            [[lab.shares[g] for g in groups] for lab in r.metrics.labels.values()],
            "metrics.labels.*.shares",
            r,
        )
        for k, r in ig.items()
    }
    return {
        "ig_groups": groups,
        "ig_shares": shares,
        "ig_baseline": _same(records, "options.baseline", lambda r: r.option("baseline", str), fix),
    }


def _probes(rob: Mapping[str, list[Results[RobustnessMetrics]]]) -> dict[str, Any]:
    """(e) robustness.py: probe accuracy per set, split and seed; each split's chance."""
    records = [r for v in rob.values() for r in v]
    for r in records:
        _need(r, r.metrics.probe, "metrics.probe", "run with --train/--test/--ood")
    fix = "run robustness.py with the same --label and --group_sets for every model"
    label = _same(records, "label", lambda r: r.metrics.label, fix)
    sets = _same(records, "the probe's group sets", lambda r: list(r.metrics.probe), fix)
    probe = {
        k: {s: {split: [getattr(r.metrics.probe[s], split) for r in v] for split, *_ in SPLITS}
            for s in sets}
        for k, v in rob.items()
    }  # fmt: skip
    chance = {}
    for split, *_ in SPLITS:
        key = f"chance_{split}"
        values = [(getattr(p, key), r) for r in records for p in r.metrics.probe.values()]
        first, first_record = values[0]
        for v, r in values:
            if abs(v - first) > 1e-9:
                raise r.error(
                    f"{key} is {v} but {first} in {first_record.path}; the probes must be scored "
                    f"on the same {split} split for one chance line (extract every model's "
                    "features with the same data.num_* settings)"
                )
        chance[split] = first
    return {"probe_label": label, "group_sets": sets, "probe": probe, "chance": chance}


def _invariance(inv: Mapping[str, Results[InvarianceMetrics]]) -> dict[str, Any]:
    """(f) invariance.py: change_vs_spread per kind and group."""
    records = list(inv.values())
    for r in records:
        _need(r, r.metrics.invariance, "metrics.invariance")
    fix = "run invariance.py with the same --perturb, --split and --num_images for every model"
    kinds = _same(records, "the perturbed kinds", lambda r: list(r.metrics.invariance), fix)
    groups = _same(
        records, "the groups", lambda r: list(next(iter(r.metrics.invariance.values()))), fix
    )
    table = {
        k: {
            kind: finite(
                [r.metrics.invariance[kind][g].change_vs_spread for g in groups],
                f"metrics.invariance.{kind}.*.change_vs_spread",
                r,
            ).tolist()
            for kind in kinds
        }
        for k, r in inv.items()
    }
    return {
        "inv_groups": groups,
        "inv_kinds": kinds,
        "invariance": table,
        "inv_images": _same(records, "num_images", lambda r: r.metrics.num_images, fix),
        "inv_split": _same(records, "split", lambda r: r.metrics.split, fix),
    }


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


def demo_figure(r: DemoResults, title: str | None = None):
    """The six-panel matplotlib ``Figure`` (17 x 9.5 in; not saved)."""
    fig, axes = pyplot().subplots(2, 3, figsize=(17, 9.5))
    _panel_correlation(axes[0, 0], r)
    for ax, k, tag in zip(axes[0, 1:], r.variants, "bc"):
        _panel_factor_matrix(fig, ax, r, k, tag)
    _panel_ig(axes[1, 0], r)
    _panel_probe(axes[1, 1], r)
    _panel_invariance(axes[1, 2], r)
    fig.suptitle(title or r.title(), fontsize=13)
    fig.tight_layout()
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.output is None:
        raise UserError("--output: required, e.g. --output docs/analysis_demo.png")
    if args.output.suffix.lower() != ".png":
        raise UserError(f"--output {args.output}: must end in .png, e.g. docs/analysis_demo.png")
    out = cli.check_output_file(args.output, args.overwrite)
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
    save_png(demo_figure(r, args.title), out, dpi=110, bbox_inches=None)
    print(
        f"wrote {out}; {r.probe_label} majority class: test {r.chance['in_distribution']:.4f}, "
        f"ood {r.chance['ood']:.4f}"
    )
    return 0


if __name__ == "__main__":
    cli.run(main)
