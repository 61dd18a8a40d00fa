import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from classification.metrics import mean_std, multilabel_accuracy, top1_accuracy


def test_multilabel_known_answer():
    probs = np.array([[0.9, 0.2], [0.4, 0.6], [0.51, 0.5]])
    labels = np.array([[1, 0], [1, 1], [1, 1]])
    mean, per = multilabel_accuracy(probs, labels)
    # column 0: 1, 0, 1 correct; column 1: 1, 1, 0 correct (0.5 is not above the threshold)
    np.testing.assert_allclose(per, [2 / 3, 2 / 3])
    assert mean == pytest.approx(4 / 6)


def test_multilabel_matches_sklearn_and_is_permutation_invariant():
    rng = np.random.default_rng(0)
    probs = rng.random((50, 5))
    labels = rng.integers(0, 2, size=(50, 5))
    mean, per = multilabel_accuracy(probs, labels)
    expected = [accuracy_score(labels[:, a], probs[:, a] > 0.5) for a in range(5)]
    np.testing.assert_allclose(per, expected)
    assert mean == pytest.approx(np.mean(expected))
    perm = rng.permutation(50)
    assert multilabel_accuracy(probs[perm], labels[perm])[0] == pytest.approx(mean)


def test_top1_matches_sklearn():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(40, 4))
    labels = rng.integers(0, 4, size=40)
    assert top1_accuracy(logits, labels) == pytest.approx(accuracy_score(labels, logits.argmax(1)))
    assert top1_accuracy(np.eye(3), np.array([0, 1, 2])) == 1.0
    with pytest.raises(ValueError, match="must be"):
        top1_accuracy(logits, labels[:-1])


def test_mean_std_population():
    mean, std = mean_std([0.5, 0.7])
    assert mean == pytest.approx(0.6) and std == pytest.approx(0.1)
    assert mean_std([0.8])[1] == 0.0
