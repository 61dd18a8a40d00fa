"""Benchmark one training step (forward, losses, backward, Adam) without / with LOOCC.

    python bench/bench_train_step.py [--presets paper small] [--variants none L LV]
                                     [--batch 64] [--size 64] [--runs 3] [--device cpu]
                                     [--no_conf] [--threads N]

Per preset, one subprocess builds `InverseRenderer` and Adam on a fixed batch of synthetic faces
(random images if the synthetic dataset is unavailable), warms up, then runs ``--runs`` rounds of
one training step (``compute_objective`` + backward + Adam ``step``) per variant, the order
rotated each round: a shared, busy CPU then slows every variant alike, and the LOOCC / none
ratios are taken per round (median). Peak memory is measured per variant in its own subprocess
(CPU: peak RSS growth over the RSS after building the model; CUDA: ``max_memory_allocated``).
Printed: median step time, images per second and peak memory per variant, and the ratio lines
LOOCC-L / none and LOOCC-LV / none (goal <= 1.3: the cycle re-runs only the encoders on the
re-rendered images, plus one rasterisation of the view-perturbed ones).

The perceptual term is off (no VGG file is assumed); confidence maps are on unless --no_conf.
The model is untrained unless --init: its noisy depth, turned by up to 45 degrees, makes long thin
triangles whose rasterisation costs several times that of a smooth (trained) surface.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from common import (
    interleaved_rounds,
    peak_memory_mib,
    ratio_line,
    run_child,
    step_line,
    timed_step,
)

from unsup3d.loocc import LooccSettings
from unsup3d.losses import LossWeights
from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.objective import compute_objective
from unsup3d.renderer import Renderer
from unsup3d.utils import add_default_malloc_option, apply_malloc_option

NAMES = {"none": "none", "L": "LOOCC-L", "LV": "LOOCC-LV"}


def _images(batch: int, size: int) -> torch.Tensor:
    try:
        from unsup3d.data.synthetic import synthetic_faces

        ds = synthetic_faces("train", size, num_images=batch)
        return ds.generate_batch(list(range(batch)))["image"]
    except ImportError:
        return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))


def _setup(args: argparse.Namespace, preset: str):
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = _images(args.batch, args.size).to(device)
    settings = ModelSettings(preset=preset, use_conf_map=not args.no_conf)
    model = InverseRenderer(settings, Renderer(args.size))
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    weights = LossWeights(lam_perc=0.0)
    generator = torch.Generator().manual_seed(0)

    def step(variant: str) -> float:
        loocc = LooccSettings(variant=variant)
        return timed_step(
            lambda: compute_objective(model, images, weights, loocc, generator).total, opt, device
        )

    return device, model, step


def child_time(args: argparse.Namespace) -> dict:
    """Interleaved rounds of one step per variant (rotated order) in one process, so that a
    shared, busy CPU slows all variants alike; ratios to none are taken per round, then the
    median."""
    _, model, step = _setup(args, args.preset)
    steps = {v: (lambda v=v: step(v)) for v in args.variants}
    return {
        "preset": args.preset,
        "params": model.parameter_counts()["total"],
        **interleaved_rounds(steps, args.runs, "none"),
    }


def child_memory(args: argparse.Namespace) -> dict:
    """Peak memory of one variant's steps, in its own process."""
    device, _, step = _setup(args, args.preset)
    peak_mib = peak_memory_mib(lambda: step(args.variant), device)
    return {"preset": args.preset, "variant": args.variant, "peak_mib": peak_mib}


def _run_child(args: argparse.Namespace, mode: str, preset: str, variant: str = "none") -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--preset", preset, "--variant", variant]
    cmd += ["--variants", *args.variants, "--batch", str(args.batch), "--size", str(args.size)]
    cmd += ["--runs", str(args.runs), "--device", args.device, "--threads", str(args.threads)]
    cmd += ["--no_conf"] if args.no_conf else []
    cmd += ["--init", args.init] if args.init else []
    cmd += ["--default_malloc"] if args.default_malloc else []
    return run_child(cmd)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--presets", nargs="+", default=["paper", "small"], help="model presets")
    p.add_argument("--variants", nargs="+", default=["none", "L", "LV"], help="LOOCC variants")
    p.add_argument("--batch", type=int, default=64, help="images per step (64)")
    p.add_argument("--size", type=int, default=64, help="image size in pixels (64)")
    p.add_argument("--runs", type=int, default=3, help="timed steps after one warm-up (3)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--no_conf", action="store_true", help="without the confidence network")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument(
        "--init",
        default="",
        help="state dict to start from (e.g. bench_small_run.py --save): an untrained model's "
        "noisy depth makes view-perturbed rasterisation slower than a trained one's",
    )
    add_default_malloc_option(p)
    p.add_argument("--json", default="", help="also write all results to this JSON file")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    p.add_argument("--preset", default="small", help=argparse.SUPPRESS)
    p.add_argument("--variant", default="none", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        apply_malloc_option(args)
        print(json.dumps(child_time(args) if args.child == "time" else child_memory(args)))
        return 0
    if "none" not in args.variants:
        args.variants = ["none", *args.variants]
    print(
        f"train step (forward, losses, backward, Adam): batch {args.batch}, {args.size} px, "
        f"device {args.device}, threads {args.threads or torch.get_num_threads()}, confidence "
        f"net {not args.no_conf}, median of {args.runs} interleaved rounds, "
        f"{'default' if args.default_malloc else 'keep_freed_memory'} malloc"
    )
    results = []
    for preset in args.presets:
        timing = _run_child(args, "time", preset)
        memory = {v: _run_child(args, "memory", preset, v)["peak_mib"] for v in args.variants}
        timing["peak_mib"] = memory
        results.append(timing)
        for v in args.variants:
            label = f"{preset:6s} {NAMES[v]:9s}"
            t = timing["median_s"][v]
            print(step_line(label, t, args.batch, memory[v], timing["params"]), flush=True)
        for v in args.variants:
            if v != "none":
                label = f"{preset:6s} ratio {NAMES[v]} / none"
                line = ratio_line(label, timing["ratio"][v], memory[v], memory["none"])
                print(line.replace("x, peak", "x (goal <= 1.3x), peak"), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
