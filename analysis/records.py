"""The results JSON of every analysis CLI, as typed records that write it and read it back.

Each CLI writes one ``<name>.json`` through `unsup3d.cli.write_results`: ``metrics`` (the
numbers), ``inputs`` (path + SHA-256), ``options`` (the resolved flags), ``command`` and
``git_sha``. Its ``metrics`` object is described by one dataclass here (nested dataclasses for
nested objects), which also names its file (``FILE``) and the CLI that writes it (``CLI``):

| CLI | file | metrics record |
|---|---|---|
| ``disentangle.py`` | ``disentanglement.json`` | `DisentanglementMetrics` |
| ``robustness.py`` | ``robustness.json`` | `RobustnessMetrics` |
| ``interpret.py`` | ``interpretability.json`` | `InterpretabilityMetrics` |
| ``gradcam.py`` | ``gradcam.json`` | `GradCamMetrics` |
| ``invariance.py`` | ``invariance.json`` | `InvarianceMetrics` |

A CLI builds the metrics record and calls ``write(folder, metrics, ...)``; a reader calls
``read(DisentanglementMetrics, folder)`` and gets a `Results` whose ``metrics`` are typed, or one
`UserError` naming the file, the dotted key (``metrics.probe.all.chance_ood``) and the command
that writes the file again. Files only ever gain fields: a field added later gets a default, so
older files still read; a reader ignores keys it does not know. An optional section (a field
whose default is None) is left out of the file when it is None, as the CLIs always did.
`cli_parser` gives every analysis CLI the kit's flags for a CLI that writes a results folder,
`add_settings_flags` the flags of a settings dataclass.

This module is a leaf: the analysis library modules build these records, it imports none of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from unsup3d import cli
from unsup3d.api import UserError

M = TypeVar("M")

# --------------------------------------------------------------------------------------------
# Typed JSON: dataclass <-> plain JSON values


class RecordError(ValueError):
    """A JSON value does not fit its record; ``key`` is the dotted path from the file's top."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def to_json(obj: Any) -> Any:
    """Plain JSON values of a record: dataclasses become objects in field order; an optional
    section (a None field whose default is None) is left out."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = [(f, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
        return {f.name: to_json(v) for f, v in fields if v is not None or f.default is not None}
    if isinstance(obj, Mapping):
        return {k: to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    return obj


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, Mapping) else repr(value)


def from_json(tp: Any, value: Any, key: str = "") -> Any:
    """``value`` (parsed JSON) as type ``tp``: a dataclass, ``dict[str, T]``, ``list[T]``, a
    union (``T | None``, ``int | str``), float (any number, NaN included), int, str, bool, Any.

    Raises:
        RecordError: a required key is missing or a value has the wrong type.
    """
    origin = typing.get_origin(tp)
    if tp is Any or isinstance(tp, TypeVar):
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise RecordError(key, f"is {_kind(value)}, not an object")
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            sub = f"{key}.{f.name}" if key else f.name
            if f.name in value:
                kwargs[f.name] = from_json(hints[f.name], value[f.name], sub)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RecordError(sub, "missing")
        return tp(**kwargs)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        errors = []
        for arg in options:
            try:
                return from_json(arg, value, key)
            except RecordError as exc:
                errors.append(exc)
        deepest = max(errors, key=lambda e: len(e.key))
        if len(options) == 1 or deepest.key != key:
            raise deepest  # the value is of this type, but something inside it is not
        names = " or ".join(getattr(a, "__name__", str(a)) for a in options)
        raise RecordError(key, f"is {_kind(value)}, not {names}")
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise RecordError(key, f"is {_kind(value)}, not an object")
        item = typing.get_args(tp)[1]
        return {k: from_json(item, v, f"{key}.{k}") for k, v in value.items()}
    if origin in (list, Sequence):
        if not isinstance(value, list):
            raise RecordError(key, f"is {_kind(value)}, not a list")
        item = typing.get_args(tp)[0]
        return [from_json(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(key, f"is {_kind(value)}, not a number")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise RecordError(key, f"is {_kind(value)}, not {tp.__name__}")
        return value
    raise TypeError(f"{key}: unsupported record type {tp!r}")


def _problem(exc: RecordError) -> str:
    return f"no key '{exc.key}'" if exc.problem == "missing" else f"'{exc.key}' {exc.problem}"


@dataclass
class InputFile:
    """A file the results were computed from."""

    path: str
    sha256: str


@dataclass
class Results(Generic[M]):
    """One CLI's results file as read back: typed ``metrics`` and the common part written by
    `unsup3d.cli.write_results`."""

    metrics: M
    inputs: list[InputFile] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    git_sha: str = "unknown"
    path: Path | None = field(default=None, init=False, repr=False, compare=False)

    def option(self, name: str, tp: Any) -> Any:
        """The recorded option ``name`` (a CLI flag) as type ``tp``; a `UserError` if absent."""
        key = f"options.{name}"
        try:
            if name not in self.options:
                raise RecordError(key, "missing")
            return from_json(tp, self.options[name], key)
        except RecordError as exc:
            raise self.error(_problem(exc)) from None

    def error(self, problem: str) -> UserError:
        """A `UserError` about this file: ``<path>: <problem>; re-run `<command>` ...``."""
        return _error(type(self.metrics), self.path or Path(self.metrics.FILE), problem)


def command(metrics_type: type, folder: str | os.PathLike = "DIR") -> str:
    """The command that writes ``metrics_type``'s file into ``folder``."""
    return f"python {metrics_type.CLI} --output_dir {folder}"


