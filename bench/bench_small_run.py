"""A short CPU training run of the ``small`` preset on synthetic faces, with depth quality.

    python bench/bench_small_run.py [--config experiments/bench_small_run.yaml] [--set KEY=VALUE]
                                    [--steps 300] [--batch 128] [--size 32] [--lr 3e-4]
                                    [--variant none|L|LV] [--loocc_weight 0.03] [--seed 0]
                                    [--json out.json] [--figure depth.png]

Trains the config (default ``experiments/bench_small_run.yaml``: small preset, 32 px, batch 128,
no confidence maps, no perceptual term, depth smoothness 0.1 as the release's car config,
LOOCC-LV at weight 0.03, each training image seen once) with the real `Trainer`, into
``--output_dir`` (a temporary folder by default), and evaluates on held-out ``test`` faces (unseen
identities) before and after. The shorthand flags (``--steps``, ``--batch``, ...) are config
overrides; ``--steps N`` also sizes the train split to N x batch images. The config's settings
were chosen on the ``val`` faces for depth quality in 300 steps; docs/model.md has the trials,
the 64 px runs among them. Reported:

- reconstruction loss: the masked photometric L1 (no confidence weighting, [-1, 1] units, as the
  release's term) of the reconstruction against the input, and its relative drop;
- depth: scale-invariant depth error (SIDE) of the reconstructed depth in the input view against
  the ground-truth depth, on face pixels (`unsup3d.depth_metrics.evaluation_masks` "object":
  ground-truth part label != background, covered by the reconstruction, eroded by one pixel),
  compared with the SIDE of the best constant depth map (any constant: SIDE is scale
  invariant), the mean angle deviation of normals, the log-depth correlation and the relief
  scale (slope of predicted on true log depth; 1 is right); and SIDE over every covered pixel
  (the "scene" mask, which includes the background wall), as `run.py test`
  also reports.

The acceptance test (tests/bench/test_bench_small_run.py, marked slow) runs this script.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import torch

from unsup3d import cli
from unsup3d.config import config_to_dict, load_config
from unsup3d.data.registry import dataset_from_config
from unsup3d.depth_metrics import (
    constant_depth_side,
    evaluation_masks,
    log_depth_fit,
    normal_angle_deviation,
    scale_invariant_depth_error,
)
from unsup3d.losses import photometric_l1
from unsup3d.model import InverseRenderer
from unsup3d.renderer import depth_to_normals
from unsup3d.trainer import Trainer
from unsup3d.utils import add_default_malloc_option, apply_malloc_option, atomic_write_text

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "bench_small_run.yaml"


def _face_depth(
    out, gt: torch.Tensor, parts: torch.Tensor, depth_hi: float
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The evaluation masks of a model output (`evaluation_masks`) and its per-image (B,) depth
    metrics on face pixels (the "object" mask): SIDE, the best constant's SIDE, log-depth
    correlation and relief scale."""
    masks = evaluation_masks(out.recon_depth, gt, depth_hi, parts)
    mask = masks["object"]
    corr, slope = log_depth_fit(out.recon_depth, gt, mask)
    return masks, {
        "side": scale_invariant_depth_error(out.recon_depth, gt, mask),
        "constant": constant_depth_side(gt, mask),
        "corr": corr,
        "slope": slope,
    }


def evaluate(model: InverseRenderer, batch: dict, chunk: int = 32) -> dict[str, float]:
    """Held-out reconstruction L1 and depth metrics (means over images)."""
    model.eval()
    l1s, sides, consts, mads, corrs, slopes = [], [], [], [], [], []
    scene_sides, scene_consts = [], []
    r = model.renderer
    with torch.no_grad():
        for i in range(0, batch["image"].shape[0], chunk):
            images = batch["image"][i : i + chunk]
            out = model(images)
            l1s.append(photometric_l1(out.recon_image * 2 - 1, images * 2 - 1, out.mask).item())
            gt = batch["view_depth"][i : i + chunk]
            masks, face = _face_depth(out, gt, batch["mask"][i : i + chunk], r.depth_hi)
            mask = masks["object"]
            sides.append(face["side"])
            corrs.append(face["corr"])
            slopes.append(face["slope"])
            consts.append(face["constant"])
            scene = masks["scene"]  # all covered pixels, run.py test's side_mean
            scene_sides.append(scale_invariant_depth_error(out.recon_depth, gt, scene))
            scene_consts.append(constant_depth_side(gt, scene))
            K = r.intrinsics_like(gt)
            n_pred = depth_to_normals(out.recon_depth, K)
            n_gt = depth_to_normals(gt, K)
            mads.append(normal_angle_deviation(n_pred, n_gt, mask))
    model.train()
    side, const, mad, corr, slope = (torch.cat(v) for v in (sides, consts, mads, corrs, slopes))
    ok = torch.isfinite(side)
    scene_side, scene_const = torch.cat(scene_sides), torch.cat(scene_consts)
    return {
        "recon_l1": sum(l1s) / len(l1s),
        "side": side[ok].mean().item(),
        "side_best_constant": const[ok].mean().item(),
        "mad_deg": mad[ok].mean().item(),
        "side_scene": scene_side.nanmean().item(),
        "side_scene_best_constant": scene_const.nanmean().item(),
        "log_depth_correlation": corr[ok].mean().item(),
        "relief_scale": slope[ok].median().item(),
        "images_evaluated": int(ok.sum()),
    }


