"""Toy codes with known disentanglement, for known-answer tests, the cross-check and the docs.

Every function takes an explicit ``random_state`` (an int seed or a `numpy.random.RandomState`);
the legacy `RandomState` stream is stable across NumPy versions, so the same seed gives the same
arrays on every machine (the committed cross-check numbers rely on this). Layout: codes (N, D),
factors (N, K).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.metrics import DiscreteGrid, RepresentFactors, as_random_state


def sample_grid_factors(
    num: int, factor_sizes: Sequence[int], random_state: int | np.random.RandomState
) -> np.ndarray:
    """Draw ``num`` factor vectors uniformly from a discrete grid.

    Returns:
        int64 (num, K), column k in ``0 .. factor_sizes[k] - 1``.
    """
    return DiscreteGrid(factor_sizes).sample_factors(num, as_random_state(random_state))


def copy_codes(
    factors: np.ndarray, noise: float, random_state: int | np.random.RandomState
) -> np.ndarray:
    """Codes that copy the factors one-to-one (code k = factor k), plus Gaussian noise.

    Args:
        factors: (N, K) factor values.
        noise: standard deviation of the added noise, in factor units (0 = exact copy).

    Returns:
        float64 (N, K).
    """
    rs = as_random_state(random_state)
    factors = np.asarray(factors, dtype=np.float64)
    return factors + noise * rs.standard_normal(factors.shape)


def independent_codes(num: int, dim: int, random_state: int | np.random.RandomState) -> np.ndarray:
    """Standard-normal codes (num, dim) drawn independently of any factor."""
    return as_random_state(random_state).standard_normal((num, dim))


def random_rotation(dim: int, random_state: int | np.random.RandomState) -> np.ndarray:
    """A Haar-random orthogonal matrix (dim, dim) (QR of a Gaussian matrix, signs fixed)."""
    rs = as_random_state(random_state)
    q, r = np.linalg.qr(rs.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))[None, :]


def rotate_codes(
    codes: np.ndarray, random_state: int | np.random.RandomState, standardize: bool = True
) -> np.ndarray:
    """Mix the code axes with a random rotation (after standardising each column).

    Standardising first makes every axis contribute equally to every rotated axis, so an
    axis-aligned code becomes maximally entangled on average.

    Returns:
        float64 (N, D): ``z @ Q`` with z the (optionally standardised) codes, Q orthogonal.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if standardize:
        std = codes.std(axis=0)
        codes = (codes - codes.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return codes @ random_rotation(codes.shape[1], random_state)


def crosscheck_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """The fixed arrays on which our metrics are compared with disentanglement_lib.

    Mid-range scores on purpose (partly mixed, noisy codes, two nuisance dimensions), so that
    agreement is not just "both say 1" or "both say 0".

    Returns:
        ``codes_train`` (800, 6), ``factors_train`` (800, 4) int64, ``codes_test`` (400, 6),
        ``factors_test`` (400, 4), ``grid_codes`` (prod(sizes), 6) in C-order of the factor grid
        ``factor_sizes`` = (3, 4, 5, 2), used by the FactorVAE score.
    """
    rs = np.random.RandomState(seed)
    sizes = (3, 4, 5, 2)
    mixing = np.eye(6)
    mixing[:4, :4] += 0.35 * rs.standard_normal((4, 4))  # partial entanglement

    def encode(factors: np.ndarray) -> np.ndarray:
        n = factors.shape[0]
        z = np.concatenate(
            [factors / (np.asarray(sizes) - 1.0), rs.standard_normal((n, 2))], axis=1
        )  # (n, 6): 4 factor axes + 2 nuisance axes
        return z @ mixing + 0.15 * rs.standard_normal((n, 6))

    f_train = sample_grid_factors(800, sizes, rs)
    f_test = sample_grid_factors(400, sizes, rs)
    grid = np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=1)  # (120, 4)
    return {
        "codes_train": encode(f_train),
        "factors_train": f_train,
        "codes_test": encode(f_test),
        "factors_test": f_test,
        "grid_codes": encode(grid),
        "factor_sizes": np.asarray(sizes, dtype=np.int64),
    }