def _error(metrics_type: type, path: Path, problem: str) -> UserError:
    fix = command(metrics_type, path.parent)
    return UserError(f"{path}: {problem}; re-run `{fix} --overwrite` with the current code")


def write(
    folder: str | os.PathLike,
    metrics: Any,
    *,
    inputs: Sequence[str | os.PathLike],
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    leave_out: Sequence[str] = (),
) -> Path:
    """Write a metrics record's results file (``folder/<metrics.FILE>``) atomically.

    Args:
        metrics: one of the metrics records (`DisentanglementMetrics`, ...).
        inputs: the files the results were computed from (recorded with their SHA-256).
        args: the parsed flags, recorded as ``options`` (less ``verbose`` and ``leave_out``).
        argv: the CLI's arguments as given to its ``main``; recorded as
            ``cli.command_line(<the script of CLI>, argv)`` (None: the command line that ran).

    Returns:
        The path written.
    """
    path = Path(folder) / metrics.FILE
    options = {k: v for k, v in vars(args).items() if k not in ("verbose", *leave_out)}
    command = cli.command_line(metrics.CLI.split()[0], argv)
    cli.write_results(path, to_json(metrics), inputs=inputs, argv=command, options=options)
    return path


def read(metrics_type: type[M], folder: str | os.PathLike, flag: str = "--input") -> Results[M]:
    """Read the results file of ``metrics_type`` (its ``FILE``) from a CLI's output folder.

    Args:
        folder: the CLI's ``--output_dir``.
        flag: the reader's flag that named the folder, for the messages.

    Raises:
        UserError: no folder, no file, not JSON, or a key missing or of the wrong type; the
            message names the file, the dotted key and the command that writes it again.
    """
    name, writer = metrics_type.FILE, command(metrics_type)
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{flag}={folder}: no such folder; pass the --output_dir of `{writer}`")
    path = folder / name
    if not path.is_file():
        raise UserError(
            f"{flag}={folder}: no {name} in it; pass the --output_dir of `{writer}` "
            f"(it writes {name})"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _error(metrics_type, path, f"cannot read it as JSON ({exc})") from exc
    try:
        record = from_json(Results, data)
        record.metrics = from_json(metrics_type, record.metrics, "metrics")
    except RecordError as exc:
        raise _error(metrics_type, path, _problem(exc)) from None
    record.path = path
    return record


def add_settings_flags(
    parser: argparse.ArgumentParser, settings: type, helps: Mapping[str, str]
) -> None:
    """One flag ``--<field>`` per field of a settings dataclass named in ``helps`` (field ->
    help): its default and type from the dataclass (the one place they are defined), the
    choices of a ``Literal`` field, the default appended to the help."""
    defaults, types = settings(), typing.get_type_hints(settings)
    for name, what in helps.items():
        default = getattr(defaults, name)
        parser.add_argument(
            f"--{name}",
            type=type(default),
            default=default,
            choices=typing.get_args(types[name]) or None,  # a Literal's values
            help=f"{what} (default {default})",
        )


def cli_parser(
    description: str,
    *extra: str,
    helps: Mapping[str, str],
    defaults: Mapping[str, Any] | None = None,
) -> cli.ArgumentParser:
    """The parser of an analysis CLI: the CLI kit's flags of a CLI that writes a results folder
    (``--output_dir``, ``--overwrite``, ``--seed``, ``-v``) plus the ``extra`` shared flags
    (``gpu``, ``batch_size``), with per-CLI ``helps`` and ``defaults`` (`unsup3d.cli`)."""
    names = ("output_dir", "overwrite", "seed", *extra, "verbose")
    shared = cli.shared_flags(*names, defaults=defaults, helps=helps)
    return cli.ArgumentParser(description=description, parents=[shared])


def finite(values: Any, what: str, record: Results) -> np.ndarray:
    """``values`` as a float64 array; a `UserError` about ``record`` if any is not finite."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise record.error(f"'{what}' is {values!r}, not finite")
    return arr


# --------------------------------------------------------------------------------------------
# disentangle.py: disentanglement.json


@dataclass
class PairCorrelation:
    """All correlation measures for one pair of feature groups (`analysis.correlation`)."""

    matched_abs_r: float
    matched_dims_used: int
    cross_abs_r: float
    norm_r: float
    cca_mean: float
    cca_first: float
    cca_in_sample: float


@dataclass
class CorrelationResults:
    """`analysis.correlation.GroupCorrelation`: pairs ``"a|b"``, means over pairs, matrices."""

    groups: list[str]
    pairs: dict[str, PairCorrelation]
    mean: dict[str, float]
    matrices: dict[str, list[list[float]]]


@dataclass
class FactorPredictionResults:
    """`analysis.factor_groups.FactorPrediction`: held-out ridge R^2, feature group x factor
    group (``matrix``, rows ``feature_groups``, columns the keys of ``factor_groups``)."""

    feature_groups: list[str]
    factor_groups: dict[str, list[str]]
    matrix: list[list[float]]
    per_factor: dict[str, dict[str, float]]
    diagonal_gap: float
    per_group_gap: dict[str, float]


@dataclass
class MIGResults:
    mig: float
    per_factor: dict[str, float]


@dataclass
class SAPResults:
    sap: float
    continuous_factors: bool


@dataclass
class DCIResults:
    model: str  # lasso or gbt
    disentanglement: float
    completeness: float
    informativeness_train: float
    informativeness_test: float


@dataclass
class FactorVAEResults:
    eval_accuracy: float
    train_accuracy: float
    eval_accuracy_above_chance: float
    estimator: str


@dataclass
class FactorMetrics:
    """The factor metrics of the concatenated groups (constant factors and dead units dropped)."""

    factor_names: list[str]
    continuous_factors: list[str]
    num_code_dims: int
    num_live_code_dims: int
    mig: MIGResults | None = None
    sap: SAPResults | None = None
    dci: DCIResults | None = None
    factorvae: FactorVAEResults | None = None


@dataclass
class DisentanglementMetrics:
    """``metrics`` of ``disentanglement.json``; a section is absent when not computed."""

    FILE = "disentanglement.json"
    CLI = "analysis/disentangle.py F/M_test.npz"  # + --output_dir DIR

    groups: list[str]
    num_samples: int
    correlation: CorrelationResults | None = None
    factor_prediction: FactorPredictionResults | None = None
    factor_metrics: FactorMetrics | None = None
    figures: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The table ``disentangle.py`` prints."""
        lines = []
        corr = self.correlation
        if corr:
            lines.append(f"group correlation (mean over {len(corr.pairs)} pairs)")
            for k, v in corr.mean.items():
                lines.append(f"  {k:<22s} {v:8.4f}")
            lines.append(
                f"  {'pair':<16s} {'matched|r|':>10s} {'cross|r|':>9s} {'norm r':>8s} {'CCA':>7s}"
            )
            for pair, p in corr.pairs.items():
                lines.append(
                    f"  {pair:<16s} {p.matched_abs_r:10.4f} {p.cross_abs_r:9.4f} "
                    f"{p.norm_r:8.4f} {p.cca_mean:7.4f}"
                )
        fm = self.factor_metrics
        if fm and fm.mig:
            lines.append(f"{'MIG':<24s} {fm.mig.mig:8.4f}")
        if fm and fm.sap:
            lines.append(f"{'SAP':<24s} {fm.sap.sap:8.4f}")
        if fm and fm.dci:
            d = fm.dci
            lines.append(
                f"DCI ({d.model}){'':<13s} D {d.disentanglement:.4f}  C {d.completeness:.4f}  "
                f"I(test) {d.informativeness_test:.4f}"
            )
        if fm and fm.factorvae:
            f = fm.factorvae
            lines.append(
                f"{'FactorVAE':<24s} {f.eval_accuracy:8.4f}  (above chance {f.eval_accuracy_above_chance:.4f})"
            )
        gp = self.factor_prediction
        if gp:
            cols = list(gp.factor_groups)
            lines.append("factor-group prediction (held-out ridge R^2; rows: feature groups)")
            lines.append("  " + f"{'':<10s}" + "".join(f"{c:>9s}" for c in cols))
            for g, row in zip(gp.feature_groups, gp.matrix, strict=True):
                lines.append("  " + f"{g:<10s}" + "".join(f"{v:9.3f}" for v in row))
            lines.append(f"  diagonal gap {gp.diagonal_gap:.4f}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# robustness.py: robustness.json


@dataclass
class ProbeShift:
    """Probe accuracy in distribution and out of distribution (`analysis.robust.probe_shift`).

    Attributes:
        in_distribution: accuracy on the in-distribution test features.
        ood: accuracy on the OOD features.
        drop: ``in_distribution - ood`` (larger = less robust).
        chance: in-distribution test accuracy of always predicting the most frequent
            *training* label (kept for old results; the per-split chance levels are below).
        chance_in_distribution: majority-class rate of the test split's own labels.
        chance_ood: majority-class rate of the OOD split's own labels (its class balance can
            differ from the test split's, so compare ``ood`` with this, not with ``chance``).
        majority_in_distribution, majority_ood: the majority class of each split.
    """

    in_distribution: float
    ood: float
    drop: float
    chance: float
    chance_in_distribution: float
    chance_ood: float
    majority_in_distribution: int | str
    majority_ood: int | str


@dataclass
class ClusterScores:
    nmi: float
    hungarian_accuracy: float


@dataclass
class ClusterShift:
    """Ward-HAC scores on each split and their drop (`analysis.robust.cluster_shift`)."""

    in_distribution: ClusterScores
    ood: ClusterScores
    drop: ClusterScores


@dataclass
class GroupInvariance:
    """Movement of one group's features under a re-render (`analysis.robust`).

    Attributes:
        relative_change: mean_i ||f'_i - f_i|| / ||f_i|| over samples with ||f_i|| > 0.
        change_vs_spread: RMS movement / RMS distance between two random samples of the group.
        num_samples: samples used for ``relative_change``.
    """

    relative_change: float
    change_vs_spread: float
    num_samples: int


@dataclass
class FeatureInvariance:
    change: str  # what was changed in --after
    groups: dict[str, GroupInvariance]


@dataclass
class RobustnessMetrics:
    """``metrics`` of ``robustness.json``: the probe and cluster shift (``--train/--test/--ood``),
    the feature movement (``--before/--after``)."""

    FILE = "robustness.json"
    CLI = "analysis/robustness.py --train TRAIN.npz --test TEST.npz --ood OOD.npz --label NAME"  # + --output_dir DIR

    label: str | None = None
    probe: dict[str, ProbeShift] | None = None
    cluster: dict[str, ClusterShift] | None = None
    invariance: FeatureInvariance | None = None
    figures: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The table ``robustness.py`` prints."""
        lines = []
        if self.probe:
            label = self.label
            lines.append(f"probe for {label}: accuracy per split and that split's chance")
            lines.append(
                f"{'group set':<28s} {'in-dist acc':>11s} {'chance':>7s} {'ood acc':>8s} "
                f"{'chance':>7s} {'drop':>7s}"
            )
            for k, v in self.probe.items():
                lines.append(
                    f"{k:<28s} {v.in_distribution:11.4f} {v.chance_in_distribution:7.4f} "
                    f"{v.ood:8.4f} {v.chance_ood:7.4f} {v.drop:7.4f}"
                )
            v = next(iter(self.probe.values()))
            lines.append(
                "chance = majority-class rate of the split's own labels: "
                f"in-dist {label}={v.majority_in_distribution} "
                f"({v.chance_in_distribution:.4f}), ood {label}={v.majority_ood} "
                f"({v.chance_ood:.4f})"
            )
        for k, cs in (self.cluster or {}).items():
            lines.append(
                f"{k:<28s} HAC NMI in-dist {cs.in_distribution.nmi:.4f}  ood {cs.ood.nmi:.4f}"
            )
        if self.invariance:
            inv = self.invariance
            lines.append(f"feature movement after a new {inv.change}: group, relative, vs spread")
            for g, v in inv.groups.items():
                lines.append(f"  {g:<10s} {v.relative_change:9.4f} {v.change_vs_spread:9.4f}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# interpret.py: interpretability.json; gradcam.py: gradcam.json


@dataclass
class IGSummary:
    """`analysis.attribution.IGShares` in numbers: group shares of |IG| (mean of the
    per-sample shares, and pooled over the batch) and the largest completeness error."""

    shares: dict[str, float]
    pooled_shares: dict[str, float]
    max_abs_delta: float
    mean_abs_output_difference: float
    num_samples: int


@dataclass
class LabelAttribution(IGSummary):
    """One explained label: the probe's held-out accuracy and its IG shares."""

    probe_test_accuracy: float


@dataclass
class InterpretabilityMetrics:
    """``metrics`` of ``interpretability.json``: IG shares per explained label."""

    FILE = "interpretability.json"
    CLI = "analysis/interpret.py F/M_test.npz --labels a,b"  # + --output_dir DIR

    groups: list[str]
    labels: dict[str, LabelAttribution]
    figures: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The table ``interpret.py`` prints."""
        lines = [
            f"{'label':<22s} {'probe acc':>9s} "
            + " ".join(f"{g:>8s}" for g in self.groups)
            + "  (% of |IG|)"
        ]
        for name, r in self.labels.items():
            lines.append(
                f"{name:<22s} {r.probe_test_accuracy:9.4f} "
                + " ".join(f"{100 * r.shares[g]:8.1f}" for g in self.groups)
            )
        return "\n".join(lines)


@dataclass
class CamLayerResults:
    module: str  # qualified name inside the model
    output_size: list[int]  # (h, w)


@dataclass
class CamSummary:
    """One encoder's Grad-CAM maps: mean, max, share of images with a non-zero map, count of
    all-zero maps (no positive evidence), all finite."""

    mean: float
    max: float
    nonzero_images: float
    zero_images: int
    finite: bool


@dataclass
class GradCamMetrics:
    """``metrics`` of ``gradcam.json``."""

    FILE = "gradcam.json"
    CLI = "analysis/gradcam.py --checkpoint runs/M/best.pt --features F/M_train.npz"  # + --output_dir DIR

    label: str
    groups: list[str]
    split: str
    num_images: int
    image_ids: list[str]
    probe_train_accuracy: float
    predicted: list[int | str]
    layers: dict[str, CamLayerResults]
    cam: dict[str, CamSummary]
    ig: IGSummary
    figures: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The table ``gradcam.py`` prints."""
        lines = [
            f"{'encoder':<8s} {'layer':<34s} {'map':>5s} {'IG share':>9s} {'CAM mass':>9s} "
            f"{'zero maps':>9s}"
        ]
        for g in self.groups:
            lay, cam = self.layers[g], self.cam[g]
            zero = f"{cam.zero_images}/{self.num_images}"
            lines.append(
                f"{g:<8s} {lay.module:<34s} {lay.output_size[0]:>2d}x{lay.output_size[1]:<2d} "
                f"{100 * self.ig.shares[g]:8.1f}% {cam.mean:9.3g} {zero:>9s}"
            )
        lines.append(
            "zero maps: images whose map is all zero (no positive evidence; 'map = 0' in the figure)"
        )
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# invariance.py: invariance.json


@dataclass
class InvarianceRow(GroupInvariance):
    """`GroupInvariance` plus the movement relative to the spread of the *input* images'
    features (a normaliser that does not depend on how varied the re-renders are)."""

    change_vs_input_spread: float


@dataclass
class PerturbationRanges:
    light_intensity_delta: float
    light_direction_deg: float
    view_pitch_deg: float
    view_yaw_deg: float


@dataclass
class SceneChange:
    """Mean absolute change of each scene parameter actually drawn."""

    ambient: float
    diffuse: float
    light_direction_deg: float
    view_pitch_deg: float
    view_yaw_deg: float


@dataclass
class InvarianceMetrics:
    """``metrics`` of ``invariance.json``: per perturbed kind and group, the feature movement
    between the reference and the perturbed re-render. ``mode``: ``render`` (the model's
    predicted scene re-rendered by its renderer; ``reconstruction``: input vs reference
    re-render) or ``data`` (the synthetic ground-truth scene re-rendered by the generator; the
    reference is the input image, so there is no ``reconstruction``)."""

    FILE = "invariance.json"
    CLI = "analysis/invariance.py --checkpoint runs/M/best.pt"  # + --output_dir DIR

    split: str
    num_images: int
    ranges: PerturbationRanges
    invariance: dict[str, dict[str, InvarianceRow]]
    scene_change: dict[str, SceneChange]
    image_change: dict[str, float]
    most_moved: dict[str, str | None]
    reconstruction: dict[str, InvarianceRow] | None = None
    mode: str = "render"
    files: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The table ``invariance.py`` prints."""
        lines = [
            f"{'change':<10s} {'group':<8s} {'rel. change':>11s} {'vs spread':>10s} "
            f"{'vs input spread':>15s}"
        ]
        recon = [("recon", self.reconstruction)] if self.reconstruction is not None else []
        for k, v in [*self.invariance.items(), *recon]:
            for g, r in v.items():
                lines.append(
                    f"{k:<10s} {g:<8s} {r.relative_change:11.4f} {r.change_vs_spread:10.4f} "
                    f"{r.change_vs_input_spread:15.4f}"
                )
        for k, sc in self.scene_change.items():
            lines.append(
                f"{k}: mean |pixel change| {self.image_change[k]:.4f}; "
                + ", ".join(f"{key} {val:.3g}" for key, val in vars(sc).items() if val > 0)
                + f"; most moved: {self.most_moved[k]}"
            )
        return "\n".join(lines)
