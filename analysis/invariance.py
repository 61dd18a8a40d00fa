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

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analysis.model_access import split_images
from analysis.robust import feature_invariance
from unsup3d.cli import cli_main, setup_logging, write_results
from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, save_features
from unsup3d.loocc import (
    GROUPS,
    PERTURBABLE,
    LooccSettings,
    Perturbation,
    perturb,
    render_perturbed,
)
from unsup3d.utils import resolve_device

log = logging.getLogger("analysis.invariance")

KINDS = {"light": ("light",), "view": ("view",), "both": ("light", "view")}


def build_parser() -> argparse.ArgumentParser:
    d = LooccSettings()
    p = argparse.ArgumentParser(
        description="Per-group feature movement after re-rendering with a new light or view."
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
    p.add_argument(
        "--light_intensity_delta",
        type=float,
        default=d.light_intensity_delta,
        help=f"ambient and diffuse offsets ~ U(-d, d), clamped >= 0 (default {d.light_intensity_delta})",
    )
    p.add_argument(
        "--light_direction_deg",
        type=float,
        default=d.light_direction_deg,
        help=f"light yaw and pitch offsets ~ U(-a, a) degrees (default {d.light_direction_deg})",
    )
    p.add_argument(
        "--view_pitch_deg",
        type=float,
        default=d.view_pitch_deg,
        help=f"view pitch offset ~ U(-a, a) degrees (default {d.view_pitch_deg})",
    )
    p.add_argument(
        "--view_yaw_deg",
        type=float,
        default=d.view_yaw_deg,
        help=f"view yaw offset ~ U(-a, a) degrees (default {d.view_yaw_deg})",
    )
    p.add_argument("--batch_size", type=int, default=32, help="images per batch (default 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the perturbation generator")
    p.add_argument("--gpu", type=int, default=None, help="CUDA device index (default: CPU)")
    p.add_argument(
        "--output_dir", default=None, help="default: <checkpoint dir>/invariance_<split>"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="allow writing into a non-empty --output_dir"
    )
    p.add_argument(
        "--save_features",
        action="store_true",
        help="also write reference.npz and perturbed_<kind>.npz feature files",
    )
    p.add_argument("--no_figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def _settings(args) -> LooccSettings:
    try:
        return LooccSettings(
            variant="LV",
            light_intensity_delta=args.light_intensity_delta,
            light_direction_deg=args.light_direction_deg,
            view_pitch_deg=args.view_pitch_deg,
            view_yaw_deg=args.view_yaw_deg,
        )
    except ValueError as exc:
        raise UserError(f"perturbation ranges: {exc}; use values >= 0, e.g. the defaults") from None


def _angle_deg(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N,) angle between unit vectors (N, 3), degrees (atan2: accurate near 0, unlike arccos)."""
    return torch.rad2deg(torch.atan2(torch.linalg.cross(a, b).norm(dim=1), (a * b).sum(1)))


@torch.no_grad()
def measure(
    model,
    images: torch.Tensor,
    kinds: Sequence[str],
    settings: LooccSettings,
    seed: int,
    batch_size: int,
) -> dict[str, Any]:
    """Encode the input images, their reference re-render and each kind's perturbed re-render.

    Args:
        model: `unsup3d.model.InverseRenderer` in eval mode.
        images: (N, 3, S, S) in [0, 1].
        kinds: scene parameters to perturb, each separately (``light``, ``view``).
        settings: the perturbation ranges (``compat: clean``).
        seed: seed of the CPU ``torch.Generator``; re-seeded per kind, so every kind sees the
            same uniform draws for row i.

    Returns:
        ``features`` {``input``, ``reference``, <kind>: {group: (N, D) float32 array}},
        ``scene_change`` {kind: mean absolute parameter changes}, ``image_change`` {kind: mean
        |pixel difference| in [0, 1] units}, ``renders`` {``reference``, <kind>: (N, 3, S, S)}.
    """
    feats: dict[str, dict[str, list[torch.Tensor]]] = {
        k: {g: [] for g in GROUPS} for k in ("input", "reference", *kinds)
    }
    renders: dict[str, list[torch.Tensor]] = {k: [] for k in ("reference", *kinds)}
    changes: dict[str, dict[str, list[torch.Tensor]]] = {k: {} for k in kinds}
    generators = {k: torch.Generator(device="cpu").manual_seed(seed) for k in kinds}
    renderer = model.renderer

    def encode(name: str, x: torch.Tensor) -> None:
        for g, f in model.get_features(x, GROUPS).items():
            feats[name][g].append(f.float().cpu())

    def render(pert: Perturbation, out) -> torch.Tensor:
        img, mask = render_perturbed(renderer, out.canon_depth, out.albedo, pert, out.canon_normal)
        img = img * mask[:, None].to(img.dtype)  # uncovered pixels: background 0 in [-1, 1]
        return ((img + 1) / 2).clamp(0, 1)  # (B, 3, S, S) in [0, 1]

    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        out = model(x)
        b = x.shape[0]
        encode("input", x)
        ref = Perturbation(
            choice=torch.full((b,), PERTURBABLE.index("light"), dtype=torch.long),
            ambient=out.light[:, 0],
            diffuse=out.light[:, 1],
            light_dir=out.light_dir,
            view=out.view,
        )
        ref_img = render(ref, out)
        encode("reference", ref_img)
        renders["reference"].append(ref_img.cpu())
        for kind in kinds:
            choice = torch.full((b,), PERTURBABLE.index(kind), dtype=torch.long)
            pert = perturb(out.light, out.view, choice, settings, generators[kind])
            img = render(pert, out)
            encode(kind, img)
            renders[kind].append(img.cpu())
            c = changes[kind]
            step = {
                "ambient": (pert.ambient - ref.ambient).abs(),
                "diffuse": (pert.diffuse - ref.diffuse).abs(),
                "light_direction_deg": _angle_deg(pert.light_dir, ref.light_dir),
                "view_pitch_deg": torch.rad2deg((pert.view[:, 0] - ref.view[:, 0]).abs()),
                "view_yaw_deg": torch.rad2deg((pert.view[:, 1] - ref.view[:, 1]).abs()),
                "pixels": (img - ref_img).abs().mean(dim=(1, 2, 3)),
            }
            for key, v in step.items():
                c.setdefault(key, []).append(v.float().cpu())
    cat = {k: torch.cat(v).numpy() for k, v in renders.items()}
    return {
        "features": {
            name: {g: torch.cat(v).numpy() for g, v in groups.items()}
            for name, groups in feats.items()
        },
        "scene_change": {
            k: {key: float(torch.cat(v).mean()) for key, v in c.items() if key != "pixels"}
            for k, c in changes.items()
        },
        "image_change": {k: float(torch.cat(c["pixels"]).mean()) for k, c in changes.items()},
        "renders": cat,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    if args.num_images < 2:
        raise UserError(f"--num_images {args.num_images}: need >= 2 (the spread), e.g. 64")
    if args.batch_size < 1:
        raise UserError(f"--batch_size {args.batch_size}: must be >= 1, e.g. 32")
    settings = _settings(args)
    device = resolve_device(args.gpu)
    out_dir = (
        Path(args.output_dir)
        if args.output_dir
        else Path(args.checkpoint).parent / f"invariance_{args.split}"
    )
    if out_dir.is_dir() and any(out_dir.iterdir()) and not args.overwrite:
        raise UserError(f"{out_dir}: folder is not empty; pass --overwrite or another --output_dir")
    from unsup3d.api import load_model

    model, cfg, _ = load_model(args.checkpoint, device)
    model.eval()
    images, ids = split_images(cfg, args.split, args.num_images, device)
    kinds = KINDS[args.perturb]
    log.info(
        "re-rendering %d %s images with a new %s on %s",
        len(images),
        args.split,
        " / ".join(kinds),
        device,
    )
    m = measure(model, images, kinds, settings, args.seed, args.batch_size)
    feats = m["features"]
    for name, groups in feats.items():
        for g, f in groups.items():
            if not np.isfinite(f).all():
                raise UserError(
                    f"{args.checkpoint}: non-finite {g} features of the {name} images; "
                    "the checkpoint is broken (check its training log)"
                )

    def table(before, after) -> dict[str, dict[str, float]]:
        rows = {g: dict(vars(v)) for g, v in feature_invariance(before, after).items()}
        for g, row in rows.items():
            # The same movement relative to the spread of the *input* images' features: a
            # normaliser that does not depend on how varied the re-renders are.
            row["change_vs_input_spread"] = _vs_spread(before[g], after[g], feats["input"][g])
        return rows

    results: dict[str, Any] = {
        "split": args.split,
        "num_images": len(images),
        "ranges": {
            "light_intensity_delta": settings.light_intensity_delta,
            "light_direction_deg": settings.light_direction_deg,
            "view_pitch_deg": settings.view_pitch_deg,
            "view_yaw_deg": settings.view_yaw_deg,
        },
        "invariance": {k: table(feats["reference"], feats[k]) for k in kinds},
        "reconstruction": table(feats["input"], feats["reference"]),
        "scene_change": m["scene_change"],
        "image_change": m["image_change"],
    }
    # The group that moved most, relative to its spread, for each kind (ideal: the kind itself).
    results["most_moved"] = {
        k: max(v, key=lambda g: _finite(v[g]["change_vs_spread"]))
        if max(_finite(r["relative_change"]) for r in v.values()) > 1e-5
        else None  # no movement beyond float32 rounding (e.g. zero ranges)
        for k, v in results["invariance"].items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: list[str] = []
    if not args.no_figures:
        from analysis.figures import invariance_bars

        for k in kinds:
            figures.append(
                str(invariance_bars(results["invariance"][k], out_dir / f"invariance_{k}.png", k))
            )
        figures.append(str(_renders_figure(images, m["renders"], out_dir / "renders.png")))
    if args.save_features:
        meta = {"checkpoint": str(args.checkpoint), "split": args.split, "seed": args.seed}
        for name in ("reference", *kinds):
            path = out_dir / ("reference.npz" if name == "reference" else f"perturbed_{name}.npz")
            save_features(
                path,
                FeatureSet(
                    features=feats[name],
                    image_ids=np.asarray(ids),
                    meta={**meta, "render": name, "ranges": results["ranges"]},
                ),
            )
            figures.append(str(path))
    results["files"] = figures

    head = (
        f"{'change':<10s} {'group':<8s} {'rel. change':>11s} {'vs spread':>10s} "
        f"{'vs input spread':>15s}"
    )
    lines = [head]
    for k, v in [*results["invariance"].items(), ("recon", results["reconstruction"])]:
        for g, r in v.items():
            lines.append(
                f"{k:<10s} {g:<8s} {r['relative_change']:11.4f} {r['change_vs_spread']:10.4f} "
                f"{r['change_vs_input_spread']:15.4f}"
            )
    for k in kinds:
        sc = results["scene_change"][k]
        lines.append(
            f"{k}: mean |pixel change| {results['image_change'][k]:.4f}; "
            + ", ".join(f"{key} {val:.3g}" for key, val in sc.items() if val > 0)
            + f"; most moved: {results['most_moved'][k]}"
        )
    print("\n".join(lines))
    write_results(
        out_dir / "invariance.json",
        results,
        inputs=[args.checkpoint],
        argv=["analysis/invariance.py", *(sys.argv[1:] if argv is None else argv)],
        options={k: v for k, v in vars(args).items() if k != "verbose"},
    )
    log.info("wrote %s", out_dir)
    return 0


def _renders_figure(images: torch.Tensor, renders: dict[str, np.ndarray], path: Path) -> Path:
    """Up to 8 rows: the input, its reference re-render and each perturbed re-render."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = {"input": images.cpu().numpy(), **renders}
    n = min(8, len(images))
    fig, axes = plt.subplots(
        n, len(cols), figsize=(1.6 * len(cols), 1.6 * n), squeeze=False, layout="constrained"
    )
    for j, (name, arr) in enumerate(cols.items()):
        axes[0][j].set_title(name, fontsize=9)
        for i in range(n):
            axes[i][j].imshow(np.clip(arr[i].transpose(1, 2, 0), 0, 1))  # (S, S, 3)
            axes[i][j].set_xticks([])
            axes[i][j].set_yticks([])
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _vs_spread(before: np.ndarray, after: np.ndarray, population: np.ndarray) -> float:
    """RMS_i ||after_i - before_i|| / sqrt(2 tr Cov(population))."""
    move = np.linalg.norm(after.astype(np.float64) - before, axis=1)
    spread = math.sqrt(2.0 * float(np.sum(np.var(population.astype(np.float64), axis=0, ddof=1))))
    return float(np.sqrt(np.mean(move**2)) / spread) if spread > 0 else float("nan")


def _finite(x: float) -> float:
    return x if math.isfinite(x) else -math.inf


if __name__ == "__main__":
    sys.exit(cli_main(main))