def noisy_grid_represent(
    grid_codes: np.ndarray, factor_sizes: Sequence[int], noise: float
) -> RepresentFactors:
    """Look codes up on a C-order factor grid and add Gaussian noise drawn from the caller's
    ``random_state`` (one ``standard_normal((n, D))`` call per batch), so that the FactorVAE
    score is a random variable, as with a real renderer + encoder.
    """
    lookup = DiscreteGrid(factor_sizes).lookup(grid_codes)

    def represent(factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        z = lookup(factors, random_state)
        return z + noise * random_state.standard_normal(z.shape)

    return represent


TOY_FACTOR_NAMES: tuple[str, ...] = (
    "shape_width",
    "shape_nose",
    "expression_smile",
    "albedo_skin",
    "albedo_hair",
    "light_ambient",
    "light_diffuse",
    "light_yaw",
    "view_yaw",
    "view_pitch",
)
TOY_FACTOR_GROUP: dict[str, str] = {
    "shape_width": "depth",
    "shape_nose": "depth",
    "expression_smile": "depth",
    "albedo_skin": "albedo",
    "albedo_hair": "albedo",
    "light_ambient": "light",
    "light_diffuse": "light",
    "light_yaw": "light",
    "view_yaw": "view",
    "view_pitch": "view",
}


def toy_physical_features(
    num: int,
    random_state: int | np.random.RandomState,
    *,
    dim: int = 256,
    leakage: float = 0.0,
    noise: float = 0.3,
    dead_fraction: float = 0.1,
    light_view_range: tuple[float, float] = (0.0, 1.0),
    weights_seed: int = 0,
) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """Four ReLU feature groups, each driven by its own physical factor group, like a trained
    inverse renderer's features (for tests and the README example; not the synthetic dataset).

    Group g's features = ReLU(W_g [own factors; leakage * other factors] + noise), with random
    W_g and a fraction of dead (always zero) units. ``leakage = 0``: every group sees only its
    own factors (ideal physical disentanglement); larger leakage mixes the others in.
    The "encoder" weights W_g come from ``weights_seed``, so splits drawn with different
    ``random_state`` share them; ``light_view_range=(lo, hi)`` draws |light_*|, |view_*| factors
    in [lo, hi] with a random sign (default (0, 1): uniform in [-1, 1]; e.g. (1, 2) for an
    out-of-distribution split with novel light and view).

    Returns:
        (features: group -> float32 (num, dim), factors: float32 (num, 10) uniform in [-1, 1],
        factor_names: `TOY_FACTOR_NAMES`).
    """
    rs = as_random_state(random_state)
    names = list(TOY_FACTOR_NAMES)
    factors = rs.uniform(-1.0, 1.0, size=(num, len(names)))
    lo, hi = light_view_range
    lv = np.array([TOY_FACTOR_GROUP[n] in ("light", "view") for n in names])
    mag = rs.uniform(lo, hi, size=(num, int(lv.sum())))
    factors[:, lv] = mag * rs.choice([-1.0, 1.0], size=mag.shape)
    wrs = np.random.RandomState(weights_seed)
    feats: dict[str, np.ndarray] = {}
    for g in ("depth", "albedo", "light", "view"):
        own = np.array([TOY_FACTOR_GROUP[n] == g for n in names])
        scale = np.where(own, 1.0, leakage)  # (K,) how much each factor reaches this group
        w = wrs.standard_normal((len(names), dim)) * scale[:, None]
        h = factors @ w + noise * rs.standard_normal((num, dim)) + 0.3
        h[:, : int(dead_fraction * dim)] = -1.0  # dead units
        feats[g] = np.maximum(h, 0.0).astype(np.float32)
    return feats, factors.astype(np.float32), names
