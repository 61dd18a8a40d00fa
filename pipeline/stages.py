"""The stage graph of a pipeline config: train -> extract -> evaluate (the report comes last).

`plan` turns a `PipelineConfig` into `Stage`s, each naming the project CLI calls it makes, the
upstream files it reads and the settings that determine it. Argument templates hold two kinds
of placeholder, filled in when the stage runs: ``{out}`` (the stage's own folder) and
``{in:NAME}`` (a file of an upstream stage, `Stage.inputs`). A stage that cannot run yet (a
model or an evaluation another issue is building, an evaluation not wired) carries its reason in
`Stage.not_run` and is shown so in the report, never with a made-up number.

Stage names are paths: ``train/pdr_LV/s0``, ``extract/vqvae/s1/test``, ``probe/ae/s0/Smiling``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.settings import PDR_METHOD, PipelineConfig, section_dict
from unsup3d.api import MODELS, UserError, config_to_dict, load_config, model_class

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = "best.pt"
FEATURES = "features.npz"

# The evaluations, in the order the report lists them: stage kind -> what it measures.
EVALUATIONS = {
    "identity": "identity clustering of face tracks (ward HAC on per-track means)",
    "emotion": "emotion clustering of the test split (ward HAC)",
    "attributes": "attribute clustering of the test split (ward HAC, one clustering per label)",
    "finch": "FINCH on the face tracks' identities",
    "probe": "frozen linear probe per label budget",
    "probe_finetune": "finetuned probe per label budget",
    "disentangle": "disentanglement against ground-truth factors",
    "robustness": "frozen probe on the test split vs the ood split",
    "invariance": "feature movement after re-rendering with a new light or view",
    "segmentation": "part segmentation (supervised, depth, albedo, joint, frozen joint)",
}
# Why an evaluation shows "not run" although enabled (wiring another issue delivers).
FINETUNE_NOT_WIRED = (
    "not run: the finetuned probe reads images only from a packed .npz or labels.csv, not "
    "through the dataset registry (issue #21 item 7)"
)


@dataclass(frozen=True)
class Method:
    """One row of the tables: a PDR variant or a model of the registry."""

    name: str  # pdr_LV, vqvae, ...
    model: str  # the registry name: pdr, vqvae, ...
    config: Path  # its experiment YAML

    @property
    def is_pdr(self) -> bool:
        return self.model == "pdr"


@dataclass(frozen=True)
class Stage:
    """One cached unit of work.

    Attributes:
        name: the stage path, e.g. ``extract/pdr_LV/s0/test``.
        kind: ``train``, ``extract`` or an evaluation of `EVALUATIONS`.
        method, seed: the table row and seed it belongs to.
        settings: what determines it besides its input files (its config section, split, ...).
        inputs: placeholder -> (upstream stage name, file in that stage's folder).
        commands: ``(tool, argv template)`` per call, tool as the docs spell it (``run.py``).
        outputs: files (in the stage's folder) that must exist when it has run.
        not_run: why it cannot run; None when it can.
        resume: keep the half-written folder of an interrupted attempt (training resumes).
    """

    name: str
    kind: str
    method: str
    seed: int
    settings: Mapping[str, Any]
    inputs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    commands: tuple[tuple[str, tuple[str, ...]], ...] = ()
    outputs: tuple[str, ...] = ()
    not_run: str | None = None
    resume: bool = False

    @property
    def deps(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(stage for stage, _ in self.inputs.values()))


def project_version() -> str:
    """The installed project's version: part of every cache key."""
    try:
        return metadata.version("pdr")
    except metadata.PackageNotFoundError:
        return "unknown"


def stage_key(stage: Stage, input_hashes: Mapping[str, str], version: str) -> str:
    """The cache key of ``stage``: a hash of its kind, settings, argument templates, its input
    files' SHA-256 (placeholder -> hash) and the project version; 16 hex digits."""
    blob = {
        "kind": stage.kind,
        "settings": stage.settings,
        "commands": stage.commands,
        "inputs": dict(sorted(input_hashes.items())),
        "version": version,
    }
    text = json.dumps(blob, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def method_of(cfg: PipelineConfig, name: str) -> Method:
    """The `Method` of a ``train.methods`` entry."""
    match = PDR_METHOD.match(name)
    if match:
        return Method(name, "pdr", Path(cfg.train.pdr_config))
    return Method(name, name, Path(cfg.train.baseline_config.format(model=name)))


def _resolve(path: Path) -> Path:
    return path if path.is_absolute() or path.exists() else ROOT / path


def _train_stage(cfg: PipelineConfig, method: Method, seed: int) -> Stage:
    name = f"train/{method.name}/s{seed}"
    config = _resolve(method.config)
    overrides = cfg.train.overrides(method.name)
    if method.is_pdr:
        overrides = [f"loocc.variant={method.name.removeprefix('pdr_')}", *overrides]
    base = {"method": method.name, "seed": seed, "config_file": str(method.config)}
    if method.model not in MODELS:
        reason = f"not run: model '{method.model}' is not in the model registry yet"
        return Stage(name, "train", method.name, seed, base, not_run=reason)
    if not config.is_file():
        reason = f"not run: {method.config} does not exist (set train.baseline_config)"
        return Stage(name, "train", method.name, seed, base, not_run=reason)
    resolved = load_config(config, [*overrides, f"run.seed={seed}"])
    if resolved.model.name != method.model:
        raise UserError(
            f"{method.config}: model.name is {resolved.model.name!r}, but it is the config of "
            f"method {method.name!r}; point train.{'pdr' if method.is_pdr else 'baseline'}_config "
            f"at a {method.model} config"
        )
    settings = {**base, "config": config_to_dict(resolved)}
    settings["config"]["run"].pop("output_dir")  # the pipeline chooses it
    argv = ["--config", str(config), *(a for o in overrides for a in ("--set", o))]
    argv += ["--seed", str(seed), "--set", "run.output_dir={out}"]
    argv += ["--num_workers", str(cfg.pipeline.num_workers)]
    outputs = (CHECKPOINT, "config.yaml", "metrics.jsonl")
    return Stage(name, "train", method.name, seed, settings, commands=(("run.py", tuple(argv)),),
                 outputs=outputs, resume=True)  # fmt: skip


def _extract_stage(cfg: PipelineConfig, train: Stage, split: str) -> Stage:
    ex = cfg.extract
    size = {"train": ex.num_train, "test": ex.num_test, "tracks": ex.num_tracks, "ood": ex.num_ood}
    n = size[split]
    argv = ["extract", "--checkpoint", "{in:checkpoint}", "--split", split]
    argv += ["--output", f"{{out}}/{FEATURES}", "--batch_size", str(ex.batch_size)]
    argv += ["--num_workers", str(cfg.pipeline.num_workers)]
    if n and split in ("train", "test"):  # the synthetic split's size (real data: ignored)
        argv += ["--set", f"data.num_{split}={n}"]
    elif n:
        argv += ["--max_images", str(n)]
    return Stage(
        f"extract/{train.method}/s{train.seed}/{split}", "extract", train.method, train.seed,
        {"split": split, "images": n, "batch_size": ex.batch_size},
        inputs={"checkpoint": (train.name, CHECKPOINT)},
        commands=(("run.py", tuple(argv)),), outputs=(FEATURES,),
    )  # fmt: skip


def _evaluations(cfg: PipelineConfig, method: Method, train: Stage) -> list[Stage]:
    """The evaluation stages of one trained run; extraction stages they need come first."""
    m, s = method.name, train.seed
    extracts: dict[str, Stage] = {}

    def feats(split: str) -> tuple[str, str]:
        if split not in extracts:
            extracts[split] = _extract_stage(cfg, train, split)
        return (extracts[split].name, FEATURES)

    groups = cfg.clustering.pdr_groups if method.is_pdr else cfg.clustering.baseline_groups
    out: list[Stage] = []

    def add(kind, suffix, settings, inputs, tool, argv, outputs, not_run=None):
        name = "/".join([kind, m, f"s{s}", *([suffix] if suffix else [])])
        cmd = ((tool, tuple(argv)),) if tool else ()
        out.append(Stage(name, kind, m, s, settings, inputs, cmd, outputs, not_run))

    cluster = "clustering/cluster_eval.py"
    cl = section_dict(cfg.clustering)
    if cfg.clustering.identity:
        add("identity", "", {**cl, "groups": groups}, {"features": feats("tracks")}, cluster,
            ["{in:features}", "--groups", groups, "--attributes", "identity",
             "--output", "{out}/identity.json"], ("identity.json",))  # fmt: skip
    if cfg.clustering.emotion:
        add("emotion", "", {**cl, "groups": groups}, {"features": feats("test")}, cluster,
            ["{in:features}", "--groups", groups, "--attributes", "emotion",
             "--output", "{out}/emotion.json"], ("emotion.json",))  # fmt: skip
    if cfg.clustering.attributes:
        attrs = ",".join(cfg.clustering.attributes)
        add("attributes", "", {**cl, "groups": groups}, {"features": feats("test")}, cluster,
            ["{in:features}", "--groups", groups, "--attributes", attrs,
             "--output", "{out}/attributes.json"], ("attributes.json",))  # fmt: skip
    if cfg.finch.enabled:
        add("finch", "", {"groups": groups}, {"features": feats("tracks")}, cluster,
            ["{in:features}", "--groups", groups, "--attributes", "identity", "--method",
             "finch", "--output", "{out}/finch.json"], ("finch.json",))  # fmt: skip
    pr = cfg.probe
    for label in pr.labels:
        argv = ["--features", "{in:train}", "--eval_features", "{in:test}",
                "--label_column", label, "--task", "multiclass", "--groups", groups,
                "--num_train", *map(str, pr.num_train), "--runs", str(pr.runs),
                "--epochs", str(pr.epochs), "--seed", str(s), "--output_dir", "{out}"]  # fmt: skip
        add("probe", label, {**section_dict(pr), "label": label, "groups": groups},
            {"train": feats("train"), "test": feats("test")}, "classification/run_trainer.py",
            argv, ("results.json",))  # fmt: skip
        if pr.finetune:
            add("probe_finetune", label, {"label": label}, {}, None, [], (), FINETUNE_NOT_WIRED)
    if cfg.disentangle.enabled:
        metrics = cfg.disentangle.metrics.split(",")
        if method.model in MODELS and len(model_class(method.model).feature_groups) < 2:
            metrics = [m for m in metrics if m not in ("correlation", "groups")]
        add("disentangle", "", {**section_dict(cfg.disentangle), "metrics": metrics},
            {"features": feats("test")}, "analysis/disentangle.py",
            ["{in:features}", "--metrics", ",".join(metrics),
            "--output_dir", "{out}", "--overwrite", "--no_figures"],
            ("disentanglement.json",))  # fmt: skip
    for label in cfg.robustness.labels:
        rob_groups = [groups, "all"] if groups != "all" else ["all"]
        add("robustness", label, {"label": label, "group_sets": rob_groups},
            {"train": feats("train"), "test": feats("test"), "ood": feats("ood")},
            "analysis/robustness.py", ["--train", "{in:train}", "--test", "{in:test}",
            "--ood", "{in:ood}", "--label", label, "--group_sets", *rob_groups, "--no_cluster",
            "--output_dir", "{out}", "--overwrite", "--no_figures"],
            ("robustness.json",))  # fmt: skip
    if cfg.invariance.enabled:
        mode = "render" if method.is_pdr else "data"
        add("invariance", "", {**section_dict(cfg.invariance), "mode": mode},
            {"checkpoint": (train.name, CHECKPOINT)}, "analysis/invariance.py",
            ["--checkpoint", "{in:checkpoint}", "--mode", mode, "--num_images",
             str(cfg.invariance.num_images), "--output_dir", "{out}", "--overwrite",
             "--no_figures"], ("invariance.json",))  # fmt: skip
    if cfg.segmentation.enabled:
        why = (
            "not run: segmentation/run.py does not exist yet (segmentation issue)"
            if not (ROOT / "segmentation" / "run.py").is_file()
            else "not run: the pipeline's segmentation stage is not wired yet"
        )
        add("segmentation", "", {}, {}, None, [], (), why)
    return [*extracts.values(), *out]


def plan(cfg: PipelineConfig) -> list[Stage]:
    """Every stage of ``cfg``, each after the stages it reads from.

    Raises:
        UserError: a training config that does not load or names another model.
    """
    stages: list[Stage] = []
    for name in cfg.train.methods:
        method = method_of(cfg, name)
        for seed in cfg.pipeline.seeds:
            train = _train_stage(cfg, method, seed)
            stages.append(train)
            stages += _evaluations(cfg, method, train)
    return stages
