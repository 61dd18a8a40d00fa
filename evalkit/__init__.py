"""The evaluation kit: the one copy of the metrics, ward HAC and the linear probe that the
evaluation packages (clustering, classification, segmentation, analysis, baselines) share.

Pure functions on arrays (no file I/O, no CLI):

- `evalkit.metrics`: contingency table, cluster accuracy (= weighted purity, WCP), Hungarian
  accuracy, weighted precision/recall/F1, NMI, `score_partition` (all of them), majority
  prediction, majority rate (multi-class and multi-label), majority class of a split, entropy.
- `evalkit.hac`: ward linkage tree, its cuts, `ward_clusters`, memory estimate.
- `evalkit.probe`: `fit_linear_probe` (L2 logistic regression on standardised features) ->
  `LinearProbe` (predictions; `torch_head` = the frozen `StandardizedLinear` on raw features).

Every name below is importable from ``evalkit`` directly; the probe's names import torch and
scikit-learn on first use only, so the metrics and the tree cost numpy and scipy alone.
"""

import importlib
from typing import Any

from evalkit.hac import HAC_BACKENDS, cut_tree, hac_memory_bytes, ward_clusters, ward_linkage
from evalkit.metrics import (
    METRIC_NAMES,
    codes_by_first_appearance,
    contingency,
    entropy,
    hungarian_accuracy,
    majority_class,
    majority_labels,
    majority_prediction,
    majority_rate,
    nmi,
    score_partition,
    weighted_prf,
    weighted_purity,
)

_PROBE = ("LinearProbe", "StandardizedLinear", "fit_linear_probe")  # from evalkit.probe, lazily

__all__ = [
    "HAC_BACKENDS",
    "METRIC_NAMES",
    "LinearProbe",
    "StandardizedLinear",
    "codes_by_first_appearance",
    "contingency",
    "cut_tree",
    "entropy",
    "fit_linear_probe",
    "hac_memory_bytes",
    "hungarian_accuracy",
    "majority_class",
    "majority_labels",
    "majority_prediction",
    "majority_rate",
    "nmi",
    "score_partition",
    "ward_clusters",
    "ward_linkage",
    "weighted_prf",
    "weighted_purity",
]


def __getattr__(name: str) -> Any:
    if name not in _PROBE:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
    value = getattr(importlib.import_module("evalkit.probe"), name)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return __all__
