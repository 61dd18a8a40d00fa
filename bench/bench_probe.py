"""Linear-probe benchmark: is the default schedule trained enough, and what does it cost?

1. Agreement: CelebA-shaped synthetic data (512-d features from 16 latent factors, 40 binary
   attributes with CelebA-like imbalance, 6,000 evaluation samples). The probe with the CLI's
   defaults (Adam 1e-3, batch 32, 100 epochs) under each input normalisation, on the features
   as they are and multiplied by 100 (a method with larger-scale features), against the
   evaluation kit's linear probe (`evalkit.fit_linear_probe`: scikit-learn's L-BFGS logistic
   regression on z-scored features, C = 1), same subsets.
   Ratio: probe accuracy / sklearn accuracy.
2. Cost: seconds per frozen run (N = 1000) and per finetune epoch of the inverse renderer's
   depth+albedo encoders (small preset, 64 px) and of the ResNet-18 baseline (small stem, 64 px).

    python bench/bench_probe.py [--quick] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from classification.baseline import ResNet18Encoder
from classification.data import Task, draw_subset
from classification.probe import ProbeHead, ProbeModel, TrainConfig, train_probe
from classification.protocol import ProtocolConfig, run_protocol
from evalkit import fit_linear_probe

CPU = torch.device("cpu")


def celeba_like(n: int, seed: int, dim: int = 512, attrs: int = 40):
    """Features = mixing of 16 latent factors + noise; attributes = thresholded projections."""
    mix = np.random.default_rng(100).normal(size=(16, dim)) / 4.0
    proj = np.random.default_rng(101).normal(size=(attrs, 16))
    # CelebA-like positive rates, from ~2% to ~50%
    quantile = np.random.default_rng(102).uniform(0.5, 0.98, size=attrs)
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(n, 16))
    x = np.maximum(h @ mix + 0.5 * rng.normal(size=(n, dim)), 0)  # ReLU features, like PDR's
    score = h @ proj.T + 0.8 * rng.normal(size=(n, attrs))
    from scipy.stats import norm

    thresholds = norm.ppf(quantile) * np.sqrt((proj**2).sum(1) + 0.64)
    return x.astype(np.float32), (score > thresholds).astype(np.int64)


def agreement(num_train: list[int], runs: int) -> None:
    xt, yt = celeba_like(5000, seed=0)
    xe, ye = celeba_like(6000, seed=1)
    task = Task("multilabel", tuple(f"a{i}" for i in range(yt.shape[1])))
    ref = {}
    for n in num_train:
        accs = []
        for r in range(runs):
            idx = draw_subset(yt, n, seed=r)
            acc = []
            for a in range(yt.shape[1]):
                y = yt[idx, a]
                if y.min() == y.max():  # one value in the subset: predict it
                    acc.append(float((ye[:, a] == y[0]).mean()))
                    continue
                acc.append(fit_linear_probe(xt[idx], y, c=1.0).accuracy(xe, ye[:, a]))
            accs.append(np.mean(acc))
        ref[n] = float(np.mean(accs))
    print(
        "kit linear probe (sklearn LR, z-scored, C=1): "
        + ", ".join(f"N={n}: {a:.4f}" for n, a in ref.items())
    )
    for standardize in ("scale", "none", "feature"):
        for mult in (1.0, 100.0):
            cfg = ProtocolConfig(num_train=tuple(num_train), runs=runs, standardize=standardize)
            start = time.perf_counter()
            ours = run_protocol(xt * mult, yt, xe * mult, ye, task, cfg, CPU)
            seconds = time.perf_counter() - start
            cells = [
                f"N={e['num_train']}: {e['accuracy_mean']:.4f} ± {e['accuracy_std']:.3f} "
                f"(ratio {e['accuracy_mean'] / ref[e['num_train']]:.3f})"
                for e in ours["results"]
            ]
            print(
                f"probe --standardize {standardize:<7} features x{mult:<5g} "
                + ", ".join(cells)
                + f"  [{seconds:.1f} s]"
            )
    print(f"majority-class rate (evaluation): {ours['majority_rate']:.4f}")


def cost(quick: bool) -> None:
    n, size = (64, 64) if quick else (256, 64)
    images = (torch.rand(n, 3, size, size) * 255).to(torch.uint8)
    labels = torch.randint(0, 2, (n, 40))
    task = Task("multilabel", tuple(f"a{i}" for i in range(40)))
    cfg = TrainConfig(epochs=1, batch_size=32, encoder_lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    encoders = {"resnet18 (small stem)": (ResNet18Encoder("small"), ("resnet18",))}
    try:
        from unsup3d.api import build_model, load_config

        for preset in ("small", "paper"):
            model = build_model(load_config(None, [f"model.preset={preset}", "loss.lam_perc=0"]))
            encoders[f"inverse renderer {preset} depth+albedo"] = (model, ("depth", "albedo"))
    except ImportError:
        pass
    for name, (encoder, groups) in encoders.items():
        dim = 512
        model = ProbeModel(ProbeHead(dim, 40), encoder, groups, trainable_encoder=True)
        start = time.perf_counter()
        train_probe(model, images, labels, task, cfg, CPU, gen)
        per_image = (time.perf_counter() - start) / n
        print(
            f"finetune {name}: {per_image * 1e3:.1f} ms per training image at {size} px "
            f"-> {per_image * 1000 * 100 / 60:.1f} min for N=1000 x 100 epochs on this CPU"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer N/runs/images")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    agreement([100, 1000] if args.quick else [100, 500, 1000], 1 if args.quick else 3)
    cost(args.quick)


if __name__ == "__main__":
    main()
