"""The linear probe: L2 logistic regression on standardised features (scikit-learn).

`fit_linear_probe` z-scores the features with the training set's mean and deviation (a constant
feature keeps deviation 1), fits ``sklearn.linear_model.LogisticRegression`` (L2, lbfgs) and
returns a `LinearProbe`: predictions and decision values on raw features, and `torch_head`, the
same probe as a frozen torch module on raw features (`StandardizedLinear`) for gradient-based
attribution, whose inputs and baselines then stay in raw feature space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


class StandardizedLinear(nn.Module):
    """``Linear((x - mean) / std)`` in float64: a probe on raw features whose weights came from a
    model fitted on standardised features.

    Args:
        mean, std: (F,) the standardisation.
        weight: (C, F) and bias: (C,) of the linear layer (C = 1 for a binary probe).
        classes: the label value of each output (binary: the two classes, the logit is the
            second's), kept as ``classes_``; None leaves ``classes_`` unset.
    """

    def __init__(
        self,
        mean: np.ndarray,
        std: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray,
        classes: np.ndarray | None = None,
    ):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float64))
        self.linear = nn.Linear(weight.shape[1], weight.shape[0]).double()
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float64))
            self.linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float64))
        if classes is not None:
            self.classes_ = np.asarray(classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, F) raw features -> (B,) logit of the positive class (binary) or (B, C) logits."""
        out = self.linear((x.double() - self.mean) / self.std)  # (B, C)
        return out[:, 0] if out.shape[1] == 1 else out


@dataclass(frozen=True)
class LinearProbe:
    """A fitted `fit_linear_probe`.

    Attributes:
        classifier: the fitted ``sklearn.linear_model.LogisticRegression`` (on standardised
            features).
        mean, std: float64 (F,) training mean and deviation (zero deviations replaced by 1).
    """

    classifier: Any
    mean: np.ndarray
    std: np.ndarray

    @property
    def classes(self) -> np.ndarray:
        """(C,) the label values, sorted (sklearn's ``classes_``)."""
        return self.classifier.classes_

    def standardize(self, features: np.ndarray) -> np.ndarray:
        """(N, F) raw features -> float64 (N, F) standardised with the training statistics."""
        return (np.asarray(features, dtype=np.float64) - self.mean) / self.std

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(N, F) raw features -> (N,) predicted label values."""
        return self.classifier.predict(self.standardize(features))

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        """(N, F) raw features -> (N,) positive-class logit (binary) or (N, C) class logits."""
        return self.classifier.decision_function(self.standardize(features))

    def accuracy(self, features: np.ndarray, labels: np.ndarray) -> float:
        """Share of (N, F) raw features whose predicted label equals ``labels`` (N,)."""
        return float(np.mean(self.predict(features) == np.asarray(labels)))

    def torch_head(self) -> StandardizedLinear:
        """The probe as a torch module on raw features, frozen (``requires_grad=False``, eval).

        Returns:
            `StandardizedLinear` mapping (B, F) -> (B,) positive-class logit for binary labels,
            (B, C) class logits otherwise; ``classes_`` holds the label values.
        """
        head = StandardizedLinear(
            self.mean, self.std, self.classifier.coef_, self.classifier.intercept_, self.classes
        )
        head.requires_grad_(False)
        return head.eval()


def fit_linear_probe(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    c: float = 1.0,
    max_iter: int = 2000,
    random_state: int | np.random.RandomState | None = None,
) -> LinearProbe:
    """Fit an L2 logistic-regression probe on standardised features.

    Args:
        features: (N, F) raw training features (converted to float64).
        labels: (N,) class labels, at least two distinct values.
        c: inverse L2 strength (sklearn's ``C``; 1.0 = sklearn's default).
        max_iter: lbfgs iterations.
        random_state: passed to sklearn (int seed or `numpy.random.RandomState`).

    Returns:
        `LinearProbe`.
    """
    from sklearn.linear_model import LogisticRegression  # sklearn costs a second to import

    x = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if x.ndim != 2 or labels.shape != (x.shape[0],):
        raise ValueError(f"features {x.shape} must be (N, F) and labels {labels.shape} (N,)")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    clf = LogisticRegression(C=c, max_iter=max_iter, random_state=random_state)
    clf.fit((x - mean) / std, labels)
    return LinearProbe(clf, mean, std)
