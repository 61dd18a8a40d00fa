"""Grad-CAM per encoder of a trained model (the paper's Fig. 4).

    python analysis/gradcam.py --checkpoint ckpt.pt --features train.npz [--label identity]
        [--groups depth,albedo] [--split test] [--num_images 8] [--output_dir DIR]

A logistic-regression probe (`analysis.attribution.fit_probe_head`, standardised features, C =
``--c``) is fitted on the ``--features`` file (extracted from the same checkpoint, e.g. ``run.py
extract --split train``) over the concatenated ``--groups`` (default depth,albedo, the paper's
choice). For the first ``--num_images`` images of ``--split`` of the checkpoint's dataset, the
pipeline image -> ``model.get_features`` -> concatenation -> probe is differentiated and each
encoder's Grad-CAM (captum ``LayerGradCam``) of the logit of the probe's predicted class is
taken at that encoder's target layer (`analysis.model_access.cam_layers`: the release's 8 -> 4
down conv). The column titles carry each group's share of |integrated gradients| on the same
images (as Fig. 4). Writes ``gradcam.png`` (rows: images; columns: input, one overlay per
encoder), ``gradcam.json`` and ``gradcam_maps.npz`` (the raw maps).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analysis.attribution import (
    fit_probe_head,
    grad_cam_maps,
    group_slices,
    integrated_gradients_shares,
)
from analysis.model_access import cam_layers, split_images
from unsup3d.cli import cli_main, setup_logging, write_results
from unsup3d.errors import UserError
from unsup3d.features import load_features
from unsup3d.utils import atomic_path, resolve_device, sha256_file

log = logging.getLogger("analysis.gradcam")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Grad-CAM per encoder of a probe on a trained PDR model."
    )
    p.add_argument("--checkpoint", required=True, help="model checkpoint (.pt) written by run.py")
    p.add_argument(
        "--features",
        required=True,
        help="feature file (.npz) with labels from the same checkpoint, to fit the probe "
        "(e.g. run.py extract --split train)",
    )
    p.add_argument(
        "--label",
        default="identity",
        help="label column the probe predicts (default identity; or an attribute, e.g. Smiling)",
    )
    p.add_argument(
        "--groups",
        default="depth,albedo",
        help="comma-separated feature groups of the probe, or 'all' (default depth,albedo, the "
        "paper's choice); one Grad-CAM column per group",
    )
    p.add_argument(
        "--split", default="test", help="dataset split whose images are explained (default test)"
    )
    p.add_argument(
        "--num_images", type=int, default=8, help="images explained, the split's first (default 8)"
    )
    p.add_argument(
        "--c", type=float, default=1.0, help="inverse L2 strength of the probe (default 1.0)"
    )
    p.add_argument("--n_steps", type=int, default=64, help="IG quadrature points (default 64)")
    p.add_argument("--gpu", type=int, default=None, help="CUDA device index (default: CPU)")
    p.add_argument("--seed", type=int, default=0, help="random_state of the probe (default 0)")
    p.add_argument(
        "--output_dir", default=None, help="default: <checkpoint dir>/gradcam_<split>_<label>"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="allow writing into a non-empty --output_dir"
    )
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def _label_column(fs, name: str, source: str) -> np.ndarray:
    if fs.labels is None:
        raise UserError(f"{source}: no labels; extract features from a labelled split")
    labels = fs.labels if fs.labels.ndim == 2 else fs.labels[:, None]
    names = fs.label_names or [f"attr_{i}" for i in range(labels.shape[1])]
    if name not in names:
        raise UserError(f"--label {name}: not in {source}; it has {', '.join(names)}")
    y = labels[:, names.index(name)]
    if len(np.unique(y)) < 2:
        raise UserError(f"--label {name}: one class only in {source}; pick another label")
    return y


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    if args.num_images < 1:
        raise UserError(f"--num_images {args.num_images}: must be >= 1, e.g. 8")
    device = resolve_device(args.gpu)
    from unsup3d.api import load_model

    fs = load_features(args.features)
    groups = fs.resolve_groups(args.groups, args.features)
    unknown = [g for g in groups if g not in ("depth", "albedo", "light", "view")]
    if unknown:
        raise UserError(
            f"--groups: {unknown} are not encoders of the model; use depth,albedo,light,view"
        )
    y = _label_column(fs, args.label, args.features)
    out = (
        Path(args.output_dir)
        if args.output_dir
        else Path(args.checkpoint).parent / f"gradcam_{args.split}_{args.label}"
    )
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise UserError(f"{out}: folder is not empty; pass --overwrite or another --output_dir")

    model, cfg, _ = load_model(args.checkpoint, device)
    feat_sha = fs.meta.get("checkpoint_sha256")
    if feat_sha is not None and feat_sha != sha256_file(args.checkpoint):
        raise UserError(
            f"{args.features}: extracted from another checkpoint ({fs.meta.get('checkpoint')}); "
            f"re-extract: python run.py extract --checkpoint {args.checkpoint} --split train"
        )
    for g in groups:
        if fs.features[g].shape[1] != model.zdim:
            raise UserError(
                f"{args.features}: group {g} is {fs.features[g].shape[1]}-d, the model's "
                f"{model.zdim}-d; extract the features from this checkpoint"
            )
    # Nothing is trained here: weights frozen, norm layers stay in eval(); checked at the end.
    model.eval().requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}

    x_train = fs.select(groups).astype(np.float64)
    head = fit_probe_head(x_train, y, random_state=args.seed, c=args.c).to(device)
    train_acc = float(np.mean(_predict(head, torch.as_tensor(x_train, device=device)) == y))
    log.info("probe on %s (%s): train accuracy %.3f", "+".join(groups), args.label, train_acc)

    images, ids = split_images(cfg, args.split, args.num_images, device)
    log.info("explaining %d %s images on %s", len(images), args.split, device)

    def features(x: torch.Tensor) -> torch.Tensor:
        f = model.get_features(x, groups)
        return torch.cat([f[g] for g in groups], dim=1)  # (B, sum D)

    with torch.no_grad():
        z = features(images).double()  # (B, F)
        logits = head(z)
    binary = logits.ndim == 1
    # The predicted class's logit: binary heads give one logit z, shown as (-z, z).
    pred_index = (logits > 0).long() if binary else logits.argmax(1)
    predicted = head.classes_[pred_index.cpu().numpy()]

    def forward(x: torch.Tensor) -> torch.Tensor:
        s = head(features(x))
        return torch.stack([-s, s], dim=1) if binary else s  # (B, C)

    layers = cam_layers(model, groups)
    maps = grad_cam_maps(
        forward, {g: layer.module for g, layer in layers.items()}, images, target=pred_index
    )
    ig = integrated_gradients_shares(
        head,
        z,
        group_slices({g: model.zdim for g in groups}),
        target=None if binary else pred_index,
        n_steps=args.n_steps,
    )

    for k, v in model.state_dict().items():
        if not torch.equal(v, before[k]):
            raise RuntimeError(f"model weight {k} changed during Grad-CAM")  # a bug, not user input

    maps_np = {g: m.cpu().numpy() for g, m in maps.items()}  # (B, S, S)
    out.mkdir(parents=True, exist_ok=True)
    from analysis.figures import grad_cam_grid

    grid = grad_cam_grid(
        images.permute(0, 2, 3, 1).cpu().numpy(),  # (B, S, S, 3)
        maps_np,
        out / "gradcam.png",
        shares=ig.shares,
    )
    with atomic_path(out / "gradcam_maps.npz") as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            images=images.cpu().numpy(),
            image_ids=np.asarray(ids, dtype=np.str_),
            **{f"cam_{g}": m for g, m in maps_np.items()},
        )
    results: dict[str, Any] = {
        "label": args.label,
        "groups": groups,
        "split": args.split,
        "num_images": len(images),
        "image_ids": ids,
        "probe_train_accuracy": train_acc,
        "predicted": [p.item() if hasattr(p, "item") else p for p in predicted],
        "layers": {
            g: {"module": layer.name, "output_size": list(layer.output_size)}
            for g, layer in layers.items()
        },
        "cam": {g: _cam_summary(m) for g, m in maps_np.items()},
        "ig": ig.as_dict(),
        "figures": [str(grid), str(out / "gradcam_maps.npz")],
    }
    lines = [
        f"{'encoder':<8s} {'layer':<34s} {'map':>5s} {'IG share':>9s} {'CAM mass':>9s} "
        f"{'zero maps':>9s}"
    ]
    for g in groups:
        lay = layers[g]
        zero = f"{results['cam'][g]['zero_images']}/{len(images)}"
        lines.append(
            f"{g:<8s} {lay.name:<34s} {lay.output_size[0]:>2d}x{lay.output_size[1]:<2d} "
            f"{100 * ig.shares[g]:8.1f}% {results['cam'][g]['mean']:9.3g} {zero:>9s}"
        )
    lines.append(
        "zero maps: images whose map is all zero (no positive evidence; 'map = 0' in the figure)"
    )
    print("\n".join(lines))
    write_results(
        out / "gradcam.json",
        results,
        inputs=[args.checkpoint, args.features],
        argv=["analysis/gradcam.py", *(sys.argv[1:] if argv is None else argv)],
        options={k: v for k, v in vars(args).items() if k != "verbose"},
    )
    log.info("wrote %s", out)
    return 0


def _predict(head, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        logits = head(x)
    index = (logits > 0).long() if logits.ndim == 1 else logits.argmax(1)
    return head.classes_[index.cpu().numpy()]


def _cam_summary(m: np.ndarray) -> dict[str, float | int | bool]:
    """Mean, max, share of images with a non-zero map and count of all-zero maps (a zero map:
    no positive evidence), for (B, H, W) maps."""
    flat = m.reshape(m.shape[0], -1)  # (B, H * W)
    nonzero = flat.max(axis=1) > 0
    return {
        "mean": float(flat.mean()),
        "max": float(flat.max()),
        "nonzero_images": float(np.mean(nonzero)),
        "zero_images": int(np.sum(~nonzero)),
        "finite": bool(np.isfinite(flat).all()),
    }


if __name__ == "__main__":
    sys.exit(cli_main(main))
