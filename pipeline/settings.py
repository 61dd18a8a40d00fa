"""The pipeline config: one settings dataclass per section, `load_pipeline_config` reads YAML.

A pipeline YAML (``experiments/pipeline_*.yaml``) has the sections of `PipelineConfig`. Each
section is declared with `unsup3d.api.Settings` / `setting` like every config of the project, so a
wrong type or out-of-range value fails on construction; this module adds only what a
composition needs: the unknown-key check with a did-you-mean, ``--set section.key=value``
overrides and one error line naming the file and the dotted key.

Each evaluation section is what determines that evaluation's stages: its fields go into their
cache key (`pipeline.stages`), so changing ``probe.epochs`` recomputes the probes and nothing
else.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from unsup3d.api import (
    MODELS,
    SettingError,
    Settings,
    apply_override,
    build_sections,
    read_yaml_sections,
    setting,
)

# Methods the paper compares that other issues are building; they show "not run" until their
# model is in the registry (`unsup3d.api.MODELS`).
PLANNED_MODELS = ("gdrae", "fdae")
PDR_VARIANTS = ("none", "L", "LV")
PDR_METHOD = re.compile(r"pdr_(none|L|LV)$")


@dataclass(frozen=True)
class RunSection(Settings):
    """Where and how the whole pipeline runs (``pipeline.*``)."""

    output_dir: str = setting("runs/pipeline", "folder of every stage's output and the report")
    seeds: list[int] = setting([0], "training seeds (run.seed); the report gives mean ± std")
    scale: Literal["tiny", "demo", "cpu", "paper"] = setting(
        "demo", "the scale the report names (tiny: tests only; demo: minutes on 2 cores)"
    )
    num_workers: int = setting(0, "DataLoader workers per stage (0: in the stage's process)", lo=0)

    def validate(self) -> None:
        if not self.seeds:
            raise SettingError("seeds", "give at least one seed, e.g. [0]")
        if len(set(self.seeds)) != len(self.seeds):
            raise SettingError("seeds", f"{self.seeds} repeats a seed; give each once")


@dataclass(frozen=True)
class TrainSection(Settings):
    """The training stages (``train.*``): one per method and seed."""

    methods: list[str] = setting(
        ["pdr_none", "pdr_L", "pdr_LV", "vqvae", "betavae", "ae", "gdrae", "fdae"],
        "rows of the tables: pdr_<variant> (none, L, LV) or a registered model name",
    )
    pdr_config: str = setting("experiments/cpu_faces.yaml", "experiment YAML of the PDR rows")
    baseline_config: str = setting(
        "baselines/configs/{model}_synthetic_faces.yaml",
        "experiment YAML of a baseline row; {model} is replaced by its name",
    )
    set: list[str] = setting([], "overrides of every training run, e.g. ['trainer.max_steps=4']")
    method_set: list[str] = setting(
        [], "overrides of one method, 'METHOD: key=value', e.g. 'betavae: model.latent_dim=64'"
    )

    def validate(self) -> None:
        known = [f"pdr_{v}" for v in PDR_VARIANTS] + sorted(set(MODELS) - {"pdr"})
        known += [m for m in PLANNED_MODELS if m not in known]
        for m in self.methods:
            if m not in known:
                same = [k for k in known if k.lower() == m.lower()]  # pdr_lv -> pdr_LV
                hint = same or difflib.get_close_matches(m, known, n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise SettingError("methods", f"unknown method {m!r}{extra}; known: {known}")
        if len(set(self.methods)) != len(self.methods):
            raise SettingError("methods", f"{self.methods} repeats a method; give each once")
        if "{model}" not in self.baseline_config:
            raise SettingError("baseline_config", "must contain {model}, e.g. baselines/configs/"
                               "{model}_synthetic_faces.yaml")  # fmt: skip
        for item in self.method_set:
            method, sep, override = item.partition(":")
            if not sep or "=" not in override:
                raise SettingError("method_set", f"{item!r}: expected 'METHOD: key=value'")
            if method.strip() not in self.methods:
                raise SettingError("method_set", f"{item!r}: {method.strip()!r} is not in 'methods'",
                                   ("methods",))  # fmt: skip

    def overrides(self, method: str) -> list[str]:
        """Every training override of ``method``: `set`, then its own from `method_set`."""
        own = [o.partition(":")[2].strip() for o in self.method_set]
        mine = [o for o, m in zip(own, self.method_set) if m.partition(":")[0].strip() == method]
        return [*self.set, *mine]


@dataclass(frozen=True)
class ExtractSection(Settings):
    """Feature extraction (``extract.*``): images per split (0: the split's full size)."""

    num_train: int = setting(1000, "train-split images (the probes' training pool)", lo=0)
    num_test: int = setting(500, "test-split images (clustering, probes, disentanglement)", lo=0)
    num_tracks: int = setting(500, "tracks-split images (10 frames a track; identity)", lo=0)
    num_ood: int = setting(500, "ood-split images (novel light and view; robustness)", lo=0)
    batch_size: int = setting(64, "images per batch", lo=1)


@dataclass(frozen=True)
class ClusteringSection(Settings):
    """Ward-HAC clustering, the paper's Table 1 protocols (``clustering.*``)."""

    identity: bool = setting(True, "identity clustering of the tracks (BBT/Buffy protocol)")
    emotion: bool = setting(True, "emotion clustering of the test split (RAF-DB protocol)")
    attributes: list[str] = setting(
        ["Smiling", "Eyeglasses", "Pale_Skin"],
        "attribute clustering of the test split, one clustering per label (CelebA protocol)",
    )
    pdr_groups: str = setting(
        "depth,albedo", "PDR's feature groups clustered (paper: depth,albedo)"
    )
    baseline_groups: str = setting("all", "a baseline's feature groups clustered")


@dataclass(frozen=True)
class FinchSection(Settings):
    """FINCH on the tracks' identities (``finch.*``)."""

    enabled: bool = setting(True, "run FINCH (clustering/cluster_eval.py --method finch)")


@dataclass(frozen=True)
class ProbeSection(Settings):
    """Frozen linear probes, the paper's Table 2 protocol (``probe.*``)."""

    labels: list[str] = setting(["Smiling", "emotion"], "labels probed, one probe each")
    num_train: list[int] = setting([100, 500, 1000], "label budgets N")
    runs: int = setting(3, "seeds per budget (the CLI's --runs)", lo=1)
    epochs: int = setting(100, "epochs over the N samples", lo=1)
    finetune: bool = setting(True, "also the finetuned probe (shown 'not run' until wired)")


@dataclass(frozen=True)
class DisentangleSection(Settings):
    """Disentanglement against ground-truth factors (``disentangle.*``)."""

    enabled: bool = setting(True, "run analysis/disentangle.py on the test features")
    metrics: str = setting("correlation,groups,dci,mig,sap,factorvae", "its --metrics")


@dataclass(frozen=True)
class RobustnessSection(Settings):
    """In-distribution vs OOD probes (``robustness.*``)."""

    labels: list[str] = setting(["Smiling"], "labels probed on test vs ood (one run each)")


@dataclass(frozen=True)
class InvarianceSection(Settings):
    """Feature invariance under re-rendering (``invariance.*``): render mode for PDR, data mode
    (the synthetic generator re-renders the true scene) for other models."""

    enabled: bool = setting(True, "run analysis/invariance.py")
    num_images: int = setting(64, "test images re-rendered", lo=2)


@dataclass(frozen=True)
class SegmentationSection(Settings):
    """Segmentation (``segmentation.*``): shown 'not run' until segmentation/run.py exists."""

    enabled: bool = setting(True, "run the segmentation stages (once they exist)")


@dataclass(frozen=True)
class PipelineConfig:
    """A resolved pipeline config: one settings object per section."""

    pipeline: RunSection = field(default_factory=RunSection)
    train: TrainSection = field(default_factory=TrainSection)
    extract: ExtractSection = field(default_factory=ExtractSection)
    clustering: ClusteringSection = field(default_factory=ClusteringSection)
    finch: FinchSection = field(default_factory=FinchSection)
    probe: ProbeSection = field(default_factory=ProbeSection)
    disentangle: DisentangleSection = field(default_factory=DisentangleSection)
    robustness: RobustnessSection = field(default_factory=RobustnessSection)
    invariance: InvarianceSection = field(default_factory=InvarianceSection)
    segmentation: SegmentationSection = field(default_factory=SegmentationSection)


def section_dict(section: Any) -> dict[str, Any]:
    """A section as a plain dict (what goes into a stage's cache key)."""
    return dataclasses.asdict(section)


def build_pipeline_config(data: Any, source: str = "<pipeline config>") -> PipelineConfig:
    """Validate a plain dict into a `PipelineConfig` (errors name ``source``)."""
    return build_sections(PipelineConfig, data, source)


def load_pipeline_config(
    path: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> PipelineConfig:
    """Read and validate a pipeline YAML, then apply ``section.key=value`` overrides.

    Raises:
        UserError: missing, empty or unparsable file; unknown section or key; a bad value.
    """
    data = read_yaml_sections(path, "experiments/pipeline_demo.yaml")
    for text in overrides:
        apply_override(data, text)
    return build_pipeline_config(data, str(path))
