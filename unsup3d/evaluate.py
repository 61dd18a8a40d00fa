"""``run.py test`` and ``run.py extract``: per-image outputs, depth metrics, feature files.

Both rebuild the model from the checkpoint alone. A ``--config`` / ``--set`` given with them may
change only the ``data`` section (which dataset and split to run on), never the model.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from PIL import Image

from unsup3d.cli import check_output_file, prepare_output_dir
from unsup3d.config import Config, config_from_dict, config_to_dict, load_config
from unsup3d.data.registry import dataset_from_config
from unsup3d.depth_metrics import (
    constant_depth_side,
    evaluation_masks,
    log_depth_fit,
    normal_angle_deviation,
    scale_invariant_depth_error,
)
from unsup3d.errors import UserError
from unsup3d.features import FeatureSet, save_features
from unsup3d.image_metrics import psnr, thumbnail
from unsup3d.loading import load_model
from unsup3d.model import InverseRenderer
from unsup3d.renderer import depth_to_normals
from unsup3d.trainer import iterate_batches
from unsup3d.utils import atomic_path, atomic_write_text, sha256_file

log = logging.getLogger(__name__)


def _nanstd(x: torch.Tensor) -> float:
    x = x[~x.isnan()]
    return float(x.std()) if len(x) > 1 else math.nan


def _data_config(cfg: Config, config: Path | None, overrides: list[str]) -> Config:
    """The checkpoint's config with ``config``'s keys and then ``overrides`` merged in.

    Only ``data.*`` (and ``run.*``) may change: test and extract rebuild the model from the
    checkpoint, so a YAML or ``--set`` that would change another section is refused, as is a
    different image size.
    """
    if config is None and not overrides:
        return cfg
    other = _model_name_in(config)
    if other is not None and other != cfg.model.name:
        raise UserError(
            f"{config}: model.name '{other}', but the checkpoint holds a '{cfg.model.name}' model; "
            "test/extract rebuild the model from the checkpoint, so give a config of that model or one that changes only data.*"
        )
    base = config_to_dict(cfg)
    merged = config_to_dict(load_config(config, overrides, base=base))
    changed = [s for s, v in merged.items() if s not in ("data", "run") and v != base[s]]
    if changed:
        raise UserError(
            f"{config or '--set'}: sections {changed} differ from the checkpoint's; test/extract rebuild "
            "the model from the checkpoint, so change only data.* settings here"
        )
    if merged["data"]["image_size"] != cfg.data.image_size:
        raise UserError(
            f"data.image_size {merged['data']['image_size']}: the checkpoint was trained at "
            f"{cfg.data.image_size}; keep that size"
        )
    return config_from_dict(merged)


def _model_name_in(config: Path | None) -> str | None:
    """The ``model.name`` a YAML file states, if it states one (read leniently: `load_config`
    reports any other problem of the file)."""
    if config is None or not Path(config).is_file():
        return None
    try:
        data = yaml.safe_load(Path(config).read_text())
    except yaml.YAMLError:
        return None
    model = data.get("model") if isinstance(data, dict) else None
    return str(model["name"]) if isinstance(model, dict) and "name" in model else None


@dataclass(frozen=True)
class SplitRun:
    """What ``run.py test`` and ``extract`` run on.

    Attributes:
        checkpoint: the checkpoint; the model and its config are rebuilt from it alone.
        split: ``train``/``val``/``test`` or another split of the dataset (``ood``, ``tracks``...).
        config, overrides: a YAML and ``--set`` values that may change only the data section.
        batch_size, num_workers: batching. max_images: stop after this many images (0: all).
        overwrite: write into a non-empty output folder / replace an existing output file.
    """

    checkpoint: Path
    split: str
    config: Path | None
    overrides: list[str]
    batch_size: int
    num_workers: int
    max_images: int
    overwrite: bool

    def load(self, device: torch.device):
        """The checkpoint's model, its config (data section possibly replaced), the dataset."""
        model, cfg, _ = load_model(self.checkpoint, device)
        cfg = _data_config(cfg, self.config, list(self.overrides))
        return model, cfg, dataset_from_config(cfg, self.split)

    def batches(self, dataset) -> Iterator[dict[str, Any]]:
        """The dataset's batches in order, up to ``max_images`` images (whole batches)."""
        seen = 0
        for batch in iterate_batches(dataset, self.batch_size, self.num_workers):
            yield batch
            seen += len(batch["image"])
            if self.max_images and seen >= self.max_images:
                return


