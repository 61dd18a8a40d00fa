"""The evaluation kit: the one copy of the metrics, ward HAC and the linear probe that the
evaluation packages (clustering, classification, segmentation, analysis, baselines) share.

Pure functions on arrays (no file I/O, no CLI):

- `evalkit.metrics`: contingency table, cluster accuracy (= weighted purity, WCP), Hungarian
  accuracy, weighted precision/recall/F1, NMI, `score_partition` (all of them), majority
  prediction, majority rate (multi-class and multi-label), majority class of a split, entropy.
- `evalkit.hac`: ward linkage tree, its cuts, `ward_clusters`, memory estimate.
- `evalkit.probe`: `fit_linear_probe` (L2 logistic regression on standardised features) ->
  `LinearProbe` (predictions; `torch_head` = the frozen `StandardizedLinear` on raw features).

Every name below is importable from ``evalkit`` directly.
"""

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
from evalkit.probe import LinearProbe, StandardizedLinear, fit_linear_probe

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
