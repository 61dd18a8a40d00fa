"""Cross-check analysis.metrics against disentanglement_lib 1.5 on the same arrays.

    python bench/crosscheck_disentanglement_lib.py [--venv /tmp/pdr_dlib_venv] [--seeds 10]
        [--write tests/analysis/reference_values.json]

1. Creates (once) a separate virtual environment under /tmp — never the project's .venv — and
   installs disentanglement-lib==1.5 without its TensorFlow dependencies
   (``pip install --no-deps disentanglement-lib==1.5`` plus gin-config==0.4.0, absl-py, six) and
   the same numpy/scipy/scikit-learn versions as the running interpreter, so that both sides
   use identical numerics.
2. Writes the fixed arrays of ``analysis.toy_codes.crosscheck_arrays(0)`` to a temporary .npz.
3. Runs disentanglement_lib's ``_compute_mig``, ``_compute_sap`` (continuous and discrete),
   ``_compute_dci`` and ``compute_factor_vae`` on them in that environment, with a two-line
   ``gin.tf`` stand-in (``sys.modules["gin.tf"] = gin``: the metrics only use gin's decorators).
   The arrays are passed transposed, (D, N)/(K, N), as disentanglement_lib expects.
   Randomised parts are seeded so that both sides draw the same stream: disentanglement_lib's
   GBT and LinearSVC use NumPy's global RNG (``np.random.seed(s)`` before the call), ours take
   ``RandomState(s)``; the FactorVAE score gets ``RandomState(seed)`` on both sides and a sampler
   that draws factors and observation noise in the same order.
4. Computes ours here, prints the absolute differences, and (with ``--write``) stores
   disentanglement_lib's numbers, ours, the differences and the library versions in the JSON that
   ``tests/analysis/test_crosscheck.py`` recomputes and checks in the default suite without the
   peer.

Exit status 1 when an agreement bound is missed (MIG, SAP 1e-12; DCI 1e-8; FactorVAE mean over
seeds 0.01).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import scipy
import sklearn

from analysis import crosscheck as C
from analysis.toy_codes import crosscheck_arrays, noisy_grid_represent

FVAE = {"batch_size": 64, "num_train": 300, "num_eval": 200, "num_variance_estimate": 1000}
FVAE_NOISE = 0.5

# Runs inside the disentanglement_lib environment. Reads the arrays, prints one JSON object.
PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import gin
    sys.modules["gin.tf"] = gin  # stand-in: the metrics import gin.tf only for its decorators
    from disentanglement_lib.evaluation.metrics import dci, factor_vae, mig, sap_score, utils

    gin.bind_parameter("discretizer.discretizer_fn", utils._histogram_discretize)
    gin.bind_parameter("discretizer.num_bins", 20)
    cfg = json.loads(sys.argv[2])
    a = np.load(sys.argv[1])
    T = lambda x: np.ascontiguousarray(np.asarray(x).T)  # (N, D) -> (D, N)
    out = {}
    r = mig._compute_mig(T(a["codes_train"]), T(a["factors_train"]))
    out["mig"] = float(r["discrete_mig"])
    r = sap_score._compute_sap(T(a["codes_train"]), T(a["factors_train"]), None, None, True)
    out["sap_continuous"] = float(r["SAP_score"])
    np.random.seed(cfg["sap_seed"])
    r = sap_score._compute_sap(T(a["codes_train"]), T(a["factors_train"]),
                               T(a["codes_test"]), T(a["factors_test"]), False)
    out["sap_discrete"] = float(r["SAP_score"])
    np.random.seed(cfg["dci_seed"])
    r = dci._compute_dci(T(a["codes_train"]), T(a["factors_train"]),
                         T(a["codes_test"]), T(a["factors_test"]))
    out["dci"] = {k: float(v) for k, v in r.items()}

    sizes = [int(s) for s in a["factor_sizes"]]
    grid = a["grid_codes"]

    class Grid:  # the GroundTruthData interface compute_factor_vae uses
        num_factors = len(sizes)
        def sample_factors(self, num, random_state):
            f = np.zeros((num, len(sizes)), dtype=np.int64)
            for k, s in enumerate(sizes):
                f[:, k] = random_state.randint(s, size=num)
            return f
        def sample_observations_from_factors(self, factors, random_state):
            z = grid[np.ravel_multi_index(factors.T, sizes)]
            return z + cfg["fvae_noise"] * random_state.standard_normal(z.shape)
        def sample_observations(self, num, random_state):
            return self.sample_observations_from_factors(
                self.sample_factors(num, random_state), random_state)

    fv = cfg["fvae"]
    out["factor_vae"] = []
    for seed in range(cfg["seeds"]):
        r = factor_vae.compute_factor_vae(
            Grid(), lambda x: np.asarray(x), np.random.RandomState(seed),
            batch_size=fv["batch_size"], num_train=fv["num_train"], num_eval=fv["num_eval"],
            num_variance_estimate=fv["num_variance_estimate"])
        out["factor_vae"].append({"train_accuracy": float(r["train_accuracy"]),
                                  "eval_accuracy": float(r["eval_accuracy"])})
    import disentanglement_lib, gin as g, sklearn, scipy
    from importlib.metadata import version
    out["versions"] = {"disentanglement_lib": version("disentanglement-lib"),
                       "gin_config": version("gin-config"), "numpy": np.__version__,
                       "scipy": scipy.__version__, "scikit_learn": sklearn.__version__,
                       "python": sys.version.split()[0]}
    print(json.dumps(out))
    """
)