def _labels(batch: dict[str, Any], dataset) -> tuple[np.ndarray | None, list[str]]:
    labels = batch.get("labels") or {}
    columns, names = [], []
    for key in sorted(labels):
        value = torch.as_tensor(labels[key])
        if value.dtype.is_floating_point and not torch.equal(value, value.round()):
            continue  # a continuous value (e.g. age regression target) is not a class label
        value = value.long()
        if value.dim() == 1:
            columns.append(value[:, None])
            names.append(key)
        else:
            sub = getattr(dataset, f"{key}_names", None) or getattr(
                dataset, "attribute_names", None
            )
            sub = (
                list(sub)
                if sub is not None and len(sub) == value.shape[1]
                else [f"{key}_{i}" for i in range(value.shape[1])]
            )
            columns.append(value)
            names.extend(sub)
    if not columns:
        return None, []
    return torch.cat(columns, 1).numpy(), names


@torch.no_grad()
def extract_features(run: SplitRun, device: torch.device, output: Path | None) -> Path:
    """Write the feature ``.npz`` (ARCHITECTURE.md §4) of a dataset split.

    Returns:
        The path written (default ``<checkpoint dir>/features_<split>.npz``).
    """
    model, cfg, dataset = run.load(device)
    output = Path(output) if output else run.checkpoint.parent / f"features_{run.split}.npz"
    check_output_file(output, run.overwrite)
    feats: dict[str, list[np.ndarray]] = {g: [] for g in model.feature_groups}
    labels, label_names, tracks, factors, ids = [], [], [], [], []
    seen = 0
    for batch in run.batches(dataset):
        images = batch["image"].to(device)
        for g, f in model.get_features(images).items():
            feats[g].append(f.float().cpu().numpy())
        lab, label_names = _labels(batch, dataset)
        if lab is not None:
            labels.append(lab)
        if "track_id" in batch:
            tracks.append(torch.as_tensor(batch["track_id"]).numpy())
        if "factors" in batch:
            factors.append(torch.as_tensor(batch["factors"]).float().numpy())
        ids.extend(
            str(i) for i in batch.get("image_id", [f"{seen + k}" for k in range(len(images))])
        )
        seen += len(images)
    if seen == 0:
        raise UserError(
            f"{cfg.data.name} split {run.split!r}: no images; check data.root and the split name"
        )
    n = min(seen, run.max_images) if run.max_images else seen
    fs = FeatureSet(
        features={g: np.concatenate(v)[:n] for g, v in feats.items()},
        labels=np.concatenate(labels)[:n] if labels else None,
        label_names=label_names,
        track_ids=np.concatenate(tracks)[:n] if tracks else None,
        factors=np.concatenate(factors)[:n] if factors else None,
        factor_names=list(getattr(dataset, "factor_names", []) or []),
        image_ids=np.asarray(ids[:n]),
        meta={
            "checkpoint": str(run.checkpoint),
            "checkpoint_sha256": sha256_file(run.checkpoint),
            "config": config_to_dict(cfg),
            "dataset": cfg.data.name,
            "split": run.split,
            "model": cfg.model.name,
            "image_size": cfg.data.image_size,
        },
    )
    if fs.factors is not None and len(fs.factor_names) != fs.factors.shape[1]:
        fs.factor_names = [f"factor_{i}" for i in range(fs.factors.shape[1])]
    save_features(output, fs)
    return output


