"""The linear probe: agreement with a scikit-learn pipeline, and its frozen torch head."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from evalkit.probe import LinearProbe, StandardizedLinear, fit_linear_probe


def _data(n_classes, n=120, seed=0):
    """Features on very different scales plus a constant column; labels linear in them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)) * np.array([1.0, 100.0, 0.01, 5.0, 1.0])
    x[:, 4] = 3.0  # constant: deviation 0 -> 1
    score = x[:, 0] + x[:, 1] / 100 + rng.normal(scale=0.3, size=n)
    edges = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    return x, np.searchsorted(edges, score) * 10 + 3  # label values 3, 13, ...


@pytest.mark.parametrize("n_classes", [2, 3])
def test_agrees_with_sklearn_standard_scaler_pipeline(n_classes):
    x, y = _data(n_classes)
    xt, _ = _data(n_classes, seed=1)
    probe = fit_linear_probe(x, y, c=0.5, random_state=0)
    assert isinstance(probe, LinearProbe)
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)).fit(x, y)
    np.testing.assert_array_equal(probe.classes, ref.classes_)
    np.testing.assert_array_equal(probe.predict(xt), ref.predict(xt))
    np.testing.assert_allclose(probe.decision_function(xt), ref.decision_function(xt), atol=1e-6)
    assert probe.std[4] == 1.0 and probe.mean[4] == 3.0
    assert probe.accuracy(x, y) == pytest.approx(np.mean(ref.predict(x) == y))
    assert probe.accuracy(x, y) > 0.8  # the labels are learnable: the test can tell


def test_same_numbers_as_the_hand_written_probe():
    # what analysis/robust.py and analysis/attribution.py each wrote out before the kit
    x, y = _data(3)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    clf = LogisticRegression(C=1.0, max_iter=2000, random_state=0).fit((x - mu) / sd, y)
    probe = fit_linear_probe(x, y, random_state=0)
    np.testing.assert_array_equal(probe.classifier.coef_, clf.coef_)
    np.testing.assert_array_equal(probe.predict(x[:50]), clf.predict((x[:50] - mu) / sd))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_torch_head_is_the_frozen_probe_on_raw_features(n_classes):
    x, y = _data(n_classes)
    probe = fit_linear_probe(x, y, random_state=0)
    head = probe.torch_head()
    assert isinstance(head, StandardizedLinear) and not head.training
    assert all(not p.requires_grad for p in head.parameters())
    np.testing.assert_array_equal(head.classes_, probe.classes)
    assert head(torch.as_tensor(x, dtype=torch.float32)).dtype == torch.float64
    logits = head(torch.as_tensor(x))
    assert logits.shape == ((len(x),) if n_classes == 2 else (len(x), n_classes))
    torch.testing.assert_close(
        logits, torch.as_tensor(probe.decision_function(x)), rtol=1e-9, atol=1e-9
    )
    index = (logits > 0).long() if n_classes == 2 else logits.argmax(1)
    np.testing.assert_array_equal(head.classes_[index.numpy()], probe.predict(x))


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"must be \(N, F\)"):
        fit_linear_probe(np.zeros((4, 2)), np.array([0, 1, 0]))


def test_probe_names_load_lazily_from_the_package():
    import subprocess
    import sys

    import evalkit
    import evalkit.probe

    assert evalkit.fit_linear_probe is evalkit.probe.fit_linear_probe
    assert evalkit.LinearProbe is LinearProbe and evalkit.StandardizedLinear is StandardizedLinear
    with pytest.raises(AttributeError, match="no attribute 'probe_head'"):
        evalkit.probe_head  # noqa: B018
    code = "import sys, evalkit; evalkit.score_partition([0, 1], [1, 1]); print(sorted({'torch', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # the metrics need neither torch nor scikit-learn