def ensure_venv(venv: Path) -> Path:
    """Create the peer environment once; return its python."""
    py = venv / "bin" / "python"
    stamp = venv / ".pdr-dlib-installed"
    if stamp.exists():
        return py
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", "disentanglement-lib==1.5"], check=True)
    subprocess.run(
        [
            *pip,
            "gin-config==0.4.0",
            "absl-py",
            "six",
            f"numpy=={np.__version__}",
            f"scipy=={scipy.__version__}",
            f"scikit-learn=={sklearn.__version__}",
        ],
        check=True,
    )
    stamp.touch()
    return py


def ours(arrays: dict[str, np.ndarray], seeds: int) -> dict:
    """Our metrics on the cross-check arrays, seeded as described in the module docstring."""
    out = C.crosscheck_scores(arrays)
    represent = noisy_grid_represent(arrays["grid_codes"], arrays["factor_sizes"], FVAE_NOISE)
    out["factor_vae"] = C.factor_vae_runs(represent, arrays["factor_sizes"], seeds, **FVAE)
    return out


def compare(peer: dict, mine: dict) -> dict[str, float]:
    """Absolute differences per reported number (FactorVAE: per-seed max and mean-over-seeds)."""
    diff = C.crosscheck_differences(peer, mine)
    pe, me = C.eval_accuracies(peer["factor_vae"]), C.eval_accuracies(mine["factor_vae"])
    diff["factor_vae_eval_per_seed_max"] = float(np.max(np.abs(pe - me)))
    diff["factor_vae_eval_mean"] = float(abs(pe.mean() - me.mean()))
    return diff


def config(seeds: int) -> dict:
    """The settings both sides run with (recorded as ``config`` in the reference JSON)."""
    return C.bench_config(FVAE, seeds, fvae_noise=FVAE_NOISE)


def main(argv: list[str] | None = None) -> int:
    p = C.bench_parser(__doc__, "/tmp/pdr_dlib_venv", 10, "FactorVAE seeds (default 10)")
    args = p.parse_args(argv)
    if Path(args.venv).resolve() == (Path(__file__).resolve().parent.parent / ".venv"):
        p.error("--venv must not be the project's .venv")
    py = ensure_venv(Path(args.venv))
    arrays = crosscheck_arrays(0)
    cfg = config(args.seeds)
    peer = C.run_peer(py, PEER_SCRIPT, arrays, cfg)
    mine = ours(arrays, args.seeds)
    diff = compare(peer, mine)
    print(C.difference_table("disentanglement_lib", peer, mine))
    pe, me = C.eval_accuracies(peer["factor_vae"]), C.eval_accuracies(mine["factor_vae"])
    name = f"factor_vae_eval mean/{args.seeds} seeds"
    print(f"{name:<34s} {pe.mean():20.15f} {me.mean():20.15f} {abs(pe.mean() - me.mean()):10.2e}")
    print(f"factor_vae per-seed max |diff|: {diff['factor_vae_eval_per_seed_max']:.2e}")
    ok = C.crosscheck_within_bounds(diff)
    print("agreement:", "OK" if ok else "FAILED", "bounds", C.CROSSCHECK_BOUNDS)
    if args.write:
        record = {
            "description": "disentanglement_lib 1.5 numbers on analysis.toy_codes.crosscheck_arrays(0); "
            "written by bench/crosscheck_disentanglement_lib.py",
            "config": cfg,
            "bounds": C.CROSSCHECK_BOUNDS,
            "disentanglement_lib": {k: v for k, v in peer.items() if k != "versions"},
            "ours": mine,
            "abs_diff": diff,
            "versions": {"peer_env": peer["versions"], "our_env": C.our_versions()},
        }
        Path(args.write).write_text(json.dumps(record, indent=2) + "\n")
        print("wrote", args.write)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
