"""Grad-CAM per encoder of a trained model (the paper's Fig. 4).

    python analysis/gradcam.py --checkpoint ckpt.pt --features train.npz [--label identity]
        [--groups depth,albedo] [--split test] [--num_images 8] [--output_dir DIR]

A logistic-regression probe (the evaluation kit's `evalkit.fit_linear_probe`, standardised
features, C = ``--c``) is fitted on the ``--features`` file (extracted from the same checkpoint, e.g. ``run.py
extract --split train``) over the concatenated ``--groups`` (default depth,albedo, the paper's
choice). For the first ``--num_images`` images of ``--split`` of the checkpoint's dataset, the
pipeline image -> ``model.get_features`` -> concatenation -> probe is differentiated and each
encoder's Grad-CAM (captum ``LayerGradCam``) of the logit of the probe's predicted class is
taken at that encoder's target layer (`analysis.model_access.cam_layers`: the release's 8 -> 4
down conv). The column titles carry each group's share of |integrated gradients| on the same
images (as Fig. 4). Writes ``gradcam.png`` (rows: images; columns: input, one overlay per
encoder), ``gradcam.json`` and ``gradcam_maps.npz`` (the raw maps).

The target layers are PDR's physical encoders, so only a PDR checkpoint (``model.name: pdr``) is
accepted; another model's is refused in one line (`analysis.model_access.load_pdr_model`). For any
model, ``interpret.py`` attributes a probe on its feature file to the feature groups.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from analysis.feature_files import label_column
from analysis.model_access import (
    cam_summary,
    check_feature_file,
    encoder_groups,
    load_pdr_model,
    probe_grad_cam,
    save_maps,
    split_images,
)
from analysis.records import CamLayerResults, GradCamMetrics, cli_parser, write
from evalkit import fit_linear_probe
from unsup3d import cli
from unsup3d.api import UserError, load_features

log = logging.getLogger("analysis.gradcam")

# What a user of another model's checkpoint can run instead (the refusal's fix).
FIX = "for any model, explain a probe on its feature file with analysis/interpret.py"


HELPS = {
    "output_dir": "where to write gradcam.json, gradcam.png and gradcam_maps.npz (default: "
    "<checkpoint dir>/gradcam_<split>_<label>)",
    "seed": "random_state of the probe",
}


def build_parser() -> cli.ArgumentParser:
    p = cli_parser("Grad-CAM per encoder of a probe on a trained PDR model.", "gpu", helps=HELPS)
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    device = cli.device(args.gpu)
    if args.num_images < 1:
        raise UserError(f"--num_images {args.num_images}: must be >= 1, e.g. 8")
    fs = load_features(args.features)
    groups = encoder_groups(fs, args.groups, args.features)
    y, _ = label_column(fs, args.label, args.features, "extract features from a labelled split")
    if len(np.unique(y)) < 2:
        raise UserError(
            f"--label {args.label}: one class only in {args.features}; pick another label"
        )
    model, cfg, _ = load_pdr_model(args.checkpoint, device, "Grad-CAM per physical encoder", FIX)
    out = cli.prepare_output_dir(
        args.output_dir or Path(args.checkpoint).parent / f"gradcam_{args.split}_{args.label}",
        args.overwrite,
    )
    check_feature_file(fs, args.features, args.checkpoint, model, groups)
    x_train = fs.select(groups).astype(np.float64)
    probe = fit_linear_probe(x_train, y, c=args.c, random_state=args.seed)
    head, train_acc = probe.torch_head().to(device), probe.accuracy(x_train, y)
    log.info("probe on %s (%s): train accuracy %.3f", "+".join(groups), args.label, train_acc)
    images, ids = split_images(cfg, args.split, args.num_images, device)
    log.info("explaining %d %s images on %s", len(images), args.split, device)
    cam = probe_grad_cam(model, head, images, groups, n_steps=args.n_steps)
    from analysis.figures import grad_cam_grid

    grid = grad_cam_grid(
        images.permute(0, 2, 3, 1).cpu().numpy(),  # (B, S, S, 3)
        cam.maps,
        out / "gradcam.png",
        shares=cam.ig.shares,
    )
    metrics = GradCamMetrics(
        label=args.label,
        groups=groups,
        split=args.split,
        num_images=len(images),
        image_ids=ids,
        probe_train_accuracy=train_acc,
        predicted=cam.predicted,
        layers={g: CamLayerResults(v.name, list(v.output_size)) for g, v in cam.layers.items()},
        cam={g: cam_summary(m) for g, m in cam.maps.items()},
        ig=cam.ig.summary(),
        figures=[str(grid), str(save_maps(out / "gradcam_maps.npz", images, ids, cam.maps))],
    )
    print(metrics.table())
    write(out, metrics, inputs=[args.checkpoint, args.features], args=args, argv=argv)
    log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    cli.run(main)
