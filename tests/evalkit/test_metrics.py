"""Known answers, sklearn/scipy agreement and invariances of the evaluation metrics."""

from itertools import permutations

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy
from scipy.stats import mode
from sklearn.metrics import normalized_mutual_info_score, precision_recall_fscore_support

from evalkit import codes_by_first_appearance, entropy, majority_class, majority_rate
from evalkit.metrics import (
    METRIC_NAMES,
    contingency,
    hungarian_accuracy,
    majority_prediction,
    nmi,
    score_partition,
    weighted_prf,
    weighted_purity,
)

# The example in the docstring of the release's NMI (clustering/cluster_eval.py), taken from
# https://course.ccs.neu.edu/cs6140sp15/7_locality_cluster/Assignment-6/NMI.pdf
NMI_Y = np.array([1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3])
NMI_C1 = np.array([1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 2])
NMI_C2 = np.array([1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2])


def _paper_nmi(y, c):
    """The paper's formula, 2 I(Y;C) / (H(Y) + H(C)) with log2, written out by hand."""
    n = len(y)

    def h(v):
        _, counts = np.unique(v, return_counts=True)
        p = counts / n
        return -(p * np.log2(p)).sum()

    mi = 0.0
    for a in np.unique(y):
        for b in np.unique(c):
            nab = np.sum((y == a) & (c == b))
            if nab:
                mi += nab / n * np.log2(nab * n / (np.sum(y == a) * np.sum(c == b)))
    return 2 * mi / (h(y) + h(c))


def test_nmi_release_docstring_example():
    assert nmi(contingency(NMI_Y, NMI_C1)) == pytest.approx(0.1089, abs=5e-5)
    assert nmi(contingency(NMI_Y, NMI_C2)) == pytest.approx(0.2533, abs=5e-5)
    for c in (NMI_C1, NMI_C2):
        ours = nmi(contingency(NMI_Y, c))
        assert ours == pytest.approx(normalized_mutual_info_score(NMI_Y, c), abs=1e-12)
        assert ours == pytest.approx(_paper_nmi(NMI_Y, c), abs=1e-12)


def test_perfect_partition_scores_one():
    y = np.array([3, 3, 7, 7, 7, -1, -1])
    c = np.array([5, 5, 0, 0, 0, 9, 9])  # same partition, other names
    assert score_partition(y, c) == pytest.approx({m: 1.0 for m in METRIC_NAMES}, abs=1e-12)


def test_weighted_purity_by_hand():
    y = np.array([0, 0, 0, 1, 1, 2])
    c = np.array([0, 0, 1, 1, 1, 1])
    # cluster 0 = {0, 0} -> 2; cluster 1 = {0, 1, 1, 2} -> 2
    assert weighted_purity(contingency(y, c)) == pytest.approx(4 / 6)


def test_purity_rewards_overclustering_hungarian_does_not():
    y = np.array([0, 0, 0, 1, 1, 1])
    c = np.array([0, 0, 0, 0, 1, 2])
    table = contingency(y, c)
    # purity: 3 + 1 + 1; Hungarian: c0 -> 0 (3), one of c1/c2 -> 1 (1), the other unmatched
    assert weighted_purity(table) == pytest.approx(5 / 6)
    assert hungarian_accuracy(table) == pytest.approx(4 / 6)


def test_hungarian_beats_greedy_by_hand():
    # rows = labels, cols = clusters, 20 samples; taking the largest count first gives
    # 5 + 3 + 1 = 9, the optimum is 4 + 4 + 3 = 11
    table = np.array([[5, 4, 0], [4, 0, 1], [0, 3, 3]])
    y = np.repeat(np.repeat([[0], [1], [2]], 3, axis=1).ravel(), table.ravel())
    c = np.repeat(np.tile([0, 1, 2], 3), table.ravel())
    np.testing.assert_array_equal(contingency(y, c), table)
    assert hungarian_accuracy(contingency(y, c)) == pytest.approx(11 / 20)


def _brute_force_hungarian(y, c):
    ys, cs = np.unique(y), np.unique(c)
    best = 0
    for perm in permutations(range(max(len(ys), len(cs)))):
        hits = sum(
            np.sum((c == cs[j]) & (y == ys[perm[j]])) for j in range(len(cs)) if perm[j] < len(ys)
        )
        best = max(best, hits)
    return best / len(y)


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_sklearn_scipy_and_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 40 + seed
    y = rng.integers(0, 3 + seed % 3, n) * 10 - 7  # non-contiguous, negative label values
    c = rng.integers(0, 2 + seed % 4, n) * 3
    table = contingency(y, c)

    pred = majority_prediction(y, c)
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="weighted", zero_division=0)
    np.testing.assert_allclose(weighted_prf(table), (p, r, f), rtol=0, atol=1e-12)
    assert nmi(table) == pytest.approx(normalized_mutual_info_score(y, c), abs=1e-12)
    assert hungarian_accuracy(table) == pytest.approx(_brute_force_hungarian(y, c))
    # the release's WCP loop with scipy's mode (keepdims for scipy >= 1.11)
    hits = 0
    for k in np.unique(c):
        members = y[c == k]
        top = mode(members, keepdims=True)[0][0]
        np.testing.assert_array_equal(pred[c == k], top)
        hits += np.sum(members == top)
    assert weighted_purity(table) == pytest.approx(hits / n)
    # weighted recall of the majority prediction is the purity
    assert r == pytest.approx(weighted_purity(table))


