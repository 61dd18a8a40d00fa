"""A grid of `run.py test` outputs: inputs, reconstructions, canonical albedo, shading and depth.

    python docs/tools/recon_grid.py runs/cpu_faces/test_test [more test folders ...] \
        [--num 8] [--labels "seed 0" ...] --output docs/cpu_faces_grid.png [--overwrite]

Reads only the folders `run.py test` writes (``input/``, ``recon/``, ``canon_albedo/``,
``canon_shading/``, ``canon_depth/``: the same file names in each), takes the first ``--num``
images by name, and draws one block of five rows per folder (of two, input and reconstruction,
for a model without a scene: a baseline's test folder has no canonical maps). The canonical depth (16-bit PNG over
the renderer's depth range) is shown per image from its nearest (white) to its farthest (black)
point, so the relief's layout is visible whatever its scale. Mid-grey pixels in ``recon`` are
those the reconstruction does not cover (outside the canonical frame).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from analysis.figures import pyplot, save_png
from unsup3d import cli
from unsup3d.api import UserError

log = logging.getLogger("docs.tools.recon_grid")

ROWS = (
    ("input", "input"),
    ("recon", "reconstruction"),
    ("canon_albedo", "canonical albedo"),
    ("canon_shading", "canonical shading"),
    ("canon_depth", "canonical depth"),
)


def build_parser() -> cli.ArgumentParser:
    shared = cli.shared_flags(
        "output overwrite verbose", helps={"output": "the PNG to write, e.g. docs/grid.png"}
    )
    p = cli.ArgumentParser(
        description="Draw inputs, reconstructions, canonical albedo, shading and depth from "
        "run.py test output folders.",
        parents=[shared],
    )
    p.add_argument("folders", nargs="+", type=Path, help="run.py test output folders")
    p.add_argument("--num", type=int, default=8, help="images per folder, first by name")
    p.add_argument("--labels", nargs="+", default=None, help="one title per folder")
    return p


def _read(path: Path) -> np.ndarray:
    """An RGB or 16-bit depth PNG as float (H, W, 3) in [0, 1]."""
    try:
        a = np.asarray(Image.open(path))
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable PNG ({e}); rerun run.py test") from e
    if a.ndim == 2:  # canonical depth: nearest white, farthest black
        d = a.astype(np.float64)
        lo, hi = d.min(), d.max()
        d = (hi - d) / (hi - lo) if hi > lo else np.zeros_like(d)
        return np.repeat(d[..., None], 3, axis=2)
    return a[..., :3].astype(np.float64) / 255


def load_block(folder: Path, num: int) -> tuple[list[str], dict[str, list[np.ndarray]]]:
    """The first ``num`` image names of a test folder and, per row kind, their images."""
    if not (folder / "input").is_dir():
        raise UserError(f"{folder}: no input/ folder; pass a folder written by run.py test")
    names = sorted(p.name for p in (folder / "input").glob("*.png"))[:num]
    if not names:
        raise UserError(f"{folder / 'input'}: no PNG files; rerun run.py test")
    images = {}
    for kind, _ in ROWS:
        if kind not in ("input", "recon") and not (folder / kind).is_dir():
            continue  # a model without a scene (a baseline) writes input/ and recon/ only
        missing = [n for n in names if not (folder / kind / n).is_file()]
        if missing:
            raise UserError(f"{folder / kind / missing[0]}: missing; rerun run.py test")
        images[kind] = [_read(folder / kind / n) for n in names]
    return names, images


def grid_figure(blocks: Sequence[tuple[str, list[str], dict[str, list[np.ndarray]]]]):
    plt = pyplot()
    num = max(len(names) for _, names, _ in blocks)
    rows = [[(k, t) for k, t in ROWS if k in images] for _, _, images in blocks]
    # Each block's rows and a thin spacer row for the next block's titles.
    ratios = [r for block in rows for r in [1.0] * len(block) + [0.25]]
    fig, axes = plt.subplots(
        len(ratios),
        num,
        figsize=(1.1 * num + 1.2, 1.1 * sum(ratios)),
        squeeze=False,
        gridspec_kw={"height_ratios": ratios},
    )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    start = 0
    for b, (label, names, images) in enumerate(blocks):
        for r, (kind, title) in enumerate(rows[b]):
            row = start + r
            for c, name in enumerate(names):
                axes[row, c].imshow(images[kind][c], interpolation="nearest")
                if r == 0:
                    axes[row, c].set_title(Path(name).stem, fontsize=6)
            text = f"{label}\n{title}" if r == 0 and label else title
            axes[row, 0].set_ylabel(text, fontsize=7, rotation=0, ha="right", va="center")
        start += len(rows[b]) + 1
    fig.subplots_adjust(left=0.14, right=0.99, top=0.97, bottom=0.0, wspace=0.04, hspace=0.12)
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.output is None or args.output.suffix.lower() != ".png":
        raise UserError("--output: a .png file is required, e.g. --output docs/grid.png")
    if args.num < 1:
        raise UserError(f"--num {args.num}: must be at least 1")
    labels = args.labels or [""] * len(args.folders)
    if len(labels) != len(args.folders):
        raise UserError(f"--labels: {len(labels)} given for {len(args.folders)} folders")
    out = cli.check_output_file(args.output, args.overwrite)
    blocks = [(lab, *load_block(f, args.num)) for lab, f in zip(labels, args.folders)]
    save_png(grid_figure(blocks), out, dpi=110, bbox_inches=None)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    cli.run(main)
