"""Disentanglement metrics against ground-truth factors: DCI, MIG, SAP, FactorVAE score.

Pure functions on arrays. Layout everywhere: ``codes`` (N, D) — one row per sample, one column per
code dimension — and ``factors`` (N, K). (disentanglement_lib and disent use the transposed
(D, N) / (K, N) layout; convert at that boundary, never here.) Every function that samples or
fits a randomised model takes an explicit ``random_state`` (int seed or
`numpy.random.RandomState`); a `RandomState` instance is consumed in place, exactly as
disentanglement_lib consumes its ``random_state``, so a shared stream reproduces its numbers.

Definitions follow disentanglement_lib 1.5 (Locatello et al., 2019) unless noted; the exact
definitions, and where we deviate, are in ``analysis/README.md``. Factors given to DCI (GBT),
MIG and the discrete SAP are class labels: continuous factors must be discretised first
(`discretize_factors`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import evalkit

log = logging.getLogger(__name__)

RandomStateLike = int | np.random.RandomState


def as_random_state(random_state: RandomStateLike) -> np.random.RandomState:
    """An int seeds a new `RandomState`; a `RandomState` is returned as is (shared stream)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.RandomState(int(random_state))
    raise TypeError(
        f"random_state must be an int seed or numpy.random.RandomState, got {type(random_state)}"
    )


