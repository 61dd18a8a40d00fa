"""Feature invariance by re-rendering: how far each encoder's feature moves when only the light
(or only the view) of a scene changes (the paper's §5 robustness argument, measured).

    python analysis/invariance.py --checkpoint ckpt.pt [--mode render|data] [--split test]
        [--num_images 64] [--perturb light|view|both] [--output_dir DIR]

Two modes say where the re-rendered scene comes from:

- ``--mode render`` (default; a PDR checkpoint, ``model.name: pdr``): the model's own predicted
  scene, re-rendered by its renderer (below). Another model's checkpoint is refused in one line
  (`analysis.model_access.load_pdr_model`).
- ``--mode data`` (any registered model; a synthetic dataset): the synthetic generator
  re-renders the *ground-truth* scene of each test image with a new light or a new view (same
  identity, expression, background, noise), with the same perturbation draws and ranges as
  render mode (`analysis.rerender.measure_data`). The reference is the dataset's image itself,
  so there is no reconstruction gap to report. Only ``model.get_features`` and the model's
  ``feature_groups`` are used, so PDR, the baselines and any later model are measured alike. A
  dataset without ground-truth scenes (anything but ``synthetic_faces`` / ``synthetic_cars``)
  is refused in one line.

Render mode: for the first ``--num_images`` images of ``--split`` of the checkpoint's dataset, the model
predicts the scene (canonical depth, albedo, light, view). The scene is rendered twice with the
renderer (`unsup3d.loocc.render_perturbed`, pixels the surface does not cover set to the
background, as LOOCC does): once unchanged (the *reference* re-render) and once with the light
or the view perturbed by `unsup3d.loocc.perturb` (LOOCC's clean ranges, by default the paper's:
ambient/diffuse +-0.5, light yaw/pitch +-45 deg; view pitch +-22.5 deg, yaw +-45 deg; drawn from a
``torch.Generator`` seeded with ``--seed``; the same draws for every perturbation kind). Both
renders go through the encoders (``model.get_features``), and `analysis.robust.feature_invariance`
measures per group

- ``relative_change`` = mean_i ||f'_i - f_i|| / ||f_i||, and
- ``change_vs_spread`` = RMS_i ||f'_i - f_i|| / sqrt(2 tr Cov f): the movement relative to the
  typical distance between two different images' features (0 invariant, ~1 as far as another
  image).

Comparing two re-renders (not the input photo with a re-render) keeps the reconstruction error
out of the measurement; that error is reported separately (``reconstruction``: input image vs
reference re-render). Ideal under a light change: light moves, depth/albedo/view stay; under a
view change: view moves. Writes ``invariance.json`` (with ``mode``), ``invariance_<kind>.png``,
``renders.png`` and, with ``--save_features``, the feature files (``reference.npz``: the
reference re-render, in data mode the input image; ``perturbed_<kind>.npz``) that
``analysis/robustness.py --before/--after`` also reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from analysis.model_access import load_pdr_model, split_images
from analysis.records import PerturbationRanges, cli_parser, write
from analysis.rerender import (
    KINDS,
    MODES,
    invariance_metrics,
    measure,
    measure_data,
    perturbation_settings,
)
from unsup3d import cli
from unsup3d.api import (
    SYNTHETIC_DATASETS,
    FeatureSet,
    LooccSettings,
    SyntheticDataset,
    UserError,
    dataset_from_config,
    load_model,
    save_features,
)

log = logging.getLogger("analysis.invariance")

RANGE_HELP = {
    "light_intensity_delta": "ambient and diffuse offsets ~ U(-d, d), clamped >= 0",
    "light_direction_deg": "light yaw and pitch offsets ~ U(-a, a) degrees",
    "view_pitch_deg": "view pitch offset ~ U(-a, a) degrees",
    "view_yaw_deg": "view yaw offset ~ U(-a, a) degrees",
}


HELPS = {
    "output_dir": "where to write invariance.json and the PNGs (default: "
    "<checkpoint dir>/invariance_<split>, or invariance_data_<split> with --mode data)",
    "seed": "seed of the perturbation generator",
    "batch_size": "images per batch",
}


def build_parser() -> cli.ArgumentParser:
    p = cli_parser(
        "Per-group feature movement after re-rendering with a new light or view.",
        "gpu",
        "batch_size",
        helps=HELPS,
        defaults={"batch_size": 32},
    )
    p.add_argument("--checkpoint", required=True, help="model checkpoint (.pt) written by run.py")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="render",
        help="render: re-render the model's predicted scene with its renderer (PDR checkpoints; "
        "default); data: the synthetic generator re-renders each image's ground-truth scene "
        "(any model, synthetic datasets)",
    )
    p.add_argument("--split", default="test", help="dataset split (default test)")
    p.add_argument(
        "--num_images", type=int, default=64, help="images used, the split's first (default 64)"
    )
    p.add_argument(
        "--perturb",
        choices=list(KINDS),
        default="both",
        help="what to change: light, view, or both (each separately; default both)",
    )
    d = LooccSettings()
    for flag, what in RANGE_HELP.items():
        default = getattr(d, flag)
        p.add_argument(f"--{flag}", type=float, default=default, help=f"{what} (default {default})")
    p.add_argument(
        "--save_features",
        action="store_true",
        help="also write reference.npz and perturbed_<kind>.npz feature files",
    )
    p.add_argument("--no_figures", action="store_true", help="skip the PNG figures")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.num_images < 2:
        raise UserError(f"--num_images {args.num_images}: need >= 2 (the spread), e.g. 64")
    if args.batch_size < 1:
        raise UserError(f"--batch_size {args.batch_size}: must be >= 1, e.g. 32")
    ranges = cli.from_flags(PerturbationRanges, args)
    settings = perturbation_settings(ranges)
    device = cli.device(args.gpu)
    kinds = KINDS[args.perturb]
    what = " / ".join(kinds)
    if args.mode == "render":
        model, cfg, _ = load_pdr_model(
            args.checkpoint, device, "invariance by re-rendering", "use --mode data for any model"
        )
    else:
        model, cfg, _ = load_model(args.checkpoint, device)
        dataset = synthetic_split(cfg, args.split, args.checkpoint)
    folder = "invariance_" if args.mode == "render" else "invariance_data_"
    out_dir = cli.prepare_output_dir(
        args.output_dir or Path(args.checkpoint).parent / f"{folder}{args.split}", args.overwrite
    )
    model.eval()
    if args.mode == "render":
        images, ids = split_images(cfg, args.split, args.num_images, device)
        log.info(
            "re-rendering %d %s images with a new %s on %s", len(images), args.split, what, device
        )
        m = measure(model, images, kinds, settings, args.seed, args.batch_size)
        images = images.cpu().numpy()
    else:
        log.info(
            "re-rendering the ground-truth scenes of %d %s images with a new %s",
            min(args.num_images, len(dataset)),
            args.split,
            what,
        )
        m = measure_data(
            model, dataset, args.num_images, kinds, settings, args.seed, args.batch_size, device
        )
        images, ids = m["images"], m["image_ids"]  # (N, 3, S, S) in [0, 1], str
    metrics = invariance_metrics(m, kinds, args.split, ranges, args.checkpoint, mode=args.mode)
    if not args.no_figures:
        from analysis.figures import invariance_figures

        metrics.files += invariance_figures(metrics, images, m["renders"], out_dir)
    if args.save_features:
        meta = {
            "checkpoint": str(args.checkpoint),
            "split": args.split,
            "seed": args.seed,
            "mode": args.mode,
        }
        reference = "reference" if args.mode == "render" else "input"
        for name in (reference, *kinds):
            path = out_dir / ("reference.npz" if name == reference else f"perturbed_{name}.npz")
            info = {**meta, "render": name, "ranges": vars(ranges)}
            fs = FeatureSet(features=m["features"][name], image_ids=np.asarray(ids), meta=info)
            save_features(path, fs)
            metrics.files.append(str(path))
    print(metrics.table())
    write(out_dir, metrics, inputs=[args.checkpoint], args=args, argv=argv)
    log.info("wrote %s", out_dir)
    return 0


def synthetic_split(cfg, split: str, checkpoint: str) -> SyntheticDataset:
    """The checkpoint's dataset split, which must be synthetic (``--mode data``)."""
    if cfg.data.name not in SYNTHETIC_DATASETS:
        raise UserError(
            f"{checkpoint}: trained on {cfg.data.name}, which has no ground-truth scenes; --mode "
            f"data re-renders them with the synthetic generator ({', '.join(SYNTHETIC_DATASETS)}); "
            "use --mode render (a PDR checkpoint) for other data"
        )
    dataset = dataset_from_config(cfg, split)
    if not isinstance(dataset, SyntheticDataset) or len(dataset) < 2:
        raise UserError(f"{cfg.data.name} split {split!r}: need >= 2 synthetic images")
    return dataset


if __name__ == "__main__":
    cli.run(main)
