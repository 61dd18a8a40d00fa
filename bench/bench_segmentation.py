"""Segmentation U-Net training speed and memory per variant (issue #19's bench).

    python bench/bench_segmentation.py [--batches 8 32] [--size 64] [--steps 5] [--device cpu]
                                       [--threads N]

For each variant (supervised = depth = albedo: one encoder, the same cost; joint: two encoders
and a doubled decoder; joint frozen: no encoder gradients) and batch size, a child process builds
the U-Net and Adam, runs one warm-up step and ``--steps`` timed steps (forward, cross-entropy,
backward, step) on random 64 px images, and reports the median images/s and the peak memory (CPU:
peak RSS over the RSS after building the model; CUDA: ``max_memory_allocated``). Printed per
variant: images/s, peak MiB, and the implied time of the paper's protocol (20 epochs over 24,127
CelebAMask-HQ images); then one ratio line per variant against the supervised U-Net measured in
the same run (time per image, peak memory).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from segmentation.unet import SegmentationUNet

VARIANTS = {"supervised": (1, False), "joint": (2, False), "joint_frozen": (2, True)}
PAPER_IMAGES, PAPER_EPOCHS = 24_127, 20


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def child(variant: str, batch: int, size: int, steps: int, device: torch.device) -> dict:
    """One variant at one batch size, in this (fresh) process."""
    torch.manual_seed(0)
    encoders, frozen = VARIANTS[variant]
    model = SegmentationUNet(19, encoders).to(device)
    if frozen:
        model.encoders.requires_grad_(False)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    y = torch.randint(0, 19, (batch, size, size), device=device)
    base = _rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        model.train()
        if frozen:
            model.encoders.eval()
        loss = F.cross_entropy(model(x), y, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:  # the first step is the warm-up
            times.append(time.perf_counter() - t0)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
    return {"images_per_s": batch / statistics.median(times), "peak_mib": peak}


def _measure(args: argparse.Namespace, variant: str, batch: int) -> dict:
    cmd = [sys.executable, __file__, "--child", variant, "--batches", str(batch)]
    cmd += ["--size", str(args.size), "--steps", str(args.steps), "--device", args.device]
    cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", type=int, nargs="+", default=[8, 32], help="batch sizes (8 32)")
    p.add_argument("--size", type=int, default=64, help="image size in pixels (64)")
    p.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up (5)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--child", choices=tuple(VARIANTS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.child:
        print(json.dumps(child(args.child, args.batches[0], args.size, args.steps, device)))
        return 0
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} CPU threads")
    for batch in args.batches:
        res = {v: _measure(args, v, batch) for v in VARIANTS}
        for v, r in res.items():
            hours = PAPER_EPOCHS * PAPER_IMAGES / r["images_per_s"] / 3600
            print(
                f"{v:<13} {args.size} px batch {batch:>3}: {r['images_per_s']:8.1f} images/s  "
                f"peak {r['peak_mib']:8.1f} MiB  -> paper's 20 epochs x 24,127 images: {hours:.2f} h"
            )
        ref = res["supervised"]
        for v in ("joint", "joint_frozen"):
            print(
                f"ratio {v} / supervised (batch {batch}): time per image "
                f"{ref['images_per_s'] / res[v]['images_per_s']:.2f}x, "
                f"peak memory {res[v]['peak_mib'] / max(ref['peak_mib'], 1e-9):.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
