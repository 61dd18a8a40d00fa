"""One segmentation run: build the variant, train it on the label budget, score it on the test set.

Cross-entropy with ignore index 255, Adam (lr 2e-4, betas (0.5, 0.999)) as the release, batches
drawn with the run's own generator. After every epoch ``<run_dir>/last.pt`` is written atomically
(model, optimizer, generator, epoch, history, the run's options); a run started again with the
same options continues from it and ends bit-identical to an uninterrupted one. ``freeze`` keeps
the pre-trained encoders fixed: no gradients, BatchNorm in eval mode, and afterwards every encoder
tensor is checked to be bit-identical to the loaded one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from segmentation.data import SegmentationSplit
from segmentation.metrics import IGNORE_INDEX, TOPK, confusion_matrix, scores_from_confusion
from segmentation.pretrained import EncoderState, load_encoders
from segmentation.unet import SegmentationUNet
from unsup3d.api import UserError, atomic_path, seed_everything

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class TrainSettings:
    """The options one run is trained with (recorded in its checkpoint and in results.json)."""

    epochs: int
    batch_size: int
    lr: float
    freeze: bool
    topk: int = TOPK


def to_model_space(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 (B, 3, S, S) -> float (B, 3, S, S) in [-1, 1], the inverse renderer's input space."""
    return images.to(device, torch.float32) / 127.5 - 1


def build_variant(
    num_classes: int, states: list[EncoderState] | None, source: str, freeze: bool
) -> SegmentationUNet:
    """The U-Net of a variant: random init, then the pre-trained encoders (if any), frozen or not."""
    model = SegmentationUNet(num_classes, num_encoders=len(states) if states else 1)
    if states:
        load_encoders(model.encoders, states, source)
    if freeze:
        model.encoders.requires_grad_(False)
    return model


def set_train_mode(model: SegmentationUNet, freeze: bool) -> None:
    """Training mode, except frozen encoders, whose BatchNorm statistics stay fixed."""
    model.train()
    if freeze:
        model.encoders.eval()


def encoder_snapshot(model: SegmentationUNet) -> list[torch.Tensor]:
    """A copy of every encoder parameter and buffer (running statistics included)."""
    return [t.detach().cpu().clone() for t in model.encoders.state_dict().values()]


def check_frozen(model: SegmentationUNet, before: list[torch.Tensor]) -> None:
    """Raise if a frozen encoder changed (a bug, not bad input)."""
    now = model.encoders.state_dict()
    changed = [k for (k, v), b in zip(now.items(), before) if not torch.equal(v.cpu(), b)]
    if changed:
        raise RuntimeError(f"frozen encoders changed during training: {changed[:5]}")


@torch.no_grad()
def predict(
    model: SegmentationUNet, images: torch.Tensor, device: torch.device, batch_size: int = 64
) -> torch.Tensor:
    """Argmax class ids (N, S, S) uint8 of uint8 images (N, 3, S, S), in eval mode."""
    model.eval()
    out = [
        model(to_model_space(images[i : i + batch_size], device)).argmax(1).to("cpu", torch.uint8)
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(out)


def evaluate(
    model: SegmentationUNet, split: SegmentationSplit, device: torch.device, topk: int = TOPK
) -> dict[str, Any]:
    """Scores over the whole split from one summed confusion matrix (`segmentation.metrics`)."""
    matrix = np.zeros((split.num_classes, split.num_classes), dtype=np.int64)
    for i in range(0, len(split), 256):  # bounded memory for the predictions
        pred = predict(model, split.images[i : i + 256], device)
        matrix += confusion_matrix(pred, split.masks[i : i + 256], split.num_classes, IGNORE_INDEX)
    return scores_from_confusion(matrix, topk)


def _save(path: Path, payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _resume(path: Path, options: dict[str, Any]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a file this code did not write
        raise UserError(
            f"{path}: unreadable checkpoint ({exc.__class__.__name__}); delete it or pass --overwrite"
        ) from None
    if ckpt.get("options") != options:
        raise UserError(
            f"{path}: written by a run with other options; pass --overwrite to start afresh, "
            "or repeat the earlier command"
        )
    return ckpt


def train_run(
    model: SegmentationUNet,
    train: SegmentationSplit,
    settings: TrainSettings,
    seed: int,
    device: torch.device,
    run_dir: Path,
    options: dict[str, Any],
    resume: bool = True,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``model`` for ``settings.epochs`` epochs over ``train``, checkpointing each epoch.

    Args:
        model: the variant (`build_variant`), seeded init. train: the labelled images.
        settings: epochs, batch, lr, freeze. seed: batch order. device: where to train.
        run_dir: folder of this run's ``last.pt``. options: what a resumed run must match.
        resume: continue from ``run_dir/last.pt`` when it exists.
        on_epoch: called with each epoch's record (loss, pixel accuracy on the batches, time).

    Returns:
        The per-epoch records (those of a resumed run's earlier epochs included).

    Raises:
        FloatingPointError: a non-finite loss (naming epoch and step).
    """
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=settings.lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    # What a resumed run must share with the interrupted one (more epochs may be asked for).
    options = {**options, "train": {**asdict(settings), "epochs": None}, "seed": seed}
    history: list[dict[str, Any]] = []
    start = 0
    ckpt_path = run_dir / "last.pt"
    ckpt = _resume(ckpt_path, options) if resume else None
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        start, history = int(ckpt["epoch"]), list(ckpt["history"])
        log.info("%s: resuming after epoch %d", ckpt_path, start)
    before = encoder_snapshot(model) if settings.freeze else None
    n, bs = len(train), settings.batch_size
    for epoch in range(start, settings.epochs):
        set_train_mode(model, settings.freeze)
        t0, total, correct, counted = time.perf_counter(), 0.0, 0, 0
        order = torch.randperm(n, generator=gen)
        steps = max(1, n // bs)  # drop the last incomplete batch (BatchNorm on 1 image)
        for step in range(steps):
            idx = order[step * bs : (step + 1) * bs]
            x = to_model_space(train.images[idx], device)
            y = train.masks[idx].to(device, torch.int64)
            logits = model(x)
            loss = F.cross_entropy(logits, y, ignore_index=IGNORE_INDEX)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(
                    f"epoch {epoch + 1} step {step + 1}: loss is {loss.item()}"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            keep = y != IGNORE_INDEX
            total += loss.item()
            correct += int((logits.argmax(1) == y)[keep].sum())
            counted += int(keep.sum())
        seconds = time.perf_counter() - t0
        record = {
            "epoch": epoch + 1,
            "loss": total / steps,
            "train_pixel_accuracy": correct / max(counted, 1),
            "seconds": seconds,
            "images_per_s": steps * bs / seconds,
        }
        history.append(record)
        payload = {
            "format_version": CHECKPOINT_VERSION,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "generator": gen.get_state(),
            "epoch": epoch + 1,
            "history": history,
            "options": options,
        }
        _save(ckpt_path, payload)
        if on_epoch is not None:
            on_epoch(record)
    if before is not None:
        check_frozen(model, before)
    return history


def seeded_variant(
    seed: int, num_classes: int, states: list[EncoderState] | None, source: str, freeze: bool
) -> SegmentationUNet:
    """`build_variant` after `seed_everything(seed)`: the same run gets the same decoder init."""
    seed_everything(seed)
    return build_variant(num_classes, states, source, freeze)
