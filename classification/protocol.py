"""The evaluation protocol: for each labelled-set size N and each run seed, draw N training
samples, train a fresh probe (and a fresh backbone when one is used), score it on the whole
evaluation split, then aggregate mean ± std over runs.

Run ``r`` uses seed ``seed + r`` for the subset, the head's (and a random backbone's) init and the
batch order, so two methods given the same labels and seed train on the same subsets (each run
records the SHA-256 of its subset indices to make that checkable).

Frozen backbones: when no augmentation is used, features are extracted once per run (eval mode,
no grad) and the head trains on them, which is the same computation as running the frozen
backbone on every batch, without the cost; with ``--hflip`` the frozen backbone runs in the loop.
Either way the backbone is compared bit for bit with its snapshot after training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from classification import backbone as backbone_lib
from classification.data import Task, draw_subset
from classification.metrics import mean_std
from classification.probe import (
    ProbeHead,
    ProbeModel,
    TrainConfig,
    extract,
    predict,
    score,
    train_probe,
)
from evalkit import majority_rate
from unsup3d.api import seed_everything

log = logging.getLogger(__name__)

MODES = ("frozen", "finetune")


@dataclass(frozen=True)
class ProtocolConfig:
    """What to run.

    Attributes:
        num_train: labelled-set sizes N.
        runs: seeds per N (``seed``, ``seed + 1``, ...).
        seed: first seed.
        mode: ``"frozen"`` or ``"finetune"`` (ignored without a backbone: features are fixed).
        groups: the backbone's feature groups (ignored for feature inputs).
        hidden: 0 for a linear head, else the MLP hidden width.
        standardize: the head's input normalisation (`ProbeHead.fit_standardization`), from
            the training subset's features (for a backbone: its features before training).
        freeze_norm_stats: finetune: keep running-statistics norm layers in eval().
        train: optimisation settings.
    """

    num_train: tuple[int, ...] = (100, 500, 1000)
    runs: int = 3
    seed: int = 0
    mode: str = "frozen"
    groups: tuple[str, ...] = ()
    hidden: int = 0
    standardize: str = "scale"
    freeze_norm_stats: bool = True
    train: TrainConfig = field(default_factory=TrainConfig)


def subset_hash(indices: np.ndarray) -> str:
    """Short SHA-256 of an index array (little-endian int64), to compare subsets across runs."""
    return hashlib.sha256(np.asarray(indices, dtype="<i8").tobytes()).hexdigest()[:16]


@contextmanager
def epoch_log(path: str | os.PathLike, epochs: int) -> Iterator[Callable[[dict], None]]:
    """An ``on_epoch`` callback for `run_protocol` that writes ``metrics.jsonl`` and logs progress.

    Args:
        path: the JSON-lines file (replaced): one object per epoch of every run.
        epochs: epochs per run; epoch 1, every 10th and the last are logged.

    Yields:
        The callback, valid while the context is open.
    """
    with open(path, "w") as fh:

        def on_epoch(record: dict) -> None:
            fh.write(json.dumps(record) + "\n")
            if record["epoch"] % 10 == 0 or record["epoch"] in (1, epochs):
                log.info(
                    "N=%d run %d epoch %d/%d: loss %.4f, train accuracy %.4f, %.1f samples/s",
                    record["num_train"],
                    record["run"],
                    record["epoch"],
                    epochs,
                    record["loss"],
                    record["train_accuracy"],
                    record["num_train"] / max(record["seconds"], 1e-9),
                )

        yield on_epoch


def run_once(
    train_inputs: torch.Tensor,
    train_targets: torch.Tensor,
    eval_inputs: torch.Tensor,
    eval_targets: np.ndarray,
    task: Task,
    cfg: ProtocolConfig,
    device: torch.device,
    seed: int,
    encoder: nn.Module | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> tuple[dict, ProbeModel]:
    """Train one probe on one labelled subset and score it.

    Args:
        train_inputs: CPU (n, D) features or (n, 3, S, S) uint8 images: the subset already drawn.
        train_targets: CPU (n,) or (n, A) int64.
        eval_inputs: CPU, same kind as ``train_inputs``.
        eval_targets: (M,) or (M, A) int64.
        task, cfg, device: as for `run_protocol`.
        seed: seeds the head init and the batch order.
        encoder: a backbone for image inputs (freshly built for this run), or None.
        on_epoch: per-epoch callback.

    Returns:
        (result, trained model): ``accuracy``, ``per_attribute`` (multi-label), ``final_loss``,
        ``final_train_accuracy``, ``history``, and for a backbone ``backbone_changed`` (number of
        state tensors that differ from before training; always 0 when frozen, checked).
    """
    frozen = cfg.mode == "frozen"
    before = None
    if encoder is not None:
        encoder.to(device)
        if frozen:
            backbone_lib.freeze(encoder)
        before = backbone_lib.snapshot(encoder)
    torch.manual_seed(seed)
    groups = cfg.groups
    model_encoder = encoder
    if encoder is not None and frozen and not (cfg.train.hflip and train_inputs.dim() == 4):
        train_inputs = extract(encoder, groups, train_inputs, device)
        eval_inputs = extract(encoder, groups, eval_inputs, device)
        model_encoder = None  # the head trains on the extracted features
    if model_encoder is None:
        initial = train_inputs
    else:  # the backbone's features before training: head size and standardisation
        initial = extract(model_encoder, groups, train_inputs, device)
    head = ProbeHead(initial.shape[1], task.num_outputs, cfg.hidden)
    head.fit_standardization(initial, cfg.standardize)
    model = ProbeModel(
        head,
        model_encoder,
        groups,
        trainable_encoder=not frozen,
        freeze_norm_stats=cfg.freeze_norm_stats,
    ).to(device)
    generator = torch.Generator().manual_seed(seed)
    history = train_probe(
        model, train_inputs, train_targets, task, cfg.train, device, generator, on_epoch
    )
    logits = predict(model, eval_inputs, device)
    result = score(task, logits, eval_targets)
    result["final_loss"] = history[-1]["loss"]
    result["final_train_accuracy"] = history[-1]["train_accuracy"]
    result["history"] = history
    if encoder is not None:
        if frozen:
            backbone_lib.check_unchanged(encoder, before)
        result["backbone_changed"] = len(backbone_lib.changed_entries(encoder, before))
    return result, model


def run_protocol(
    train_inputs: np.ndarray,
    train_targets: np.ndarray,
    eval_inputs: np.ndarray,
    eval_targets: np.ndarray,
    task: Task,
    cfg: ProtocolConfig,
    device: torch.device,
    make_encoder: Callable[[], nn.Module] | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    source: str = "train",
) -> dict:
    """Every N in ``cfg.num_train`` x every run seed, then mean ± std.

    Args:
        train_inputs: (N_all, D) float32 features or (N_all, 3, S, S) uint8 images.
        train_targets: (N_all,) class ids or (N_all, A) 0/1, from `resolve_task`.
        eval_inputs, eval_targets: the evaluation split, same kinds.
        task: from `resolve_task`.
        cfg: protocol settings.
        device: where training runs.
        make_encoder: builds a fresh backbone per run (image inputs), or None for features.
        on_epoch: called with each epoch's record plus ``num_train`` and ``run``.
        source: the training file, named in errors.

    Returns:
        ``{"task", "label_names", "num_classes", "num_eval", "majority_rate",
        "majority_per_attribute", "results": [per N: "num_train", "accuracy_mean",
        "accuracy_std", "per_attribute_mean"/"_std" (multi-label), "runs": [...]]}``.
    """
    x_train = torch.from_numpy(np.ascontiguousarray(train_inputs))
    x_eval = torch.from_numpy(np.ascontiguousarray(eval_inputs))
    majority, majority_per_attribute = majority_rate(eval_targets)
    summary: dict = {
        "task": task.kind,
        "label_names": list(task.names),
        "num_classes": task.num_outputs if task.kind == "multiclass" else None,
        "num_eval": int(eval_targets.shape[0]),
        "majority_rate": majority,
        "majority_per_attribute": None
        if majority_per_attribute is None
        else majority_per_attribute.tolist(),
        "results": [],
    }
    for n in cfg.num_train:
        runs = []
        for r in range(cfg.runs):
            seed = cfg.seed + r
            indices = draw_subset(train_targets, n, seed, source)
            seed_everything(seed)  # a random-init backbone (the baseline) depends on it
            encoder = make_encoder() if make_encoder is not None else None
            idx = torch.from_numpy(indices)

            def tagged(record: dict, n: int = n, r: int = r) -> None:
                if on_epoch is not None:
                    on_epoch({"num_train": n, "run": r, **record})

            result, _ = run_once(
                x_train[idx],
                torch.from_numpy(train_targets[indices]),
                x_eval,
                eval_targets,
                task,
                cfg,
                device,
                seed,
                encoder,
                tagged,
            )
            history = result.pop("history")
            runs.append({"run": r, "seed": seed, "subset_sha256": subset_hash(indices), **result})
            log.info(
                "N=%d run %d (seed %d): accuracy %.4f (train loss %.4f, %d epochs)",
                n,
                r,
                seed,
                result["accuracy"],
                result["final_loss"],
                len(history),
            )
        mean, std = mean_std([run["accuracy"] for run in runs])
        entry = {
            "num_train": n,
            "accuracy_mean": float(mean),
            "accuracy_std": float(std),
            "runs": runs,
        }
        if task.kind == "multilabel":
            pa_mean, pa_std = mean_std([run["per_attribute"] for run in runs])
            entry["per_attribute_mean"] = pa_mean.tolist()
            entry["per_attribute_std"] = pa_std.tolist()
        summary["results"].append(entry)
    return summary
