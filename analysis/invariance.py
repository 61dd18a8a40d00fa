"""Feature invariance by re-rendering: how far each encoder's feature moves when only the light
(or only the view) of a scene changes (the paper's §5 robustness argument, measured).

    python analysis/invariance.py --checkpoint ckpt.pt [--split test] [--num_images 64]
        [--perturb light|view|both] [--output_dir DIR]

For the first ``--num_images`` images of ``--split`` of the checkpoint's dataset, the model
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
view change: view moves. Writes ``invariance.json``, ``invariance_<kind>.png`` and, with
``--save_features``, the feature files (``reference.npz``, ``perturbed_<kind>.npz``) that
``analysis/robustness.py --before/--after`` also reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from analysis.model_access import split_images
from analysis.records import PerturbationRanges, cli_parser, write
from analysis.rerender import KINDS, invariance_metrics, measure, perturbation_settings
from unsup3d import cli
from unsup3d.api import FeatureSet, LooccSettings, UserError, load_model, save_features

log = logging.getLogger("analysis.invariance")

RANGE_HELP = {
    "light_intensity_delta": "ambient and diffuse offsets ~ U(-d, d), clamped >= 0",
    "light_direction_deg": "light yaw and pitch offsets ~ U(-a, a) degrees",
    "view_pitch_deg": "view pitch offset ~ U(-a, a) degrees",
    "view_yaw_deg": "view yaw offset ~ U(-a, a) degrees",
}


HELPS = {
    "output_dir": "where to write invariance.json and the PNGs (default: "
    "<checkpoint dir>/invariance_<split>)",
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
    out_dir = cli.prepare_output_dir(
        args.output_dir or Path(args.checkpoint).parent / f"invariance_{args.split}",
        args.overwrite,
    )
    model, cfg, _ = load_model(args.checkpoint, device)
    images, ids = split_images(cfg, args.split, args.num_images, device)
    kinds = KINDS[args.perturb]
    what = " / ".join(kinds)
    log.info("re-rendering %d %s images with a new %s on %s", len(images), args.split, what, device)
    m = measure(model.eval(), images, kinds, settings, args.seed, args.batch_size)
    metrics = invariance_metrics(m, kinds, args.split, ranges, args.checkpoint)
    if not args.no_figures:
        from analysis.figures import invariance_figures

        metrics.files += invariance_figures(metrics, images.cpu().numpy(), m["renders"], out_dir)
    if args.save_features:
        meta = {"checkpoint": str(args.checkpoint), "split": args.split, "seed": args.seed}
        for name in ("reference", *kinds):
            path = out_dir / ("reference.npz" if name == "reference" else f"perturbed_{name}.npz")
            info = {**meta, "render": name, "ranges": vars(ranges)}
            fs = FeatureSet(features=m["features"][name], image_ids=np.asarray(ids), meta=info)
            save_features(path, fs)
            metrics.files.append(str(path))
    print(metrics.table())
    write(out_dir, metrics, inputs=[args.checkpoint], args=args, argv=argv)
    log.info("wrote %s", out_dir)
    return 0


if __name__ == "__main__":
    cli.run(main)