def save_depth_figure(model: InverseRenderer, batch: dict, path: str, faces: int = 6) -> None:
    """A PNG of the first held-out faces: input, reconstruction, ground-truth and predicted depth
    in the input view (face pixels, each map in its own colour range), and the centred log depth
    along the row through the face's middle, true and predicted (whose relief is compared)."""
    from analysis.figures import pyplot, save_png

    model.eval()
    with torch.no_grad():
        out = model(batch["image"][:faces])
    model.train()
    gt = batch["view_depth"][:faces]
    masks, face = _face_depth(out, gt, batch["mask"][:faces], model.renderer.depth_hi)
    mask, side, const, slope = masks["object"], face["side"], face["constant"], face["slope"]
    plt = pyplot()
    fig, axes = plt.subplots(5, faces, figsize=(1.9 * faces, 9.6), squeeze=False)
    for j in range(faces):
        m = mask[j].bool()
        rows = m.any(dim=1).nonzero().squeeze(1)
        row = int(rows[rows.numel() // 2]) if rows.numel() else gt.shape[1] // 2
        col = axes[:, j]
        col[0].imshow(batch["image"][j].permute(1, 2, 0).numpy())
        col[0].set_title(f"SIDE {side[j]:.4f}\nconstant {const[j]:.4f}", fontsize=8)
        col[1].imshow(out.recon_image[j].clamp(0, 1).permute(1, 2, 0).numpy())
        for ax, d in ((col[2], gt[j]), (col[3], out.recon_depth[j])):
            shown = torch.where(m, d, torch.full_like(d, float("nan"))).numpy()
            ax.imshow(shown, cmap="viridis_r")
            ax.axhline(row, color="w", lw=0.6, ls=":")
        on = m[row]
        x = on.nonzero().squeeze(1).numpy()
        for d, style, label in ((gt[j], "k-", "true"), (out.recon_depth[j], "r-", "predicted")):
            line = d[row].log()
            line = line - line[on].mean()
            col[4].plot(x, line[on].numpy(), style, lw=1.2, label=label)
        col[4].set_title(f"relief x{slope[j]:.2f}", fontsize=8)
        col[4].tick_params(labelsize=6)
        col[4].invert_yaxis()  # nearer (smaller depth) up
        for ax in col[:4]:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, name in zip(
        axes[:, 0],
        (
            "input",
            "reconstruction",
            "true depth",
            "predicted depth",
            "centred log depth\n(dotted row)",
        ),
    ):
        ax.set_ylabel(name, fontsize=8)
    axes[4, 0].legend(fontsize=6, loc="lower center")
    fig.suptitle("held-out faces: depth in the input view on face pixels", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, dpi=100)


def overrides(args: argparse.Namespace) -> list[str]:
    """The config overrides that the shorthand flags stand for (only those given)."""
    out = list(args.overrides)
    keys = {
        "batch": "trainer.batch_size",
        "size": "data.image_size",
        "lr": "trainer.lr",
        "variant": "loocc.variant",
        "loocc_weight": "loocc.weight",
        "lam_depth_sm": "loss.lam_depth_sm",
        "lam_flip": "loss.lam_flip",
        "seed": "run.seed",
    }
    out += [
        f"{key}={getattr(args, flag)}"
        for flag, key in keys.items()
        if getattr(args, flag) is not None
    ]
    if args.conf:
        out.append("model.use_conf_map=true")
    if args.steps is not None:
        batch = load_config(args.config, out).trainer.batch_size
        out += [f"trainer.max_steps={args.steps}", f"data.num_train={args.steps * batch}"]
    return out


def run(args: argparse.Namespace, output_dir: str) -> dict:
    cfg = load_config(args.config, [*overrides(args), f"run.output_dir={output_dir}"])
    held_out = dataset_from_config(cfg, args.eval_split)
    t0 = time.perf_counter()
    held_out = held_out.generate_batch(list(range(min(args.eval_images, len(held_out)))))
    trainer = Trainer(cfg, torch.device("cpu"), num_workers=args.num_workers, overwrite=True)
    before = evaluate(trainer.model, held_out)
    t_train = time.perf_counter()
    state = trainer.fit()
    train_s = time.perf_counter() - t_train
    after = evaluate(trainer.model, held_out)
    if args.save:
        torch.save(trainer.model.state_dict(), args.save)
    if args.figure:
        save_depth_figure(trainer.model, held_out, args.figure)
    train = state.metrics[-1]
    return {
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "save")},
        "config": config_to_dict(cfg),
        "before": before,
        "after": after,
        "recon_l1_drop": 1 - after["recon_l1"] / before["recon_l1"],
        "train_recon_mean": train["train/recon"],
        "val_recon": train.get("val/recon"),
        "steps": state.step,
        "train_seconds": train_s,
        "total_seconds": time.perf_counter() - t0,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], parents=[cli.shared_flags("overrides")]
    )
    p.add_argument("--config", default=str(CONFIG), help=f"training config ({CONFIG.name})")
    p.add_argument(
        "--steps", type=int, default=None, help="= trainer.max_steps (300), data sized to it"
    )
    p.add_argument("--batch", type=int, default=None, help="= trainer.batch_size (128)")
    p.add_argument("--size", type=int, default=None, help="= data.image_size (32)")
    p.add_argument("--lr", type=float, default=None, help="= trainer.lr (3e-4)")
    p.add_argument(
        "--variant", default=None, choices=["none", "L", "LV"], help="= loocc.variant (LV)"
    )
    p.add_argument("--loocc_weight", type=float, default=None, help="= loocc.weight (0.03)")
    p.add_argument("--lam_depth_sm", type=float, default=None, help="= loss.lam_depth_sm (0.1)")
    p.add_argument("--lam_flip", type=float, default=None, help="= loss.lam_flip (0.5)")
    p.add_argument("--conf", action="store_true", help="model.use_conf_map=true")
    p.add_argument("--seed", type=int, default=None, help="= run.seed: init, data order, LOOCC (0)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--num_workers", type=int, default=0, help="DataLoader workers (0)")
    p.add_argument("--eval_images", type=int, default=64, help="held-out faces (64)")
    p.add_argument(
        "--eval_split",
        default="test",
        choices=["val", "test"],
        help="held-out split (test; choose settings on val)",
    )
    p.add_argument("--output_dir", default="", help="run folder (default: a temporary one)")
    add_default_malloc_option(p)
    p.add_argument("--json", default="", help="also write the results to this JSON file")
    p.add_argument("--save", default="", help="also save the trained model's state dict here")
    p.add_argument("--figure", default="", help="also draw the held-out faces' depth into this PNG")
    return p


