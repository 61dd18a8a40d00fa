"""Shared helpers of the synthetic data's tests."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F


def _ridge_accuracy(x_train, y_train, x_test, y_test, classes, lam=10.0) -> float:
    """Held-out accuracy of a one-vs-rest ridge (linear) probe on standardised inputs."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    target = F.one_hot(y_train, classes).float()
    gram = x_train.T @ x_train + lam * torch.eye(x_train.shape[1])
    w = torch.linalg.solve(gram, x_train.T @ target)
    return float(((x_test @ w).argmax(1) == y_test).float().mean())


@pytest.fixture
def ridge_accuracy():
    """``accuracy(x_train, y_train, x_test, y_test, classes)`` of a linear (ridge) probe."""
    return _ridge_accuracy
