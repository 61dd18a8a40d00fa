"""The probe: head, model wrapper, training loop and scoring, shared by every mode.

- Head: a fixed input normalisation set from the training subset (default: divide by one
  number, the RMS of the features, so that methods whose features differ in overall scale see
  the same effective learning rate), then Linear(D, K), or an MLP Linear(D, H) -> ReLU ->
  Linear(H, K). Per-feature z-scoring (``"feature"``) and BatchNorm were measured worse at
  N = 100 (classification/README.md, bench/bench_probe.py).
- Multi-label: K = A logits, sigmoid + BCE (``binary_cross_entropy_with_logits``, the stable form
  of the paper's Sigmoid + BCELoss); accuracy at probability 0.5. Multi-class: softmax + CE, top-1.
- `ProbeModel` puts the head on raw features (``encoder=None``) or on a backbone. A frozen
  backbone runs in eval() under no_grad whatever ``train()`` is called with; a trainable one
  trains with its own learning rate, and with ``freeze_norm_stats`` its BatchNorm-style layers
  keep their pre-trained running statistics (eval mode) while their affine weights still train.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import expit
from torch import nn

from classification.backbone import encode, stat_norm_layers
from classification.data import Task
from classification.metrics import multilabel_accuracy, top1_accuracy
from unsup3d.api import UserError

log = logging.getLogger(__name__)

EVAL_BATCH = 256
STANDARDIZE = ("scale", "feature", "none")


class ProbeHead(nn.Module):
    """Linear or MLP classifier on (B, D) features, after a fixed normalisation.

    Args:
        in_dim: D. out_dim: K logits.
        hidden: 0 for a linear head, else the MLP's hidden width H.

    The normalisation ``(x - mean) / scale`` is the identity until `fit_standardization` sets
    it from training features; its statistics are buffers, never trained.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 0):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        if hidden > 0:
            self.net: nn.Module = nn.Sequential(
                nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim)
            )
        else:
            self.net = nn.Linear(in_dim, out_dim)

    @torch.no_grad()
    def fit_standardization(self, features: torch.Tensor, kind: str = "scale") -> None:
        """Set the input normalisation from (N, D) training features.

        Args:
            features: the training subset's features.
            kind: ``"scale"``: divide every feature by one number, the root-mean-square of all
                training feature values (no centring, relative scales kept: only the overall
                scale of a method's features is removed); ``"feature"``: subtract each
                feature's mean and divide by its deviation (scikit-learn's StandardScaler; a
                constant feature keeps scale 1); ``"none"``: identity.
        """
        if kind not in STANDARDIZE:
            raise ValueError(f"kind must be one of {STANDARDIZE}, got {kind!r}")
        if kind == "none":
            return
        features = features.to(self.mean.device, torch.float32)
        if kind == "scale":
            rms = float(features.pow(2).mean().sqrt())
            self.scale.fill_(rms if rms > 0 else 1.0)
            return
        mean = features.mean(dim=0)
        std = (features - mean).pow(2).mean(dim=0).sqrt()
        self.mean.copy_(mean)
        self.scale.copy_(torch.where(std > 1e-12, std, torch.ones_like(std)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, K) logits."""
        return self.net((features - self.mean) / self.scale)


class ProbeModel(nn.Module):
    """Head on features, or on a backbone's concatenated ``groups`` features.

    Args:
        head: the `ProbeHead`.
        encoder: None (inputs are features) or a backbone (inputs are images in [0, 1]).
        groups: the backbone's feature groups, concatenated in this order.
        trainable_encoder: finetune the backbone; False keeps it frozen (no grad, eval()).
        freeze_norm_stats: with a trainable backbone, keep its running-statistics norm layers in
            eval() (their statistics stay the pre-trained ones).
    """

    def __init__(
        self,
        head: nn.Module,
        encoder: nn.Module | None = None,
        groups: Sequence[str] = (),
        trainable_encoder: bool = False,
        freeze_norm_stats: bool = True,
    ) -> None:
        super().__init__()
        self.head = head
        self.encoder = encoder
        self.groups = tuple(groups)
        self.trainable_encoder = trainable_encoder and encoder is not None
        self.freeze_norm_stats = freeze_norm_stats
        if encoder is not None and not self.trainable_encoder:
            encoder.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> ProbeModel:
        super().train(mode)
        if self.encoder is not None:
            if not self.trainable_encoder:
                self.encoder.eval()
            elif self.freeze_norm_stats:
                for m in stat_norm_layers(self.encoder):
                    m.eval()
        return self

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, D) features as given, or (B, 3, S, S) images in [0, 1] -> (B, D)."""
        if self.encoder is None:
            return inputs
        if self.trainable_encoder:
            return encode(self.encoder, inputs, self.groups)
        with torch.no_grad():
            return encode(self.encoder, inputs, self.groups)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """-> (B, K) logits."""
        return self.head(self.features(inputs))


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (Adam, constant learning rates).

    Attributes:
        epochs: passes over the labelled subset.
        batch_size: samples per step; the epoch is split into near-equal batches, so no batch
            has a single sample (BatchNorm needs two).
        lr: head learning rate.
        encoder_lr: backbone learning rate when it trains.
        weight_decay: L2 on all trained parameters (Adam's coupled form).
        hflip: flip training images left-right with probability 0.5 (image inputs only).
    """

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    encoder_lr: float = 1e-4
    weight_decay: float = 0.0
    hflip: bool = False


def to_input(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a batch to ``device``; uint8 images become float in [0, 1]."""
    if batch.dtype == torch.uint8:
        return batch.to(device, non_blocking=True).float().div_(255.0)
    return batch.to(device, non_blocking=True)


def loss_fn(task: Task, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean CE (multi-class, targets (B,) int) or mean BCE over entries (multi-label (B, A))."""
    if task.kind == "multiclass":
        return F.cross_entropy(logits, targets)
    return F.binary_cross_entropy_with_logits(logits, targets.float())


def _n_correct(task: Task, logits: torch.Tensor, targets: torch.Tensor) -> float:
    if task.kind == "multiclass":
        return float((logits.argmax(1) == targets).sum())
    return float(((logits > 0) == (targets == 1)).float().mean(1).sum())


def train_probe(
    model: ProbeModel,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    task: Task,
    cfg: TrainConfig,
    device: torch.device,
    generator: torch.Generator,
    on_epoch: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train ``model`` (head, plus the backbone if trainable) on a labelled subset.

    Args:
        model: on ``device`` already.
        inputs: CPU (N, D) float features or (N, 3, S, S) uint8 images.
        targets: CPU (N,) int64 class ids or (N, A) int64 0/1.
        task: multi-class or multi-label.
        cfg: optimisation settings.
        device: where batches go.
        generator: CPU generator for shuffling and flips (the run's seed).
        on_epoch: called with each epoch's record.

    Returns:
        One record per epoch: ``epoch`` (1-based), ``loss`` and ``train_accuracy`` (means over
        the epoch's samples, in train mode), ``seconds``.

    Raises:
        UserError: the loss became NaN/inf (names epoch and step).
    """
    n = inputs.shape[0]
    if n < 2:
        raise UserError(f"--num-train {n}: the probe needs at least 2 labelled samples")
    groups = [{"params": list(model.head.parameters()), "lr": cfg.lr}]
    if model.trainable_encoder:
        enc = [p for p in model.encoder.parameters() if p.requires_grad]
        groups.append({"params": enc, "lr": cfg.encoder_lr})
    optimizer = torch.optim.Adam(groups, weight_decay=cfg.weight_decay)
    flip = cfg.hflip and inputs.dim() == 4
    n_batches = max(1, math.ceil(n / cfg.batch_size))
    if n_batches > 1 and n // n_batches < 2:
        n_batches = n // 2
    history = []
    for epoch in range(1, cfg.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator)
        total_loss = total_correct = 0.0
        for step, idx in enumerate(torch.tensor_split(order, n_batches), start=1):
            x = to_input(inputs[idx], device)
            y = targets[idx].to(device)
            if flip:
                mask = (torch.rand(len(idx), generator=generator) < 0.5).to(device)
                x = torch.where(mask[:, None, None, None], x.flip(-1), x)
            logits = model(x)
            loss = loss_fn(task, logits, y)
            if not torch.isfinite(loss):
                raise UserError(
                    f"training diverged: loss is {loss.item()} at epoch {epoch}, step {step}; "
                    "lower --lr / --encoder-lr"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(idx)  # CPU-GPU sync point, once per step
            total_correct += _n_correct(task, logits.detach(), y)
        record = {
            "epoch": epoch,
            "loss": total_loss / n,
            "train_accuracy": total_correct / n,
            "seconds": time.perf_counter() - start,
        }
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history


@torch.no_grad()
def predict(model: nn.Module, inputs: torch.Tensor, device: torch.device) -> np.ndarray:
    """Logits (N, K) as float64 NumPy, in eval mode, batch by batch."""
    model.eval()
    out = [
        model(to_input(inputs[i : i + EVAL_BATCH], device)).double().cpu()
        for i in range(0, inputs.shape[0], EVAL_BATCH)
    ]
    return torch.cat(out).numpy()


@torch.no_grad()
def extract(
    encoder: nn.Module, groups: Sequence[str], images: torch.Tensor, device: torch.device
) -> torch.Tensor:
    """A frozen backbone's features for (N, 3, S, S) uint8 images -> CPU float32 (N, D)."""
    encoder.eval()
    out = [
        encode(encoder, to_input(images[i : i + EVAL_BATCH], device), groups).float().cpu()
        for i in range(0, images.shape[0], EVAL_BATCH)
    ]
    return torch.cat(out)


def score(task: Task, logits: np.ndarray, targets: np.ndarray) -> dict:
    """Accuracy of logits against targets.

    Returns:
        ``{"accuracy": float}`` plus, for multi-label, ``"per_attribute"``: list of A floats.
    """
    if task.kind == "multiclass":
        return {"accuracy": top1_accuracy(logits, targets)}
    probs = expit(logits)  # sigmoid, without overflow warnings
    mean, per_attribute = multilabel_accuracy(probs, targets)
    return {"accuracy": mean, "per_attribute": per_attribute.tolist()}