def _check_codes_factors(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes = np.asarray(codes)
    factors = np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2:
        raise ValueError(
            f"codes must be (N, D) and factors (N, K); got {codes.shape} and {factors.shape} "
            "(disentanglement_lib's (D, N) layout must be transposed first)"
        )
    if codes.shape[0] != factors.shape[0]:
        raise ValueError(
            f"codes have {codes.shape[0]} rows but factors {factors.shape[0]}; one row per sample"
        )
    if codes.shape[0] < 2:
        raise ValueError("need at least 2 samples")
    return codes, factors


# --------------------------------------------------------------------------------------------
# Discretisation and discrete mutual information


def histogram_discretize(values: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Discretise each column into ``num_bins`` equal-width bins between its min and max.

    Identical to disentanglement_lib's ``_histogram_discretize``: ``np.digitize(x, edges[:-1])``
    with ``edges = np.histogram(x, num_bins)[1]``, so bin ids are ``1 .. num_bins`` (the maximum
    falls in the last bin).

    Args:
        values: (N, D).
        num_bins: bins per column, >= 2.

    Returns:
        int64 (N, D) bin ids.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must be (N, D), got {values.shape}")
    if num_bins < 2:
        raise ValueError(f"num_bins must be >= 2, got {num_bins}")
    out = np.empty(values.shape, dtype=np.int64)
    for j in range(values.shape[1]):
        edges = np.histogram_bin_edges(values[:, j], num_bins)
        out[:, j] = np.digitize(values[:, j], edges[:-1])
    return out


def discretize_factors(
    factors: np.ndarray, num_bins: int = 20, max_classes: int | None = None
) -> np.ndarray:
    """Turn factor columns into class labels for the classification-based metrics.

    A column with at most ``max_classes`` distinct values (default ``num_bins``) is kept as its
    distinct values (relabelled ``0 .. L-1`` in sorted order); any other column is treated as
    continuous and discretised by `histogram_discretize` into ``num_bins`` bins.

    Args:
        factors: (N, K), any numeric dtype.

    Returns:
        int64 (N, K) labels.
    """
    factors = np.asarray(factors)
    if factors.ndim != 2:
        raise ValueError(f"factors must be (N, K), got {factors.shape}")
    max_classes = num_bins if max_classes is None else max_classes
    out = np.empty(factors.shape, dtype=np.int64)
    for k in range(factors.shape[1]):
        uniq, inverse = np.unique(factors[:, k], return_inverse=True)
        if len(uniq) <= max_classes:
            out[:, k] = inverse.reshape(-1)
        else:
            out[:, k] = histogram_discretize(factors[:, k : k + 1], num_bins)[:, 0] - 1
    return out


def _relabel(labels: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(-1), len(uniq)


def discrete_mutual_info(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Mutual information (nats) between every discrete code column and every factor column.

    Plug-in estimate from the contingency table, the quantity `sklearn.metrics.mutual_info_score`
    computes (clipped at 0).

    Args:
        codes: (N, D) discrete values (e.g. from `histogram_discretize`).
        factors: (N, K) discrete values.

    Returns:
        float64 (D, K).
    """
    codes, factors = _check_codes_factors(codes, factors)
    n = codes.shape[0]
    d, k = codes.shape[1], factors.shape[1]
    mi = np.zeros((d, k), dtype=np.float64)
    code_labels = [_relabel(codes[:, i]) for i in range(d)]
    for j in range(k):
        f, nf = _relabel(factors[:, j])
        pf = np.bincount(f, minlength=nf) / n
        for i, (c, nc) in enumerate(code_labels):
            joint = np.bincount(c * nf + f, minlength=nc * nf).reshape(nc, nf) / n
            pc = joint.sum(axis=1)
            nz = joint > 0
            outer = pc[:, None] * pf[None, :]
            mi[i, j] = max(0.0, float(np.sum(joint[nz] * np.log(joint[nz] / outer[nz]))))
    return mi


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """Entropy (nats, `evalkit.entropy`) of each discrete factor column: (N, K) -> (K,)."""
    factors = np.asarray(factors)
    columns = (np.unique(factors[:, j], return_counts=True)[1] for j in range(factors.shape[1]))
    return np.array([evalkit.entropy(counts) for counts in columns], dtype=np.float64)


# --------------------------------------------------------------------------------------------
# MIG


@dataclass
class MIGResult:
    """Mutual information gap.

    Attributes:
        mig: mean over factors of ``(I_1 - I_2) / H(v_k)``, I_1 >= I_2 the two largest MIs
            between factor k and a single code dimension.
        per_factor: (K,) the normalised gaps.
        mutual_info: (D, K) MI in nats between discretised codes and factors.
        entropy: (K,) factor entropies in nats.
    """

    mig: float
    per_factor: np.ndarray
    mutual_info: np.ndarray
    entropy: np.ndarray


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> MIGResult:
    """Mutual information gap (Chen et al., 2018) with histogram-discretised codes.

    Args:
        codes: (N, D) continuous codes, D >= 2; each column is discretised into ``num_bins``
            equal-width bins (`histogram_discretize`).
        factors: (N, K) discrete factor labels (see `discretize_factors`); none constant.
        num_bins: bins per code column (disentanglement_lib default 20).

    Returns:
        `MIGResult`. Deterministic: no ``random_state``.
    """
    codes, factors = _check_codes_factors(codes, factors)
    if codes.shape[1] < 2:
        raise ValueError("MIG needs at least 2 code dimensions (it is a gap between the top two)")
    entropy = discrete_entropy(factors)
    if np.any(entropy <= 0):
        bad = np.flatnonzero(entropy <= 0).tolist()
        raise ValueError(f"factor column(s) {bad} are constant; MIG is undefined: drop them")
    mi = discrete_mutual_info(histogram_discretize(codes, num_bins), factors)
    top = np.sort(mi, axis=0)[::-1]  # (D, K), descending per factor
    per_factor = (top[0] - top[1]) / entropy
    return MIGResult(float(np.mean(per_factor)), per_factor, mi, entropy)


# --------------------------------------------------------------------------------------------
# DCI


@dataclass
class DCIResult:
    """Disentanglement, completeness, informativeness (Eastwood & Williams, 2018).

    Attributes:
        disentanglement: importance-weighted mean over codes of ``1 - H_K(P_i.)``.
        completeness: importance-weighted mean over factors of ``1 - H_D(P_.k)``.
        informativeness_train / informativeness_test: mean over factors of the predictor's
            accuracy (``importance="gbt"``) or R^2 (``importance="lasso"``).
        importance: (D, K) importance matrix R.
    """

    disentanglement: float
    completeness: float
    informativeness_train: float
    informativeness_test: float
    importance: np.ndarray


def _entropy_rows(p: np.ndarray, base: int) -> np.ndarray:
    # scipy.stats.entropy of each row after the same +1e-11 smoothing disentanglement_lib uses.
    return np.array([evalkit.entropy(row, base) for row in p + 1e-11], dtype=np.float64)


def dci_scores(importance: np.ndarray) -> tuple[float, float]:
    """Disentanglement and completeness from an importance matrix R (D codes, K factors).

    Disentanglement = sum_i rho_i (1 - H_K(P_i.)), P_ij = R_ij / sum_k R_ik,
    rho_i = sum_j R_ij / sum R; completeness is the same on R transposed with base D.
    An all-zero R gives uniform weights (as disentanglement_lib).

    Returns:
        (disentanglement, completeness).
    """
    r = np.abs(np.asarray(importance, dtype=np.float64))
    if r.ndim != 2 or r.shape[0] < 2 or r.shape[1] < 2:
        raise ValueError(f"importance must be (D, K) with D, K >= 2, got {r.shape}")
    per_code = 1.0 - _entropy_rows(r, r.shape[1])
    per_factor = 1.0 - _entropy_rows(r.T, r.shape[0])
    w = r if r.sum() > 0 else np.ones_like(r)
    code_w = w.sum(axis=1) / w.sum()
    factor_w = w.sum(axis=0) / w.sum()
    return float(np.sum(per_code * code_w)), float(np.sum(per_factor * factor_w))


def _split(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray | None,
    test_factors: np.ndarray | None,
    test_fraction: float,
    rs: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if (test_codes is None) != (test_factors is None):
        raise ValueError("give both test_codes and test_factors, or neither")
    if test_codes is not None:
        test_codes, test_factors = _check_codes_factors(test_codes, test_factors)
        if test_codes.shape[1] != codes.shape[1] or test_factors.shape[1] != factors.shape[1]:
            raise ValueError("test arrays must have the same columns as the training arrays")
        return codes, factors, test_codes, test_factors
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    perm = rs.permutation(codes.shape[0])
    n_test = max(1, int(round(test_fraction * codes.shape[0])))
    te, tr = perm[:n_test], perm[n_test:]
    return codes[tr], factors[tr], codes[te], factors[te]


def _check_labels(factors: np.ndarray, name: str) -> None:
    if np.issubdtype(factors.dtype, np.floating) and not np.all(factors == np.round(factors)):
        raise ValueError(
            f"{name} are not class labels (non-integer values); discretise continuous factors "
            "with analysis.metrics.discretize_factors first"
        )


def dci(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    random_state: RandomStateLike,
    test_codes: np.ndarray | None = None,
    test_factors: np.ndarray | None = None,
    test_fraction: float = 0.2,
    importance: str = "gbt",
    n_estimators: int = 100,
    lasso_alpha: float = 0.01,
) -> DCIResult:
    """DCI disentanglement, completeness and informativeness.

    ``importance="gbt"`` (default, as disentanglement_lib): one
    `sklearn.ensemble.GradientBoostingClassifier` per factor (default hyper-parameters,
    ``n_estimators`` trees per class, ``random_state`` shared across the K fits in factor order),
    R[:, k] = its ``feature_importances_``, informativeness = classification accuracy; factors
    must be class labels. ``importance="lasso"`` (Eastwood & Williams' linear variant): codes and
    factors standardised on the training split, `sklearn.linear_model.Lasso` per factor,
    R[:, k] = |coef|, informativeness = R^2; factors may be continuous.

    Args:
        codes: (N, D) training codes (or all codes when no test set is given).
        factors: (N, K) ground-truth factors.
        random_state: seeds the GBT fits and, without explicit test arrays, the random split.
        test_codes, test_factors: explicit held-out arrays; otherwise a random ``test_fraction``
            of the rows is held out.
        n_estimators: boosting stages (GBT only; 100 = sklearn default = disentanglement_lib).
        lasso_alpha: L1 weight of the lasso variant (on standardised data).

    Returns:
        `DCIResult`.
    """
    codes, factors = _check_codes_factors(codes, factors)
    rs = as_random_state(random_state)
    x_tr, y_tr, x_te, y_te = _split(codes, factors, test_codes, test_factors, test_fraction, rs)
    num_codes, num_factors = x_tr.shape[1], y_tr.shape[1]
    r = np.zeros((num_codes, num_factors), dtype=np.float64)
    train_scores, test_scores = [], []
    if importance == "gbt":
        from sklearn.ensemble import GradientBoostingClassifier

        _check_labels(y_tr, "factors")
        for k in range(num_factors):
            model = GradientBoostingClassifier(n_estimators=n_estimators, random_state=rs)
            model.fit(x_tr, y_tr[:, k])
            r[:, k] = np.abs(model.feature_importances_)
            train_scores.append(np.mean(model.predict(x_tr) == y_tr[:, k]))
            test_scores.append(np.mean(model.predict(x_te) == y_te[:, k]))
    elif importance == "lasso":
        from sklearn.linear_model import Lasso

        mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        xs_tr, xs_te = (x_tr - mu) / sd, (x_te - mu) / sd
        for k in range(num_factors):
            fm, fs = y_tr[:, k].mean(), y_tr[:, k].std()
            fs = fs if fs > 0 else 1.0
            t_tr, t_te = (y_tr[:, k] - fm) / fs, (y_te[:, k] - fm) / fs
            model = Lasso(alpha=lasso_alpha, max_iter=10000)
            model.fit(xs_tr, t_tr)
            r[:, k] = np.abs(model.coef_)
            train_scores.append(_r2(t_tr, model.predict(xs_tr)))
            test_scores.append(_r2(t_te, model.predict(xs_te)))
    else:
        raise ValueError(f"importance must be 'gbt' or 'lasso', got {importance!r}")
    d, c = dci_scores(r)
    return DCIResult(d, c, float(np.mean(train_scores)), float(np.mean(test_scores)), r)


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot if ss_tot > 0 else 0.0


# --------------------------------------------------------------------------------------------
# SAP


@dataclass
class SAPResult:
    """Separated attribute predictability (Kumar et al., 2018).

    Attributes:
        sap: mean over factors of the gap between the best and second-best single code.
        score_matrix: (D, K) squared correlation (continuous) or balanced-SVM accuracy (discrete).
    """

    sap: float
    score_matrix: np.ndarray


def sap(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    continuous_factors: bool,
    random_state: RandomStateLike | None = None,
    test_codes: np.ndarray | None = None,
    test_factors: np.ndarray | None = None,
    test_fraction: float = 0.2,
) -> SAPResult:
    """SAP score.

    Continuous factors: S_ij = Cov(z_i, v_j)^2 / (Var z_i Var v_j) (ddof 1; 0 when
    Var z_i <= 1e-12), on all rows; deterministic. Discrete factors: S_ij = test accuracy of
    `sklearn.svm.LinearSVC(C=0.01, class_weight="balanced")` fitted on code i alone, trained on
    the training rows (fits in code-major order, sharing ``random_state``).

    Args:
        codes: (N, D), D >= 2.
        factors: (N, K).
        continuous_factors: which score matrix to use (no default: it changes the metric).
        random_state: required for discrete factors (split and the SVM's coordinate descent).
        test_codes, test_factors, test_fraction: held-out data for the discrete variant.

    Returns:
        `SAPResult`.
    """
    codes, factors = _check_codes_factors(codes, factors)
    num_codes, num_factors = codes.shape[1], factors.shape[1]
    if num_codes < 2:
        raise ValueError("SAP needs at least 2 code dimensions (it is a gap between the top two)")
    s = np.zeros((num_codes, num_factors), dtype=np.float64)
    if continuous_factors:
        x = codes.astype(np.float64)
        y = factors.astype(np.float64)
        xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
        n1 = x.shape[0] - 1
        cov = xc.T @ yc / n1  # (D, K)
        var_x = np.sum(xc * xc, axis=0) / n1
        var_y = np.sum(yc * yc, axis=0) / n1
        with np.errstate(divide="ignore", invalid="ignore"):
            s = cov**2 / (var_x[:, None] * var_y[None, :])
        s[var_x <= 1e-12, :] = 0.0
        s = np.nan_to_num(s, nan=0.0)
    else:
        from sklearn.svm import LinearSVC

        if random_state is None:
            raise ValueError("sap with discrete factors samples: pass random_state")
        rs = as_random_state(random_state)
        _check_labels(factors, "factors")
        x_tr, y_tr, x_te, y_te = _split(codes, factors, test_codes, test_factors, test_fraction, rs)
        for i in range(num_codes):
            for j in range(num_factors):
                clf = LinearSVC(C=0.01, class_weight="balanced", random_state=rs)
                clf.fit(x_tr[:, i : i + 1], y_tr[:, j])
                s[i, j] = np.mean(clf.predict(x_te[:, i : i + 1]) == y_te[:, j])
    top = np.sort(s, axis=0)
    return SAPResult(float(np.mean(top[-1] - top[-2])), s)


# --------------------------------------------------------------------------------------------
# FactorVAE score

SampleFactors = Callable[[int, np.random.RandomState], np.ndarray]
RepresentFactors = Callable[[np.ndarray, np.random.RandomState], np.ndarray]


@dataclass
class FactorVAEResult:
    """FactorVAE score (Kim & Mnih, 2018): majority-vote classifier accuracy.

    Attributes:
        train_accuracy / eval_accuracy: accuracy of the vote classifier (dimension -> factor).
        eval_accuracy_above_chance: ``(eval - 1/K) / (1 - 1/K)``: 0 for codes unrelated to the
            factors, 1 for perfect (the raw score of unrelated codes is the chance level 1/K).
        num_active_dims: dimensions whose global std exceeds the prune threshold.
        train_votes / eval_votes: (K, D) vote counts.
    """

    train_accuracy: float
    eval_accuracy: float
    eval_accuracy_above_chance: float
    num_active_dims: int
    train_votes: np.ndarray
    eval_votes: np.ndarray


class DiscreteGrid:
    """A discrete factor grid (dSprites/3DShapes style): factor k takes ``0 .. sizes[k]-1``.

    ``sample_factors(n, rs)`` draws each factor uniformly and independently, column by column
    (the draw order of disentanglement_lib's ``SplitDiscreteStateSpace``);
    ``lookup(grid_codes)`` turns codes stored for the full grid in C-order (row
    ``np.ravel_multi_index(factors.T, sizes)``) into a `RepresentFactors` callable.
    """

    def __init__(self, factor_sizes: Sequence[int]):
        sizes = [int(s) for s in factor_sizes]
        if not sizes or min(sizes) < 1:
            raise ValueError(f"factor_sizes must be positive, got {list(factor_sizes)}")
        self.factor_sizes = tuple(sizes)

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        out = np.zeros((num, self.num_factors), dtype=np.int64)
        for k, size in enumerate(self.factor_sizes):
            out[:, k] = random_state.randint(size, size=num)
        return out

    def lookup(self, grid_codes: np.ndarray) -> RepresentFactors:
        grid_codes = np.asarray(grid_codes)
        total = int(np.prod(self.factor_sizes))
        if grid_codes.ndim != 2 or grid_codes.shape[0] != total:
            raise ValueError(
                f"grid_codes must be ({total}, D) for factor sizes {self.factor_sizes}, "
                f"got {grid_codes.shape}"
            )

        def represent(factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
            del random_state  # a stored grid is deterministic
            return grid_codes[np.ravel_multi_index(factors.T, self.factor_sizes)]

        return represent


def _vote_accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
    total = votes.sum()
    return float(votes[classifier, np.arange(votes.shape[1])].sum() / total) if total else 0.0


def _factor_vae_votes(
    batch_codes: Callable[[int], np.ndarray],
    num_factors: int,
    global_var: np.ndarray,
    active: np.ndarray,
    rs: np.random.RandomState,
    num_train: int,
    num_eval: int,
) -> FactorVAEResult:
    """The FactorVAE votes and score shared by both estimators.

    Each vote draws a factor k from ``rs``, then ``batch_codes(k)`` (codes (B, D) of a batch
    with factor k fixed, drawing from the same ``rs``) and votes (k, the active dimension with the
    smallest local/global variance ratio); ``num_train`` training votes, then ``num_eval``
    evaluation votes. The majority-vote classifier maps each dimension to a factor.
    """

    def votes(num_points: int) -> np.ndarray:
        out = np.zeros((num_factors, global_var.shape[0]), dtype=np.int64)
        for _ in range(num_points):
            k = rs.randint(num_factors)
            local_var = np.var(np.asarray(batch_codes(k), dtype=np.float64), axis=0, ddof=1)
            out[k, active[np.argmin(local_var[active] / global_var[active])]] += 1
        return out

    train_votes = votes(num_train)
    eval_votes = votes(num_eval)
    classifier = np.argmax(train_votes, axis=0)  # (D,) factor predicted for each dimension
    eval_acc = _vote_accuracy(eval_votes, classifier)
    return FactorVAEResult(
        train_accuracy=_vote_accuracy(train_votes, classifier),
        eval_accuracy=eval_acc,
        eval_accuracy_above_chance=(eval_acc - 1.0 / num_factors) / (1.0 - 1.0 / num_factors),
        num_active_dims=len(active),
        train_votes=train_votes,
        eval_votes=eval_votes,
    )


def _active(global_var: np.ndarray, prune_threshold: float) -> np.ndarray:
    active = np.sqrt(global_var) > prune_threshold
    if not active.any():
        raise ValueError(
            "every code dimension has zero variance (or std <= prune_threshold); "
            "the FactorVAE score is undefined"
        )
    return np.flatnonzero(active)


def factor_vae_score(
    represent: RepresentFactors,
    sample_factors: SampleFactors,
    num_factors: int,
    *,
    random_state: RandomStateLike,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.0,
) -> FactorVAEResult:
    """FactorVAE score with a generative sampler (exact protocol of disentanglement_lib).

    Global variances (ddof 1) from ``num_variance_estimate`` codes of freshly sampled factors.
    Each vote: draw a factor index k, a batch of ``batch_size`` factor vectors, set column k to
    the first row's value, encode, take the dimension with the smallest variance ratio
    local/global among active dimensions, add one vote (k, dim). The classifier maps each
    dimension to its majority factor on the training votes; the score is its accuracy.

    Args:
        represent: ``(factors (n, K), random_state) -> codes (n, D)``: renders observations
            from factors and encodes them (e.g. `DiscreteGrid.lookup`).
        sample_factors: ``(n, random_state) -> factors (n, K)`` (e.g.
            `DiscreteGrid.sample_factors`).
        num_factors: K.
        random_state: consumed in the order above (variance estimate, training votes, eval votes).
        prune_threshold: dimensions with global std <= this are ignored (disentanglement_lib
            keeps std >= 0, i.e. also dead dimensions, whose 0/0 ratio then wins the argmin).

    Returns:
        `FactorVAEResult`.
    """
    rs = as_random_state(random_state)
    codes = np.asarray(represent(sample_factors(num_variance_estimate, rs), rs), dtype=np.float64)
    global_var = np.var(codes, axis=0, ddof=1)
    active = _active(global_var, prune_threshold)

    def batch_codes(k: int) -> np.ndarray:
        factors = sample_factors(batch_size, rs)
        factors[:, k] = factors[0, k]
        return represent(factors, rs)

    return _factor_vae_votes(batch_codes, num_factors, global_var, active, rs, num_train, num_eval)


def factor_vae_score_from_arrays(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    random_state: RandomStateLike,
    batch_size: int = 64,
    num_train: int = 5000,
    num_eval: int = 2500,
    prune_threshold: float = 0.0,
) -> FactorVAEResult:
    """FactorVAE score approximated from a fixed sample (no generator needed).

    Instead of rendering a batch with factor k fixed, a vote draws an anchor row uniformly,
    takes its value v of factor k, and draws ``batch_size`` rows with replacement among the rows
    whose factor k equals v. When the rows cover a factor grid uniformly (or the factors are
    independent) this is the same distribution as `factor_vae_score`; with correlated factors
    the other factors follow their empirical conditional distribution instead of the marginal.
    Global variances come from all rows. Factors must be discrete (`discretize_factors`);
    factor values held by fewer than 2 rows are never anchors.

    Args:
        codes: (N, D). factors: (N, K) discrete labels.
        random_state: drives the anchors and batches (training votes, then evaluation votes).

    Returns:
        `FactorVAEResult`.
    """
    codes, factors = _check_codes_factors(codes, factors)
    _check_labels(factors, "factors")
    rs = as_random_state(random_state)
    codes = codes.astype(np.float64)
    num_factors = factors.shape[1]
    global_var = np.var(codes, axis=0, ddof=1)
    active = _active(global_var, prune_threshold)
    # Rows sharing each factor value; anchors are rows whose value is shared by >= 2 rows.
    members: list[list[np.ndarray]] = []
    anchors: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for k in range(num_factors):
        lab, nl = _relabel(factors[:, k])
        order = np.argsort(lab, kind="stable")
        counts = np.bincount(lab, minlength=nl)
        members.append(np.split(order, np.cumsum(counts)[:-1]))
        anchors.append(np.flatnonzero(counts[lab] >= 2))
        labels.append(lab)
    if any(len(a) == 0 for a in anchors):
        raise ValueError("a factor has no value shared by two rows; discretise it more coarsely")

    def batch_codes(k: int) -> np.ndarray:
        anchor = anchors[k][rs.randint(len(anchors[k]))]
        rows = members[k][labels[k][anchor]]
        return codes[rows[rs.randint(len(rows), size=batch_size)]]

    return _factor_vae_votes(batch_codes, num_factors, global_var, active, rs, num_train, num_eval)