def report(result: dict) -> None:
    b, a = result["before"], result["after"]
    print(
        f"held-out recon L1: {b['recon_l1']:.4f} -> {a['recon_l1']:.4f} "
        f"({100 * result['recon_l1_drop']:.1f}% lower; goal >= 30%)"
    )
    print(
        f"train recon (epoch mean): {result['train_recon_mean']:.4f}; val recon {result['val_recon']:.4f}"
    )
    print(
        f"held-out SIDE: {b['side']:.5f} -> {a['side']:.5f}; best constant depth "
        f"{a['side_best_constant']:.5f} (goal: below it); MAD {b['mad_deg']:.1f} -> "
        f"{a['mad_deg']:.1f} deg; log-depth correlation {b['log_depth_correlation']:.3f} -> "
        f"{a['log_depth_correlation']:.3f}; relief scale (median) {a['relief_scale']:.2f}; "
        f"{a['images_evaluated']} images"
    )
    print(
        f"held-out SIDE over all covered pixels (run.py test's protocol): "
        f"{b['side_scene']:.5f} -> {a['side_scene']:.5f}; best constant depth "
        f"{a['side_scene_best_constant']:.5f}"
    )
    print(
        f"time: {result['train_seconds']:.0f} s training, "
        f"{result['train_seconds'] / max(1, result['steps']):.2f} s/step"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    apply_malloc_option(args)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench_small_run_") as tmp:
        result = run(args, args.output_dir or tmp)
    report(result)
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