def test_invariant_to_renaming_and_sample_order():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 60)
    c = (y + (rng.random(60) < 0.4) * rng.integers(0, 5, 60)) % 5
    table = contingency(y, c)
    # ties in a cluster's vote would make precision depend on which label is "smaller"
    top2 = np.sort(table, axis=0)[-2:]
    assert np.all(top2[0] < top2[1]), "test data must have a unique majority per cluster"
    ref = score_partition(y, c)

    label_map = np.array([17, -3, 5, 0])  # a renaming of the label values 0..3
    cluster_map = np.array([4, 2, 9, 0, 1])
    order = rng.permutation(60)
    for yy, cc in [
        (label_map[y], c),
        (y, cluster_map[c]),
        (label_map[y][order], cluster_map[c][order]),
    ]:
        got = score_partition(yy, cc)
        for m in METRIC_NAMES:
            assert got[m] == pytest.approx(ref[m], abs=1e-12), m
    assert ref["cluster_accuracy"] < 1 and ref["nmi"] < 1  # a non-trivial case
    # renaming clusters leaves the contingency table, hence every bit of every metric, unchanged
    assert score_partition(y, cluster_map[c]) == ref


def test_degenerate_partitions_follow_sklearn():
    y = np.array([0, 0, 1, 1])
    one = np.zeros(4, dtype=int)
    assert nmi(contingency(y, one)) == normalized_mutual_info_score(y, one) == 0.0
    assert nmi(contingency(one, one)) == normalized_mutual_info_score(one, one) == 1.0
    with pytest.raises(ValueError, match="4 entries but clusters 3"):
        contingency(y, one[:3])


def test_codes_by_first_appearance():
    np.testing.assert_array_equal(
        codes_by_first_appearance(np.array([7, 7, -2, 9, -2, 7])), [0, 0, 1, 2, 1, 0]
    )


def test_entropy_known_answers_and_scipy():
    assert entropy(np.array([5])) == 0.0
    assert entropy(np.array([1, 1])) == pytest.approx(np.log(2), abs=1e-15)
    assert entropy(np.array([2, 0, 2, 2, 2]), base=2) == pytest.approx(2.0, abs=1e-15)
    rng = np.random.default_rng(0)
    for _ in range(5):
        counts = rng.integers(0, 9, size=7)
        counts[0] += 1
        assert entropy(counts) == pytest.approx(scipy_entropy(counts), abs=1e-14)
        assert entropy(counts, base=3) == pytest.approx(scipy_entropy(counts, base=3), abs=1e-14)
    # H(Y) of the NMI example, as a label entropy: 5/20, 10/20, 5/20
    _, counts = np.unique(NMI_Y, return_counts=True)
    assert entropy(counts, base=2) == pytest.approx(1.5, abs=1e-15)
    for bad in (np.array([]), np.array([0, 0]), np.array([3, -1])):
        with pytest.raises(ValueError, match="non-negative counts"):
            entropy(bad)


def test_majority_rate():
    assert majority_rate(np.array([0, 0, 0, 1, 2]))[0] == pytest.approx(0.6)
    rate, per = majority_rate(np.array([[1, 0], [1, 1], [1, 0], [0, 0]]))
    np.testing.assert_allclose(per, [0.75, 0.75])
    assert rate == pytest.approx(0.75)


def test_majority_class_known_answers():
    cases = [
        ([5, 5, 5, 9], (5, 0.75)),
        ([-2, 7, 7, -2, 7], (7, 0.6)),
        ([3, 1, 1, 3], (1, 0.5)),  # a tie: the smallest class
        (["b", "a", "b"], ("b", 2 / 3)),  # string labels
    ]
    for labels, (cls, rate) in cases:
        got_cls, got_rate = majority_class(np.array(labels))
        assert got_cls == cls and type(got_cls) is type(cls)  # a Python int or str
        assert got_rate == pytest.approx(rate)
    with pytest.raises(ValueError, match="at least one"):
        majority_class(np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match=r"must be \(N,\)"):
        majority_class(np.zeros((2, 2), dtype=np.int64))
    # the rate is the multi-class majority rate
    y = np.array([3, 1, 3, 2, 3, 1])
    assert majority_class(y)[1] == majority_rate(y)[0]
