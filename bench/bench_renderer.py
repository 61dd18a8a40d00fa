"""Benchmark the renderer: forward+backward of the depth rasteriser and of the full reconstruction.

    python bench/bench_renderer.py [--sizes 32 64 128 256] [--batch 64] [--runs 7] [--device cpu]

Inputs: B smooth random canonical depth maps in [0.92, 1.08] (the grid mesh of S x S vertices,
2 (S-1)^2 faces) under random views (yaw +-30 deg, pitch and roll +-15 deg, translation +-0.05),
the range a trained model predicts. Each size runs in a fresh subprocess so that its peak memory
(CPU: peak RSS growth over the post-import baseline; CUDA: max_memory_allocated) is its own.

Per size it prints the median time of the two workloads, peak memory, time per megapixel
(pixels x batch), and one ratio line against each reference measured in the same run:
- the slow loop reference (`unsup3d.renderer.reference`) on the first image, for exactness
  (max depth difference, winner agreement) and speed (its time x B vs ours);
- PyTorch3D's `rasterize_meshes` (perspective-correct), when it is importable (not a dependency).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from unsup3d.renderer import Renderer, rasterize, rasterize_depth
from unsup3d.renderer.reference import reference_rasterize


def make_inputs(batch: int, size: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(batch, 1, 6, 6, generator=gen)
    depth = 1.0 + 0.08 * torch.tanh(
        F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[:, 0]
    )
    limits = torch.tensor([math.radians(15), math.radians(30), math.radians(15), 0.05, 0.05, 0.05])
    view = (torch.rand(batch, 6, generator=gen) * 2 - 1) * limits
    image = torch.rand(batch, 3, size, size, generator=gen)
    return depth, view, image


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, runs, device):
    for _ in range(2):
        fn()
    times = []
    for _ in range(runs):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_one(size: int, batch: int, runs: int, device_name: str) -> dict:
    device = torch.device(device_name)
    torch.manual_seed(0)
    depth, view, image = make_inputs(batch, size)
    depth, view, image = depth.to(device), view.to(device), image.to(device)
    renderer = Renderer(size)
    faces = renderer.faces(device)
    verts0 = renderer.project_canonical(depth, view).detach()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def raster():
        verts = verts0.clone().requires_grad_()
        rasterize_depth(
            verts, faces, size, background=renderer.far, near=renderer.near, far=renderer.far
        ).sum().backward()

    def full():
        d = depth.clone().requires_grad_()
        rec = renderer.reconstruct(d, image, view)
        (rec.image * rec.mask[:, None]).sum().backward()

    t_raster = _median_time(raster, runs, device)
    t_full = _median_time(full, runs, device)
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024

    # Exactness and speed against the loop reference, on the first image.
    v1 = verts0[:1].double().cpu()
    t0 = time.perf_counter()
    ref_depth, ref_index, ties = reference_rasterize(
        v1, faces.cpu(), size, background=renderer.far, near=renderer.near, far=renderer.far
    )
    t_ref = time.perf_counter() - t0
    frags = rasterize(
        verts0[:1], faces, size, background=renderer.far, near=renderer.near, far=renderer.far
    )
    ours_depth = frags.depth.double().cpu()
    covered = ref_index >= 0
    agree = same = 0
    idx = frags.face_index.cpu()
    for b, r, c in covered.nonzero().tolist():
        agree += idx[b, r, c].item() in ties[b][r][c]
        same += idx[b, r, c].item() == ref_index[b, r, c].item()
    result = {
        "size": size,
        "batch": batch,
        "device": device_name,
        "raster_s": t_raster,
        "full_s": t_full,
        "peak_mb": peak_mb,
        "ref_s_per_image": t_ref,
        "max_depth_diff": float((ours_depth - ref_depth).abs().max()),
        "coverage_equal": bool((frags.covered.cpu() == covered).all()),
        "winner_in_ties": agree / max(1, int(covered.sum())),
        "winner_identical": same / max(1, int(covered.sum())),
    }
    try:  # PyTorch3D, when installed: the same forward+backward through rasterize_meshes.
        from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes
        from pytorch3d.structures import Meshes

        def p3d():
            verts = verts0.clone().requires_grad_()
            # NDC with +x left, +y up in PyTorch3D; z kept as depth.
            ndc = torch.stack(
                [
                    -(verts[..., 0] / (size - 1) * 2 - 1),
                    -(verts[..., 1] / (size - 1) * 2 - 1),
                    verts[..., 2],
                ],
                -1,
            )
            meshes = Meshes(verts=list(ndc), faces=[faces] * batch)
            _, zbuf, _, _ = rasterize_meshes(
                meshes, image_size=size, faces_per_pixel=1, perspective_correct=True
            )
            zbuf.sum().backward()

        result["pytorch3d_s"] = _median_time(p3d, max(3, runs // 2), device)
    except ImportError:
        result["pytorch3d_s"] = None
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[32, 64, 128, 256], help="image sizes (px)"
    )
    parser.add_argument("--batch", type=int, default=64, help="images per batch")
    parser.add_argument(
        "--runs", type=int, default=7, help="timed runs per workload (median reported, >= 5)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument(
        "--one", type=int, help=argparse.SUPPRESS
    )  # internal: run one size, print JSON
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.batch, args.runs, args.device)))
        return 0
    name = (
        torch.cuda.get_device_name(0)
        if args.device.startswith("cuda")
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"# bench_renderer: torch {torch.__version__}, {name}, batch {args.batch}, median of {args.runs}"
    )
    results = []
    for size in args.sizes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--batch",
                str(args.batch),
                "--runs",
                str(args.runs),
                "--device",
                args.device,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        mpix = size * size * args.batch / 1e6
        print(
            f"size {size:4d}: raster fwd+bwd {r['raster_s'] * 1e3:8.1f} ms | full reconstruction {r['full_s'] * 1e3:8.1f} ms "
            f"(x{r['full_s'] / r['raster_s']:.2f} of raster) | {r['raster_s'] / mpix * 1e3:6.1f} ms/Mpx | peak {r['peak_mb']:7.1f} MB"
        )
        print(
            f"ratio size {size}: loop reference / ours = {r['ref_s_per_image'] * args.batch / r['raster_s']:.0f}x "
            f"(reference {r['ref_s_per_image']:.2f} s/image x {args.batch}); exactness: max |depth diff| {r['max_depth_diff']:.1e}, "
            f"coverage equal {r['coverage_equal']}, winner within ties {r['winner_in_ties']:.4f}, identical {r['winner_identical']:.4f}"
        )
        if r["pytorch3d_s"] is not None:
            print(
                f"ratio size {size}: pytorch3d rasterize_meshes / ours = {r['pytorch3d_s'] / r['raster_s']:.1f}x"
            )
        else:
            print(f"ratio size {size}: pytorch3d not importable, skipped")
    if len(results) > 1:
        first, last = results[0], results[-1]
        growth = (last["raster_s"] / first["raster_s"]) / ((last["size"] / first["size"]) ** 2)
        print(
            f"scaling: time grows x{last['raster_s'] / first['raster_s']:.1f} for x{(last['size'] / first['size']) ** 2:.0f} pixels (exponent {math.log(last['raster_s'] / first['raster_s']) / math.log((last['size'] / first['size']) ** 2):.2f}; {growth:.2f} of linear)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
