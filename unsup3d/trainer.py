"""Training loop: optimisation, validation and early stopping, checkpoints, exact resume, logging.

The trainer knows the model only through the registry (`unsup3d.models`) and the model
interface (`unsup3d.trainable.TrainableModel`: training and validation terms, optimiser, image
grids), and the data through `unsup3d.data`, like DINO's ``train_one_epoch`` with explicit
arguments; so PDR and every baseline train through this one loop. Its settings are the ``run``
and ``trainer`` config sections (`RunSettings`, `TrainerSettings`). One process trains
on the CPU or one GPU; under ``torchrun`` it uses DistributedDataParallel (gloo on CPU, NCCL on
GPU) with sharded samplers, and only rank 0 writes.

Determinism and resume: the data order of epoch e is drawn from a generator seeded by
(seed, e), each step's generator (LOOCC's draws, a VAE's noise) from (seed, step), each
validation batch's from (seed, batch), and the global RNG states are saved with every
checkpoint, so a run killed at any point and resumed from ``last.pt`` (written at the end of
every epoch) produces the same weights as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from unsup3d.checkpoint import (
    load_checkpoint,
    load_model_state,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from unsup3d.data.registry import dataset_from_config
from unsup3d.errors import UserError
from unsup3d.models import build_model
from unsup3d.schema import SettingError, Settings, as_dict, as_yaml, setting
from unsup3d.utils import atomic_write_text, git_sha, keep_freed_memory, seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings(Settings):
    """Where a run is written and how it is seeded (``run.*``)."""

    output_dir: str = setting(
        "runs/default", "run directory: config.yaml, checkpoints, metrics, TensorBoard"
    )
    seed: int = setting(0, "seeds python, numpy, torch, the data order and LOOCC", lo=0)
    deterministic: bool = setting(
        True, "cudnn.benchmark off, deterministic algorithms where available"
    )


@dataclass(frozen=True)
class TrainerSettings(Settings):
    """Optimisation, validation, checkpoints and logging (``trainer.*``)."""

    num_epochs: int = setting(300, "epochs to train at most", lo=1)
    max_steps: int = setting(0, "stop after this many steps (0: no limit)", lo=0)
    batch_size: int = setting(64, "images per step, over all processes", lo=1)
    lr: float = setting(
        1e-3, "Adam learning rate (paper 1e-3; release configs 1e-4)", lo=0.0, lo_open=True
    )
    betas: list[float] = setting([0.9, 0.999], "Adam's (beta1, beta2)")
    lr_schedule: Literal["constant", "cosine"] = setting(
        "constant", "constant (paper, release) or cosine decay to 0 over the run's steps"
    )
    warmup_steps: int = setting(0, "linear learning-rate warm-up from 0 over these steps", lo=0)
    weight_decay: float = setting(5e-4, "Adam's coupled L2 weight decay (release)", lo=0.0)
    patience: int = setting(
        10, "early stopping on the validation reconstruction loss, epochs (0: off)", lo=0
    )
    val_every: int = setting(1, "epochs between validations", lo=1)
    checkpoint_every: int = setting(10, "write epoch_NNNN.pt every k epochs (0: off)", lo=0)
    keep_checkpoints: int = setting(3, "periodic checkpoints kept", lo=1)
    log_freq: int = setting(100, "steps between TensorBoard scalar logs", lo=1)
    tensorboard: bool = setting(True, "write TensorBoard events to <run>/tb")
    amp: Literal["none", "bf16", "fp16"] = setting("none", "mixed precision (a CUDA switch)")
    grad_clip: float = setting(0.0, "max gradient norm (0: off)", lo=0.0)

    def validate(self) -> None:
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise SettingError(
                "betas", f"{self.betas} must be two numbers in [0, 1), e.g. [0.9, 0.999]"
            )


def learning_rate(cfg: TrainerSettings, step: int, total_steps: int) -> float:
    """The learning rate of step ``step`` (0-based) of ``total_steps``: a pure function, so a
    resumed run continues the schedule exactly without any scheduler state."""
    lr = cfg.lr
    if cfg.lr_schedule == "cosine":
        decay = max(1, total_steps - cfg.warmup_steps)
        progress = min(1.0, max(0, step - cfg.warmup_steps) / decay)
        lr *= 0.5 * (1.0 + math.cos(math.pi * progress))
    if cfg.warmup_steps and step < cfg.warmup_steps:
        lr *= (step + 1) / cfg.warmup_steps
    return lr


class TrainingDiverged(UserError):
    """A loss term became NaN or inf."""


@dataclass
class DistInfo:
    """Process-group facts (a single process is rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group when launched by ``torchrun`` (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


class _TrainingStep(nn.Module):
    """The model's training objective as one forward, so DistributedDataParallel sees it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, generator: torch.Generator, epoch: int, step: int):
        return self.model.training_terms(images, generator, epoch=epoch, step=step)


@dataclass
class TrainState:
    epoch: int = 0  # epochs completed
    step: int = 0
    best_val: float = math.inf
    bad_epochs: int = 0
    metrics: list[dict[str, Any]] = field(default_factory=list)


def _derived_seed(*parts: int) -> int:
    seed = 0x9E3779B97F4A7C15
    for p in parts:
        seed = (seed ^ (p + 0x9E3779B9 + (seed << 6) + (seed >> 2))) & 0x7FFFFFFFFFFFFFFF
    return seed


def _worker_init(worker_id: int) -> None:
    # DataLoader seeds torch per worker from its generator; seed numpy/random from that too.
    seed = torch.initial_seed() % 2**32
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - libraries in workers may use the legacy global RNG
    keep_freed_memory()  # inherited under fork; spawned workers need it set here


class Trainer:
    """Train one configuration into ``cfg.run.output_dir``.

    Args:
        cfg: the resolved `unsup3d.config.Config`.
        device: where to train (see `unsup3d.utils.resolve_device`).
        num_workers: DataLoader worker processes.
        overwrite: start afresh in a non-empty output dir (its checkpoints are replaced).
    """

    def __init__(
        self, cfg, device: torch.device, num_workers: int = 0, overwrite: bool = False
    ) -> None:
        self.cfg = cfg
        self.dist = init_distributed(device.type)
        if self.dist.enabled and device.type == "cuda":
            device = torch.device(f"cuda:{self.dist.local_rank}")
        self.device = device
        self.num_workers = num_workers
        self.out = Path(cfg.run.output_dir)
        self.state = TrainState()
        seed_everything(cfg.run.seed)
        if cfg.run.deterministic:
            torch.backends.cudnn.benchmark = False
        if cfg.trainer.batch_size % self.dist.world_size:
            raise UserError(
                f"trainer.batch_size {cfg.trainer.batch_size} is not divisible by {self.dist.world_size} processes; choose a multiple"
            )
        self._prepare_output(overwrite)
        self.model = build_model(cfg).to(device)
        self.optimizer = self.model.make_optimizer(cfg.trainer)
        amp = cfg.trainer.amp if device.type == "cuda" else "none"
        if cfg.trainer.amp != "none" and device.type != "cuda":
            log.warning(
                "trainer.amp=%s ignored on %s (mixed precision is a CUDA switch)",
                cfg.trainer.amp,
                device,
            )
        self.amp_dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")
        # Fails at start (saying where to put the file) when e.g. a perceptual term's VGG16 is
        # missing.
        self.model.prepare_training(device)
        step_module: nn.Module = _TrainingStep(self.model)
        if self.dist.enabled:
            step_module = nn.parallel.DistributedDataParallel(
                step_module,
                device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=True,
            )
        self.step_module = step_module
        # Training and validation use the images alone (synthetic items carry no ground truth
        # then, so DataLoader batches are a third of the size).
        self.train_set = dataset_from_config(cfg, "train", keys=("image",))
        self.val_set = dataset_from_config(cfg, "val", keys=("image",))
        self._writer = None
        self._total_steps = self.total_steps()
        if self._resume_path().is_file():
            self._resume()

    # ----------------------------------------------------------------------------- setup
    def _resume_path(self) -> Path:
        return self.out / "last.pt"

    def _prepare_output(self, overwrite: bool) -> None:
        cfg_text = as_yaml(self.cfg)
        if not self.dist.is_main:
            return
        existing = self.out.is_dir() and any(self.out.iterdir())
        if existing and overwrite:
            for name in ("last.pt", "best.pt", "metrics.jsonl"):
                (self.out / name).unlink(missing_ok=True)
            for old in self.out.glob("epoch_*.pt"):
                old.unlink()
        elif existing and not self._resume_path().is_file():
            raise UserError(
                f"{self.out}: output dir is not empty and has no last.pt to resume; choose another run.output_dir or pass --overwrite"
            )
        elif existing:
            saved = (
                (self.out / "config.yaml").read_text()
                if (self.out / "config.yaml").is_file()
                else ""
            )
            if saved and saved != cfg_text:
                raise UserError(
                    f"{self.out}: holds a run with a different config.yaml; resume with the same config, choose another run.output_dir, or pass --overwrite"
                )
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / "config.yaml", cfg_text)

    def _resume(self) -> None:
        ckpt = load_checkpoint(self._resume_path(), map_location=self.device)
        load_model_state(self.model, ckpt["model"], str(self._resume_path()))
        self.optimizer.load_state_dict(ckpt["optimizers"]["adam"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.state = TrainState(
            epoch=int(ckpt["epoch"]),
            step=int(ckpt["step"]),
            best_val=float(ckpt["best_val"]),
            bad_epochs=int(ckpt["early_stop"]),
            metrics=list(ckpt["metrics"]),
        )
        set_rng_state(ckpt["rng"])
        log.info(
            "resumed from %s at epoch %d, step %d",
            self._resume_path(),
            self.state.epoch,
            self.state.step,
        )

    def _loader(self, dataset, train: bool, epoch: int) -> DataLoader:
        per_rank = self.cfg.trainer.batch_size // self.dist.world_size
        generator = torch.Generator().manual_seed(
            _derived_seed(self.cfg.run.seed, epoch, int(train))
        )
        sampler = None
        if self.dist.enabled:
            sampler = DistributedSampler(
                dataset, shuffle=train, seed=self.cfg.run.seed, drop_last=train
            )
            sampler.set_epoch(epoch)
        return DataLoader(
            dataset,
            batch_size=per_rank,
            shuffle=train and sampler is None,
            sampler=sampler,
            drop_last=train and len(dataset) >= per_rank * self.dist.world_size,
            num_workers=self.num_workers,
            generator=generator,
            worker_init_fn=_worker_init if self.num_workers else None,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )

    @property
    def writer(self):
        if self._writer is None and self.cfg.trainer.tensorboard and self.dist.is_main:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional
                log.warning(
                    "tensorboard is not installed; pip install tensorboard, or set trainer.tensorboard: false"
                )
                return None
            self._writer = SummaryWriter(str(self.out / "tb"), purge_step=self.state.step or None)
        return self._writer

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    # ----------------------------------------------------------------------------- loop
    def fit(self) -> TrainState:
        """Train until num_epochs, max_steps or early stopping; returns the final state."""
        cfg = self.cfg.trainer
        log.info(
            "training %s on %s: %d train / %d val images, batch %d, git %s",
            type(self.model).__name__,
            self.device,
            len(self.train_set),
            len(self.val_set),
            cfg.batch_size,
            git_sha()[:10],
        )
        while self.state.epoch < cfg.num_epochs:
            if cfg.max_steps and self.state.step >= cfg.max_steps:
                break
            if cfg.patience and self.state.bad_epochs >= cfg.patience:
                log.info(
                    "early stopping: validation reconstruction loss did not improve for %d epochs",
                    cfg.patience,
                )
                break
            epoch = self.state.epoch
            t0 = time.perf_counter()
            train_terms = self._train_epoch(epoch)
            record: dict[str, Any] = {
                "epoch": epoch + 1,
                "step": self.state.step,
                "time_s": time.perf_counter() - t0,
            }
            record.update({f"train/{k}": v for k, v in train_terms.items()})
            improved = False
            if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.num_epochs:
                val_terms = self.evaluate(self.val_set)
                record.update({f"val/{k}": v for k, v in val_terms.items()})
                val = val_terms["recon"]
                improved = val < self.state.best_val
                if improved:
                    self.state.best_val, self.state.bad_epochs = val, 0
                else:
                    self.state.bad_epochs += 1
            self.state.epoch = epoch + 1
            self.state.metrics.append(record)
            self._end_of_epoch(record, improved)
        if self._writer is not None:
            self._writer.close()
        return self.state

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        from tqdm import tqdm

        cfg = self.cfg.trainer
        # Global RNGs (used by e.g. dataset augmentation) restart from (seed, epoch), so a resumed
        # epoch replays exactly, whatever validation or logging drew from them meanwhile.
        seed_everything(_derived_seed(self.cfg.run.seed, epoch, self.dist.rank) % 2**63)
        self.model.train()
        loader = self._loader(self.train_set, True, epoch)
        sums: dict[str, float] = {}
        count = 0
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}",
            disable=None if self.dist.is_main else True,
            leave=False,
        )
        for batch in bar:
            if cfg.max_steps and self.state.step >= cfg.max_steps:
                break
            images = batch["image"].to(self.device, non_blocking=True)
            self._set_lr()
            generator = torch.Generator(device=self.device).manual_seed(
                _derived_seed(self.cfg.run.seed, self.state.step, 7)
            )
            with self._autocast():
                total, terms = self.step_module(images, generator, epoch, self.state.step)
            self._check_finite(total, terms)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(total).backward()
            if cfg.grad_clip:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.state.step += 1
            values = {k: float(v) for k, v in terms.items()}
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            bar.set_postfix(loss=f"{values.get('total', float(total.detach())):.4f}")
            if self.writer is not None and self.state.step % cfg.log_freq == 0:
                for k, v in values.items():
                    self.writer.add_scalar(f"train/{k}", v, self.state.step)
        if self.dist.enabled:  # log the mean over all ranks' batches, not rank 0's alone
            keys = sorted(sums)
            packed = torch.tensor(
                [sums[k] for k in keys] + [count], dtype=torch.float64, device=self.device
            )
            dist.all_reduce(packed)
            sums, count = dict(zip(keys, packed[:-1].tolist())), int(packed[-1])
        return {k: v / max(1, count) for k, v in sums.items()}

    def total_steps(self) -> int:
        """Steps the run will take if it is not stopped early: max_steps, or every epoch's (the
        training loader's length, so its batching rules are counted exactly as they run)."""
        cfg = self.cfg.trainer
        steps = cfg.num_epochs * len(self._loader(self.train_set, True, 0))
        return min(steps, cfg.max_steps) if cfg.max_steps else steps

    def _set_lr(self) -> None:
        lr = learning_rate(self.cfg.trainer, self.state.step, self._total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _check_finite(self, total: torch.Tensor, terms: dict[str, torch.Tensor]) -> None:
        if torch.isfinite(total).all():
            return
        bad = [k for k, v in terms.items() if not torch.isfinite(torch.as_tensor(v)).all()] or [
            "total"
        ]
        raise TrainingDiverged(
            f"{self.out}: loss term '{bad[0]}' is {float(terms.get(bad[0], total))} at step {self.state.step + 1} "
            f"(epoch {self.state.epoch + 1}); lower trainer.lr or set trainer.grad_clip, then resume from last.pt"
        )

    @torch.no_grad()
    def evaluate(self, dataset) -> dict[str, float]:
        """Mean validation terms, averaged over ranks; deterministic: batch i's random draws (a
        VAE's noise) come from a generator seeded by (seed, i, rank)."""
        self.model.eval()
        sums: dict[str, float] = {}
        n = 0
        for i, batch in enumerate(self._loader(dataset, False, 0)):
            images = batch["image"].to(self.device)
            generator = torch.Generator(device=self.device).manual_seed(
                _derived_seed(self.cfg.run.seed, i, self.dist.rank, 11)
            )
            with self._autocast():
                terms = self.model.validation_terms(images, generator)
            b = images.shape[0]
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v) * b
            n += b
        if self.dist.enabled:
            keys = sorted(sums)
            packed = torch.tensor(
                [sums[k] for k in keys] + [n], dtype=torch.float64, device=self.device
            )
            dist.all_reduce(packed)
            sums = dict(zip(keys, packed[:-1].tolist()))
            n = int(packed[-1])
        self.model.train()
        return {k: v / max(1, n) for k, v in sums.items()}

    def _payload(self) -> dict[str, Any]:
        return {
            "config": as_dict(self.cfg),
            "model": self.model.state_dict(),
            "optimizers": {"adam": self.optimizer.state_dict()},
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "epoch": self.state.epoch,
            "step": self.state.step,
            "rng": rng_state(),
            "metrics": self.state.metrics,
            "best_val": self.state.best_val,
            "early_stop": self.state.bad_epochs,
            "git_sha": git_sha(),
        }

    def _end_of_epoch(self, record: dict[str, Any], improved: bool) -> None:
        if not self.dist.is_main:
            return
        cfg = self.cfg.trainer
        payload = self._payload()
        if improved:
            save_checkpoint(self.out / "best.pt", payload)
        if cfg.checkpoint_every and self.state.epoch % cfg.checkpoint_every == 0:
            save_checkpoint(self.out / f"epoch_{self.state.epoch:04d}.pt", payload)
            for old in sorted(self.out.glob("epoch_*.pt"))[: -cfg.keep_checkpoints]:
                old.unlink()
        # last.pt goes last: a run killed before this point redoes the whole epoch on resume.
        save_checkpoint(self.out / "last.pt", payload)
        atomic_write_text(
            self.out / "metrics.jsonl", "".join(json.dumps(m) + "\n" for m in self.state.metrics)
        )
        summary = " ".join(
            f"{k}={v:.4g}" for k, v in record.items() if isinstance(v, float) and k != "time_s"
        )
        remaining = (cfg.num_epochs - self.state.epoch) * record["time_s"]
        log.info(
            "epoch %d/%d step %d %s | %.1f s/epoch, ETA %.0f s%s",
            self.state.epoch,
            cfg.num_epochs,
            self.state.step,
            summary,
            record["time_s"],
            remaining,
            " (best)" if improved else "",
        )
        if self.writer is not None:
            for k, v in record.items():
                if isinstance(v, float) and "/" in k:
                    self.writer.add_scalar(f"epoch/{k}", v, self.state.step)
            self._log_visuals()
            self.writer.flush()

    def _log_visuals(self) -> None:
        if len(self.val_set) == 0:
            return
        batch = next(iter(self._loader(self.val_set, False, 0)))
        images = batch["image"][:8].to(self.device)
        self.model.eval()
        with torch.no_grad():
            grids = self.model.image_grids(images)
        self.model.train()
        for name, grid in grids["images"].items():
            self.writer.add_images(f"vis/{name}", grid.clamp(0, 1).float().cpu(), self.state.step)
        for name, values in grids["histograms"].items():
            self.writer.add_histogram(f"hist/{name}", values.float().cpu(), self.state.step)


def iterate_batches(dataset, batch_size: int, num_workers: int = 0) -> Iterator[dict[str, Any]]:
    """Batches of a dataset in order (for test and extract modes)."""
    yield from DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
