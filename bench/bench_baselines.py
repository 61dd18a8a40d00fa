"""Benchmark one training step of every registered model, as a ratio to PDR ``small``.

    python bench/bench_baselines.py [--models pdr_small ae_small vqvae_d64 vqvae_d416 betavae
                                              gdrae gdrae_jb16 fdae_cpu fdae_paper]
                                    [--batch 64] [--size 64] [--runs 3] [--device cpu]
                                    [--threads N] [--json FILE]

A model is a registry name plus ``--set`` overrides (`MODELS` below; the first, PDR ``small``
without LOOCC and without confidence maps as the CPU recipe, is the reference). One subprocess
builds every model from its config (`unsup3d.api.build_model`, the model's own optimiser) on the
same fixed batch of synthetic faces, warms each up, then runs ``--runs`` rounds of one training
step (the model's ``training_terms`` + backward + optimiser step) per model, the order rotated
each round, so a shared, busy CPU slows all alike; the ratio to the reference is taken per round
(median). Peak memory is measured per model in its own subprocess (CPU: peak RSS growth over the
RSS after building the model; CUDA: ``max_memory_allocated``). Printed: median step time,
images per second, peak memory and parameters per model, then one ratio line per model.
"""

from __future__ import annotations

import argparse
import itertools
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

from unsup3d.api import build_model, count_parameters, load_config
from unsup3d.utils import add_default_malloc_option, apply_malloc_option

REFERENCE = "pdr_small"
# name -> --set overrides of the default config (the perceptual term off: no VGG file assumed).
MODELS: dict[str, list[str]] = {
    "pdr_small": ["model.preset=small", "model.use_conf_map=false", "loocc.variant=none"],
    "pdr_small_LV": ["model.preset=small", "model.use_conf_map=false", "loocc.variant=LV"],
    "ae_small": ["model.name=ae", "model.preset=small"],
    "vqvae_d64": ["model.name=vqvae", "model.embedding_dim=64"],
    "vqvae_d416": ["model.name=vqvae", "model.embedding_dim=416"],
    "betavae": ["model.name=betavae"],
    # gdrae at 64 px only: the code's Jacobian term on one random code per image every step, and
    # on 16 codes (the CPU config's jacob_batch; it also sets jacob_every 4).
    "gdrae": ["model.name=gdrae"],
    "gdrae_jb16": ["model.name=gdrae", "model.jacob_batch=16"],
    # FDAE at 64 px only: the cpu preset, and the paper preset (time it at --batch 1 or 2).
    "fdae_cpu": ["model.name=fdae", "model.preset=cpu"],
    "fdae_paper": ["model.name=fdae", "model.preset=paper"],
}


def _images(batch: int, size: int) -> torch.Tensor:
    from unsup3d.api import synthetic_faces

    return synthetic_faces("train", size, num_images=batch).generate_batch(list(range(batch)))[
        "image"
    ]


def _setup(args: argparse.Namespace, names: list[str]):
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    images = _images(args.batch, args.size).to(device)
    steps, params = {}, {}
    for name in names:
        torch.manual_seed(0)
        cfg = load_config(None, [*MODELS[name], f"data.image_size={args.size}", "loss.lam_perc=0"])
        model = build_model(cfg).to(device).train()
        model.prepare_training(device)
        opt = model.make_optimizer(cfg.trainer)
        params[name] = count_parameters(model)

        counter = itertools.count()

        def step(model=model, opt=opt, counter=counter) -> float:
            k = next(counter)
            generator = torch.Generator(device=device).manual_seed(k)
            return timed_step(
                lambda: model.training_terms(images, generator, epoch=0, step=k)[0], opt, device
            )

        steps[name] = step
    return device, steps, params


def child_time(args: argparse.Namespace) -> dict:
    """Interleaved rounds of one step per model (rotated order) in one process."""
    _, steps, params = _setup(args, args.models)
    return {"params": params, **interleaved_rounds(steps, args.runs, REFERENCE)}


def child_memory(args: argparse.Namespace) -> dict:
    """Peak memory of one model's steps, in its own process."""
    device, steps, _ = _setup(args, [args.model])
    return {"model": args.model, "peak_mib": peak_memory_mib(steps[args.model], device)}


def _run_child(args: argparse.Namespace, mode: str, model: str = REFERENCE) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--model", model, "--models", *args.models]
    cmd += ["--batch", str(args.batch), "--size", str(args.size), "--runs", str(args.runs)]
    cmd += ["--device", args.device, "--threads", str(args.threads)]
    cmd += ["--default_malloc"] if args.default_malloc else []
    return run_child(cmd)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--models",
        nargs="+",
        default=[m for m in MODELS if m != "fdae_paper"],
        choices=list(MODELS),
        help=f"models to time ({REFERENCE}, the reference, is always included; default: all "
        "but fdae_paper, which needs minutes a step: time it alone at --batch 2)",
    )
    p.add_argument("--batch", type=int, default=64, help="images per step (64)")
    p.add_argument("--size", type=int, default=64, help="image size in pixels (64)")
    p.add_argument("--runs", type=int, default=3, help="timed steps after one warm-up (3)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    add_default_malloc_option(p)
    p.add_argument("--json", default="", help="also write all results to this JSON file")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    p.add_argument("--model", default=REFERENCE, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if REFERENCE not in args.models:
        args.models = [REFERENCE, *args.models]
    if args.child:
        apply_malloc_option(args)
        print(json.dumps(child_time(args) if args.child == "time" else child_memory(args)))
        return 0
    print(
        f"train step (the model's objective, backward, its optimiser): batch {args.batch}, "
        f"{args.size} px, device {args.device}, threads {args.threads or torch.get_num_threads()}, "
        f"median of {args.runs} interleaved rounds"
    )
    timing = _run_child(args, "time")
    memory = {n: _run_child(args, "memory", n)["peak_mib"] for n in args.models}
    for n in args.models:
        line = step_line(
            f"{n:13s}", timing["median_s"][n], args.batch, memory[n], timing["params"][n]
        )
        print(line, flush=True)
    for n in args.models:
        if n != REFERENCE:
            label = f"ratio {n} / {REFERENCE}"
            print(ratio_line(label, timing["ratio"][n], memory[n], memory[REFERENCE]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**timing, "peak_mib": memory}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
