"""Benchmark the synthetic data: images per second, and the cost relative to a training step.

    python bench/bench_synthetic.py [--sizes 32 64 128] [--batch 64] [--runs 3] [--threads 2]
                                    [--workers 2] [--names synthetic_faces synthetic_cars]
                                    [--materialize 0] [--default_malloc]

Per dataset and size it prints:
- ``generate``: ``generate_batch`` of ``--batch`` fresh images in this process with ``--threads``
  torch threads (median of ``--runs`` batches), in images/s and ms/image;
- ``loader``: a DataLoader with ``--workers`` processes (one torch thread each, batched
  rendering through ``__getitems__``), images/s over ``--runs`` batches per worker after a
  warm-up batch, with every ground-truth key in the items, then with ``image`` alone (as the
  trainer asks for: `unsup3d.data.registry.dataset_from_config` ``keys``): how fast training is fed;
- two ratio lines at each size: generating a batch / one training step of the ``small`` preset
  on the same batch (`unsup3d.objective.compute_objective` + backward + Adam, LOOCC off, no
  perceptual term), both with ``--threads`` threads (wall time in one process), then both with
  one thread: the cost in core-seconds, as a one-thread DataLoader worker generates, and the
  goal line: <= 0.10 (data never starves training).
Goal: >= 1,000 faces/s at 64x64 on 2 cores: the ``loader`` lines, two worker processes (how
training is fed). The in-process ``generate`` line with 2 threads is informational: on the
project's 2-vCPU VM it varies between processes from about 700 to 1,250 images/s (the two
threads sometimes add little to the many small element-wise ops), while one thread and the
worker processes are steady.
Like `run.py`, it first lets glibc's malloc keep freed memory (`unsup3d.utils.keep_freed_memory`;
``--default_malloc`` skips that).
With ``--materialize N`` it also times writing N train images at 64 px to a temporary folder
with ``--workers`` processes (goal: 20,000 in under 2 minutes).

Times are wall-clock on a machine that may be shared: the load average is printed with them,
and ``generate`` also reports CPU time per image (this process's threads), which contention
inflates much less: ``1000 / CPU-ms`` images/s is what one fully available core yields.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch
from torch.utils.data import DataLoader

from unsup3d.data.synthetic import SyntheticDataset
from unsup3d.utils import add_default_malloc_option, apply_malloc_option


def _load() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def time_generate(ds: SyntheticDataset, batch: int, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds (all threads of this process) for ``generate_batch`` of
    ``batch`` new indices, after one warm-up batch."""
    ds.generate_batch(range(batch))
    wall, cpu = [], []
    for r in range(1, runs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        ds.generate_batch(range(r * batch, (r + 1) * batch))
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def time_loader(ds: SyntheticDataset, batch: int, workers: int, runs: int) -> float:
    """Images/s of a DataLoader with ``workers`` processes, after one warm-up batch per worker."""
    loader = DataLoader(ds, batch_size=batch, num_workers=workers, persistent_workers=workers > 0)
    it = iter(loader)
    for _ in range(max(workers, 1)):
        next(it)
    n = max(workers, 1) * runs
    t0 = time.perf_counter()
    for _ in range(n):
        next(it)
    seconds = time.perf_counter() - t0
    del it, loader
    return n * batch / seconds


def time_train_step(images: torch.Tensor, runs: int) -> float | None:
    """Median seconds of one training step of the small preset on ``images`` (None if the model
    is unavailable)."""
    try:
        from unsup3d.loocc import LooccSettings
        from unsup3d.losses import LossWeights
        from unsup3d.model import InverseRenderer, ModelSettings
        from unsup3d.objective import compute_objective
        from unsup3d.renderer import Renderer
    except ImportError:
        return None
    torch.manual_seed(0)
    model = InverseRenderer(ModelSettings(preset="small"), Renderer(images.shape[-1]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    weights, loocc = LossWeights(lam_perc=0.0), LooccSettings(variant="none")
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        total, _, _ = compute_objective(model, images, weights, loocc, generator)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    step()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_materialize(n: int, workers: int) -> float:
    from unsup3d.data.synthetic.materialize import materialize

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        materialize("synthetic_faces", tmp, 64, ("train",), n, workers=workers)
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128], help="pixels")
    parser.add_argument("--batch", type=int, default=64, help="images per batch (64)")
    parser.add_argument("--runs", type=int, default=3, help="timed batches (3)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads here (2)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader processes (2; 0 skips)")
    parser.add_argument(
        "--names", nargs="+", default=["synthetic_faces", "synthetic_cars"], help="datasets"
    )
    parser.add_argument("--no_train_step", action="store_true", help="skip the ratio lines")
    parser.add_argument(
        "--materialize", type=int, default=0, help="also time writing N train images (0: skip)"
    )
    add_default_malloc_option(parser)

    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    malloc = apply_malloc_option(args)
    print(
        f"bench_synthetic: torch {torch.__version__}, {args.threads} thread(s), "
        f"{os.cpu_count()} CPUs visible, load average {_load()}, batch {args.batch}, "
        f"{malloc} malloc (DataLoader workers inherit it)"
    )
    gen_time: dict[int, float] = {}
    for name in args.names:
        for size in args.sizes:
            ds = SyntheticDataset(name, "train", size, num_images=10**6)
            sec, cpu = time_generate(ds, args.batch, args.runs)
            if name == "synthetic_faces":
                gen_time[size] = sec
            print(
                f"generate {name:15s} {size:4d}px: {args.batch / sec:8.0f} images/s "
                f"({1000 * sec / args.batch:.2f} ms/image wall, {args.threads} threads; "
                f"{1000 * cpu / args.batch:.2f} CPU-ms/image)"
            )
            if args.workers > 0:
                for keys in (None, ("image",)):
                    ds = SyntheticDataset(name, "train", size, num_images=10**6, keys=keys)
                    rate = time_loader(ds, args.batch, args.workers, args.runs)
                    print(
                        f"loader   {name:15s} {size:4d}px: {rate:8.0f} images/s "
                        f"({args.workers} worker processes x 1 thread; items: "
                        f"{'image' if keys else 'all keys'})"
                    )
    if not args.no_train_step:
        for size in args.sizes:
            if size not in gen_time:
                continue
            ds = SyntheticDataset("synthetic_faces", "train", size, num_images=10**6)
            images = ds.generate_batch(range(args.batch))["image"]
            step = time_train_step(images, args.runs)
            if step is None:
                print("ratio: unsup3d.model is not available; no training-step reference")
                break
            ratio = gen_time[size] / step
            print(
                f"ratio generate/train-step {size:4d}px: {ratio:.3f} (generate {gen_time[size]:.3f} s, "
                f"small-preset step {step:.3f} s, batch {args.batch}, {args.threads} threads each, "
                "wall time in one process)"
            )
            # Per core: both sides on one thread, as a DataLoader worker generates (no idle
            # intra-op threads on either side, so this is the cost in core-seconds).
            torch.set_num_threads(1)
            gen1, _ = time_generate(ds, args.batch, args.runs)
            step1 = time_train_step(images, args.runs)
            torch.set_num_threads(args.threads)
            print(
                f"ratio generate/train-step {size:4d}px, 1 thread each: {gen1 / step1:.3f} "
                f"(generate {gen1:.3f} s, small-preset step {step1:.3f} s; core-seconds, "
                "goal <= 0.10)"
            )
    if args.materialize > 0:
        sec = time_materialize(args.materialize, max(args.workers, 1))
        print(
            f"materialize {args.materialize} train faces at 64px: {sec:.1f} s "
            f"({args.materialize / sec:.0f} images/s, {max(args.workers, 1)} workers; "
            f"20,000 in {20000 * sec / args.materialize / 60:.1f} min, goal < 2 min)"
        )
    print(f"load average at the end {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