def _levels(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> their 8-bit levels 0...255 (as floats): what `_save_png` writes."""
    return (images.clamp(0, 1) * 255).round()


def _as_8bit(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] quantised as `_save_png` writes them (so measures match the files)."""
    return _levels(images) / 255


def _save_png(path: Path, image: torch.Tensor) -> None:
    """(3, H, W) in [0, 1] -> 8-bit PNG, atomically."""
    array = _levels(image).permute(1, 2, 0).cpu().numpy().astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def _save_depth16(path: Path, depth: torch.Tensor, lo: float, hi: float) -> None:
    """(H, W) depth -> 16-bit PNG, 0 = lo, 65535 = hi (the release's normalisation)."""
    array = ((depth - lo) / (hi - lo)).clamp(0, 1).cpu().numpy() * 65535
    with atomic_path(path) as tmp:
        Image.fromarray(array.round().astype(np.uint16)).save(tmp, format="PNG")


def _save_gif(path: Path, frames: torch.Tensor) -> None:
    """(T, 3, H, W) in [0, 1] -> a looping ping-pong GIF, atomically."""
    arrays = [
        (f.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
        for f in frames
    ]
    arrays = arrays + arrays[-2:0:-1]
    images = [Image.fromarray(a) for a in arrays]
    with atomic_path(path) as tmp:
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=120, loop=0
        )


def _save_obj(folder: Path, name: str, depth: torch.Tensor, albedo: torch.Tensor, renderer) -> None:
    """The canonical surface as a textured mesh: <name>.obj + <name>.mtl + <name>_albedo.png."""
    from unsup3d.renderer import depth_to_points

    s = depth.shape[-1]
    points = (
        depth_to_points(depth[None], renderer.intrinsics_like(depth))[0]
        .reshape(-1, 3)
        .cpu()
        .numpy()
    )
    faces = renderer.faces(depth.device).cpu().numpy() + 1  # OBJ indices start at 1
    v, u = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    uv = np.stack([u.reshape(-1) / (s - 1), 1 - v.reshape(-1) / (s - 1)], 1)
    lines = [f"mtllib {name}.mtl", f"usemtl {name}"]
    # OBJ is y-up, looking down -z: flip y and z of the camera frame (x right, y down, z forward).
    lines += [f"v {x:.6f} {-y:.6f} {-z:.6f}" for x, y, z in points]
    lines += [f"vt {a:.6f} {b:.6f}" for a, b in uv]
    # Flipping two axes keeps handedness; reverse the winding so normals face the viewer.
    lines += [f"f {a}/{a} {c}/{c} {b}/{b}" for a, b, c in faces]
    atomic_write_text(folder / f"{name}.obj", "\n".join(lines) + "\n")
    atomic_write_text(
        folder / f"{name}.mtl", f"newmtl {name}\nKa 1 1 1\nKd 1 1 1\nmap_Kd {name}_albedo.png\n"
    )
    _save_png(folder / f"{name}_albedo.png", albedo)


class _ImageScores:
    """The PSNR of reconstructions against inputs, and of the input shrunk to 8 x 8 and scaled
    back up for reference, over the whole image and over the pixels the reconstruction covers;
    measured on the 8-bit images written to ``input/`` and ``recon/``."""

    def __init__(self) -> None:
        self.recon, self.thumb, self.recon_cov, self.thumb_cov, self.covered = [], [], [], [], []

    def add(self, images: torch.Tensor, recon: torch.Tensor, covered: torch.Tensor) -> None:
        """images, recon: (B, 3, S, S) in [0, 1]; covered: (B, S, S) mask of covered pixels."""
        shown, rec = _as_8bit(images), _as_8bit(recon)
        thumb = _as_8bit(thumbnail(shown, 8))
        self.recon.append(psnr(rec, shown).cpu())
        self.thumb.append(psnr(thumb, shown).cpu())
        self.covered.append(covered.float().mean(dim=(1, 2)).cpu())
        self.recon_cov.append(psnr(rec, shown, covered).cpu())
        self.thumb_cov.append(psnr(thumb, shown, covered).cpu())

    def write(self, out: Path) -> dict[str, float | int]:
        """Log the two lines and write ``image_metrics.json``; returns its contents."""
        metrics: dict[str, float | int] = {}
        for suffix, recon_p, thumb_p, where in (
            ("", self.recon, self.thumb, "whole image"),
            ("_covered", self.recon_cov, self.thumb_cov, "covered pixels"),
        ):
            p_recon, p_thumb = torch.cat(recon_p), torch.cat(thumb_p)
            ok = p_recon.isfinite() & p_thumb.isfinite()  # NaN: nothing covered
            metrics |= {
                f"recon_psnr{suffix}_mean": float(p_recon[ok].mean()),
                f"recon_psnr{suffix}_std": _nanstd(p_recon[ok]),
                f"thumbnail8_psnr{suffix}_mean": float(p_thumb[ok].mean()),
                f"recon_beats_thumbnail8{suffix}_fraction": float(
                    (p_recon > p_thumb).float().mean()
                ),
            }
            log.info(
                "reconstruction (%s): PSNR %.2f dB (input shrunk to 8x8 and scaled back up: %.2f dB)",
                where,
                metrics[f"recon_psnr{suffix}_mean"],
                metrics[f"thumbnail8_psnr{suffix}_mean"],
            )
        metrics["covered_fraction"] = float(torch.cat(self.covered).mean())
        metrics["num_images"] = len(torch.cat(self.recon))
        atomic_write_text(out / "image_metrics.json", json.dumps(metrics, indent=2) + "\n")
        return metrics


def _image_names(batch: dict[str, Any], seen: int, n: int) -> list[str]:
    return [Path(str(i)).stem for i in batch.get("image_id", [f"{seen + k:06d}" for k in range(n)])]


def _test_images_only(run: SplitRun, model, dataset, out: Path, device: torch.device) -> Path:
    """``run.py test`` of a model without a scene (a baseline): its image grids as PNGs (named
    by image id, one folder per grid) and ``image_metrics.json`` (every pixel counts as
    covered)."""
    scores = _ImageScores()
    seen = 0
    for batch in run.batches(dataset):
        images = batch["image"].to(device)
        grids = model.image_grids(images)["images"]
        scores.add(images, grids["recon"], torch.ones_like(images[:, 0]))
        for k, name in enumerate(_image_names(batch, seen, len(images))):
            for kind, grid in grids.items():
                _save_png(out / kind / f"{name}.png", grid[k])
        seen += len(images)
    scores.write(out)
    return out


@torch.no_grad()
def test(run: SplitRun, device: torch.device, output_dir: Path | None) -> Path:
    """Per-image outputs of a split and, where the dataset has ground truth, depth metrics.

    Writes into ``output_dir`` (default ``<checkpoint dir>/test_<split>``), one sub-folder per
    output kind, files named by image id: ``input``, ``recon`` (PNG), ``canon_depth`` (16-bit PNG,
    0 = min_depth ... 65535 = max_depth), ``canon_normal``, ``canon_albedo``, ``canon_shading``
    (PNG), ``rotation`` (a yaw-sweep GIF), ``mesh`` (textured .obj), plus ``scene.jsonl`` (light
    and view per image), ``image_metrics.json`` (the PSNR of ``recon`` against ``input`` and, for
    reference, that of the input shrunk to 8 x 8 and scaled back up, over the whole image and
    over the pixels the reconstruction covers) and, with ground-truth
    depth, ``depth_metrics.json`` (scale-invariant depth error and normal angle deviation in the
    input view, mean and std, the best constant depth's error for reference, the log-depth
    correlation and the relief scale: over every covered pixel (``side_mean``...) and, where the
    data has part labels, over the object alone (``object_side_mean``...)).

    A model without a scene (a baseline) writes its image grids (``input``, ``recon``, ...) and
    ``image_metrics.json``.
    """
    model, cfg, dataset = run.load(device)
    out = Path(output_dir) if output_dir else run.checkpoint.parent / f"test_{run.split}"
    prepare_output_dir(out, run.overwrite)
    if not isinstance(model, InverseRenderer):
        return _test_images_only(run, model, dataset, out, device)
    r = model.renderer
    lo, hi = r.min_depth, r.max_depth
    scene_lines = []
    side, mad, side_const = {}, {}, {}  # per evaluation mask ("scene", "object"): lists of (B,)
    corr, relief = {}, {}
    # Covered pixels: the loss's mask (the rest of the reconstruction is mid-grey).
    scores = _ImageScores()
    seen = 0
    for batch in run.batches(dataset):
        images = batch["image"].to(device)
        vis = model.image_grids(images)
        o = vis["output"]
        names = _image_names(batch, seen, len(images))
        scores.add(images, vis["images"]["recon"], o.mask)
        sweep = r.render_yaw(o.canon_depth, o.canon_image.clamp(0, 1), max_deg=60, num=9)
        for k, name in enumerate(names):
            for kind in ("input", "recon", "canon_albedo", "canon_shading", "canon_normal"):
                _save_png(out / kind / f"{name}.png", vis["images"][kind][k])
            _save_depth16(out / "canon_depth" / f"{name}.png", o.canon_depth[k], lo, hi)
            _save_gif(out / "rotation" / f"{name}.gif", sweep[k])
            _save_obj(out / "mesh", name, o.canon_depth[k], o.albedo[k], r)
            scene_lines.append(
                json.dumps(
                    {"image_id": name, "light": o.light[k].tolist(), "view": o.view[k].tolist()}
                )
            )
        if "depth" in batch and "view" in batch:
            gt_canon = batch["depth"].to(device).float()
            gt_view = batch["view"].to(device).float()
            gt_depth = r.warp_canon_depth(gt_canon, gt_view).clamp(r.depth_lo, r.depth_hi)
            parts = batch["mask"].to(device) if "mask" in batch else None
            masks = evaluation_masks(o.recon_depth, gt_depth, r.depth_hi, parts)
            K = r.intrinsics_like(gt_depth)
            n_pred, n_gt = depth_to_normals(o.recon_depth, K), depth_to_normals(gt_depth, K)
            for key, mask in masks.items():
                side.setdefault(key, []).append(
                    scale_invariant_depth_error(o.recon_depth, gt_depth, mask).cpu()
                )
                side_const.setdefault(key, []).append(constant_depth_side(gt_depth, mask).cpu())
                mad.setdefault(key, []).append(normal_angle_deviation(n_pred, n_gt, mask).cpu())
                c, slope = log_depth_fit(o.recon_depth, gt_depth, mask)
                corr.setdefault(key, []).append(c.cpu())
                relief.setdefault(key, []).append(slope.cpu())
        seen += len(images)
    atomic_write_text(out / "scene.jsonl", "\n".join(scene_lines) + "\n")
    scores.write(out)
    if side:
        metrics = {}
        for key in side:  # "scene" keeps the unprefixed names of earlier files
            s, m, c, rho, k = (torch.cat(x[key]) for x in (side, mad, side_const, corr, relief))
            prefix = "" if key == "scene" else f"{key}_"
            metrics |= {
                f"{prefix}side_mean": float(s.nanmean()),
                f"{prefix}side_std": _nanstd(s),
                f"{prefix}mad_deg_mean": float(m.nanmean()),
                f"{prefix}mad_deg_std": _nanstd(m),
                f"{prefix}side_best_constant_mean": float(c.nanmean()),
                f"{prefix}log_depth_correlation_mean": float(rho.nanmean()),
                f"{prefix}relief_scale_median": float(k.nanmedian()),
            }
            log.info(
                "depth (%s pixels): SIDE %.5f (best constant %.5f), MAD %.2f deg, "
                "relief scale %.2f (median; 1 = right), log-depth correlation %.3f",
                key,
                metrics[f"{prefix}side_mean"],
                metrics[f"{prefix}side_best_constant_mean"],
                metrics[f"{prefix}mad_deg_mean"],
                metrics[f"{prefix}relief_scale_median"],
                metrics[f"{prefix}log_depth_correlation_mean"],
            )
        metrics["num_images"] = int(len(torch.cat(side["scene"])))
        atomic_write_text(out / "depth_metrics.json", json.dumps(metrics, indent=2) + "\n")
    return out
