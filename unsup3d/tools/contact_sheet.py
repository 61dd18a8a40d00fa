"""Contact sheet of the built-in synthetic data (``docs/synthetic_contact_sheet.png``).

    python -m unsup3d.tools.contact_sheet --output docs/synthetic_contact_sheet.png

Faces: training images, their canonical depth (near = bright), albedo and part masks; one
identity under a light sweep and a yaw sweep; the five emotions of one identity; OOD samples
(light and view outside the training ranges). Cars: two instances of each of the five classes,
their depth, albedo and part masks, a yaw sweep and OOD samples. Everything comes from the
public `SyntheticDataset` API, so the sheet shows exactly what the tests and the model see. The
sheet is a figure regenerated in place, so an existing file is replaced; ``--out`` is the old
spelling of ``--output``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from unsup3d import cli
from unsup3d.data.settings import DEFAULTS
from unsup3d.data.synthetic import CAR_CLASSES, EMOTION_RANGES, EMOTIONS, SyntheticDataset
from unsup3d.errors import UserError
from unsup3d.tools import tool_parser
from unsup3d.utils import atomic_path

COLUMNS = 10
LABEL_WIDTH = 150


def _palette(n: int) -> torch.Tensor:
    """(n, 3) distinct colours for part ids; 0 (background) is black."""
    gen = torch.Generator().manual_seed(7)
    pal = 0.25 + 0.75 * torch.rand(n, 3, generator=gen)
    pal[0] = 0.0
    return pal


def depth_rgb(depth: torch.Tensor) -> torch.Tensor:
    """(B, S, S) depth -> (B, 3, S, S) grey, near = bright, scaled per image."""
    lo = depth.amin((1, 2), keepdim=True)
    hi = depth.amax((1, 2), keepdim=True)
    grey = (hi - depth) / (hi - lo).clamp(min=1e-6)
    return grey[:, None].expand(-1, 3, -1, -1)


def mask_rgb(mask: torch.Tensor, classes: int) -> torch.Tensor:
    """(B, S, S) part ids -> (B, 3, S, S) colours."""
    return _palette(classes)[mask].permute(0, 3, 1, 2)


def _row(tiles: torch.Tensor) -> np.ndarray:
    """(N, 3, S, S) in [0, 1], N <= COLUMNS -> (S, COLUMNS * S, 3) uint8 (blank-padded)."""
    n, _, s, _ = tiles.shape
    canvas = torch.ones(3, s, COLUMNS * s)
    for i in range(min(n, COLUMNS)):
        canvas[:, :, i * s : (i + 1) * s] = tiles[i]
    return (canvas.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _face_rows(size: int, seed: int) -> list[tuple[str, torch.Tensor]]:
    train = SyntheticDataset("synthetic_faces", "train", size, seed=seed, num_images=1000)
    idx = list(range(0, 10 * COLUMNS, 10))  # one image of each of 10 identities
    b = train.generate_batch(idx)
    classes = len(train.part_names)
    rows = [
        ("faces: images", b["image"]),
        ("canonical depth", depth_rgb(b["depth"])),
        ("canonical albedo", b["albedo"]),
        ("part masks (image)", mask_rgb(b["mask"], classes)),
    ]
    base = train.sample_params([idx[1]] * COLUMNS)
    base.view.zero_()
    light = base.clone()
    light.light[:, 0], light.light[:, 1] = 0.25, 0.7
    light.light[:, 2] = torch.linspace(-1.0, 1.0, COLUMNS)
    light.light[:, 3] = 0.0
    rows.append(("light dx -1 .. 1", train.render(light)["image"]))
    view = base.clone()
    view.view[:, 1] = torch.deg2rad(torch.linspace(-45.0, 45.0, COLUMNS))
    rows.append(("yaw -45 .. 45 deg", train.render(view)["image"]))
    # the five emotions (their range midpoints) on two identities
    emo = train.sample_params([idx[2]] * 5 + [idx[5]] * 5)
    emo.view.zero_()
    emo.category = torch.arange(10) % 5
    emo.expression = EMOTION_RANGES.mean(-1)[emo.category]
    rows.append(("emotions: " + ", ".join(e[:3] for e in EMOTIONS), train.render(emo)["image"]))
    ood = SyntheticDataset("synthetic_faces", "ood", size, seed=seed, num_images=100)
    rows.append(("OOD light + view", ood.generate_batch(range(0, 10 * COLUMNS, 10))["image"]))
    return rows


def _car_rows(size: int, seed: int) -> list[tuple[str, torch.Tensor]]:
    train = SyntheticDataset("synthetic_cars", "train", size, seed=seed, num_images=1000)
    # identities 0..9 cover each class twice (class = identity % 5); sort by class
    idx = sorted(range(0, 10 * COLUMNS, 10), key=lambda i: ((i // 10) % 5, i))
    b = train.generate_batch(idx)
    classes = len(train.part_names)
    rows = [
        ("cars: " + ", ".join(c.split("_")[0][:5] for c in CAR_CLASSES), b["image"]),
        ("canonical depth", depth_rgb(b["depth"])),
        ("canonical albedo", b["albedo"]),
        ("part masks (image)", mask_rgb(b["mask"], classes)),
    ]
    base = train.sample_params([idx[0]] * 5 + [idx[8]] * 5)
    base.view.zero_()
    base.view[:, 1] = torch.deg2rad(torch.linspace(-40.0, 40.0, 5)).repeat(2)
    rows.append(("yaw -40 .. 40 deg", train.render(base)["image"]))
    ood = SyntheticDataset("synthetic_cars", "ood", size, seed=seed, num_images=100)
    rows.append(("OOD light + view", ood.generate_batch(range(0, 10 * COLUMNS, 10))["image"]))
    return rows


def contact_sheet(
    size: int = DEFAULTS.image_size, scale: int = 2, seed: int = DEFAULTS.dataset_seed
) -> Image.Image:
    """The sheet as a PIL image (rows of ``COLUMNS`` tiles, each row labelled on the left)."""
    rows = _face_rows(size, seed) + _car_rows(size, seed)
    tile = size * scale
    gap = 4
    width = LABEL_WIDTH + COLUMNS * tile
    height = len(rows) * (tile + gap)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for r, (label, tiles) in enumerate(rows):
        strip = Image.fromarray(_row(tiles)).resize((COLUMNS * tile, tile), Image.NEAREST)
        y = r * (tile + gap)
        sheet.paste(strip, (LABEL_WIDTH, y))
        words, lines = label.split(" "), [""]
        for w in words:  # wrap the label to the label column
            trial = f"{lines[-1]} {w}".strip()
            if draw.textlength(trial, font=font) > LABEL_WIDTH - 8 and lines[-1]:
                lines.append(w)
            else:
                lines[-1] = trial
        for k, line in enumerate(lines):
            draw.text((4, y + 4 + 12 * k), line, fill=(0, 0, 0), font=font)
    return sheet


def build_parser() -> cli.ArgumentParser:
    parser = tool_parser(
        "contact_sheet",
        "Write a contact sheet (PNG) of the synthetic faces and cars.",
        {"output": "PNG to write (replaced if it exists)", "seed": "dataset seed"},
        defaults={"output": Path("docs/synthetic_contact_sheet.png")},
    )
    parser.add_argument("--out", dest="output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=64, help="image size S in pixels (64)")
    parser.add_argument("--scale", type=int, default=2, help="nearest upscaling of tiles (2)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.size < 16 or args.scale < 1:
        raise UserError(f"--size {args.size} / --scale {args.scale}: need size >= 16, scale >= 1")
    out = cli.check_output_file(args.output, overwrite=True)
    sheet = contact_sheet(args.size, args.scale, args.seed)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG", optimize=True)
    size_kib = out.stat().st_size / 1024
    print(f"{out}: {sheet.width} x {sheet.height}, {size_kib:.0f} KiB")
    return 0


if __name__ == "__main__":
    cli.run(main)
