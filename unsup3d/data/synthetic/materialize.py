"""Write synthetic splits to disk in the layouts the real loaders read (``docs/synthetic.md``).

`materialize` does it; the command line is ``python -m unsup3d.tools.materialize``. The files hold exactly the lazy dataset's items (images quantised to 8-bit PNG). Layouts under
``OUT`` (``<i>`` is the item index, six digits; ``<s>`` the split):

    manifest.json                     the options; a re-run with other options is refused
    <s>/<i>.png                       image folders: build_dataset("image_folder", OUT, s, S)
    ground_truth/<s>.npz              image_ids, factors + factor_names, labels + label_names,
                                      light, view (track_ids; depth/albedo maps with --maps)
  faces:
    celeba/img_align_celeba/<s>_<i>.png   CelebA ("celeba", OUT/celeba): train/val/test with
    celeba/list_attr_celeba.txt           the attribute table (+-1), the identity list and the
    celeba/identity_CelebA.txt            partition list (0 train, 1 val, 2 test)
    celeba/list_eval_partition.txt
    celebamask/<s>_images/<i>.png         CelebAMask-HQ ("celebamask_hq", OUT/celebamask):
    celebamask/<s>_masks/<i>.png          19-class ids (0 background ... 18 cloth)
    tracks/faces_<track>/<i>.png          face tracks ("face_tracks", OUT/tracks, "test"):
    tracks/synthetic_faces.ids            header, then "<track id> id<identity>"
    rafdb/EmoLabel/list_patition_label.txt    RAF-DB basic ("rafdb", OUT/rafdb): train/test,
    rafdb/Image/aligned/<s>_<i>_aligned.png   labels in RAF-DB's 1..7 (neutral 7, happiness 4,
                                              surprise 1, sadness 5, anger 6)
  cars:
    <s>_classes.txt                   ShapeNet classes file ("shapenet_cars", OUT, s,
                                      classes_file="<s>_classes.txt"): label car_class
    parts/<s>_images/<i>.png          part masks in the CelebAMask-HQ layout (`CAR_PARTS` ids)
    parts/<s>_masks/<i>.png

Only ``<s>/<i>.png`` (and the track frames) are image files; the other layouts link to them with
relative symbolic links (``--copy`` copies instead). Every file is written atomically (temporary
file, then rename) and an existing file is skipped, so an interrupted run resumes where it
stopped; tables are rewritten only when their content changes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from unsup3d.cli import prepare_output_dir
from unsup3d.data.idlist import write_id_list
from unsup3d.data.settings import DEFAULTS
from unsup3d.data.synthetic.dataset import DATASET_NAMES, SPLITS, SyntheticDataset
from unsup3d.data.synthetic.faces import EMOTIONS
from unsup3d.errors import UserError
from unsup3d.utils import atomic_path, atomic_write_text, keep_freed_memory

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Options that define the data; a folder written with other values is not resumed.
_DATA_KEYS = (
    "name",
    "seed",
    "image_size",
    "noise",
    "images_per_identity",
    "frames_per_track",
    "track_identities",
)
CELEBA_PARTITION = {"train": 0, "val": 1, "test": 2}
# Our emotion index -> RAF-DB's 1..7 label (1 surprise, 2 fear, 3 disgust, 4 happiness,
# 5 sadness, 6 anger, 7 neutral).
RAFDB_LABEL = {"neutral": 7, "happy": 4, "surprised": 1, "sad": 5, "angry": 6}
RAFDB_SPLITS = ("train", "test")


# ----------------------------------------------------------------------------------------- paths
def image_path(out: Path, ds: SyntheticDataset, index: int, track: int | None = None) -> Path:
    """Where item ``index`` of split ``ds.split`` is stored (the one real image file)."""
    if ds.split == "tracks":
        return out / "tracks" / f"{ds.model.short}_{track:05d}" / f"{index:06d}.png"
    return out / ds.split / f"{index:06d}.png"


def _links(out: Path, ds: SyntheticDataset, index: int) -> list[Path]:
    """The other layouts' paths of item ``index``'s image (links or copies)."""
    s, name = ds.split, f"{index:06d}.png"
    links = []
    if ds.name == "synthetic_faces":
        if s in CELEBA_PARTITION:
            links.append(out / "celeba" / "img_align_celeba" / f"{s}_{name}")
        if s in RAFDB_SPLITS:
            links.append(out / "rafdb" / "Image" / "aligned" / f"{s}_{index:06d}_aligned.png")
        links.append(out / "celebamask" / f"{s}_images" / name)
    else:
        links.append(out / "parts" / f"{s}_images" / name)
    return links


def _mask_path(out: Path, ds: SyntheticDataset, index: int) -> Path:
    folder = "celebamask" if ds.name == "synthetic_faces" else "parts"
    return out / folder / f"{ds.split}_masks" / f"{index:06d}.png"


# ----------------------------------------------------------------------------------------- files
def _write_png(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG", compress_level=1)


def _link_or_copy(target: Path, path: Path, copy: bool) -> None:
    """Make ``path`` a relative symbolic link to ``target`` (or a copy), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        with atomic_path(path) as tmp:
            shutil.copyfile(target, tmp)
        return
    tmp = path.parent / f".{path.name}.{os.getpid()}.link"
    if os.path.lexists(tmp):
        tmp.unlink()
    os.symlink(os.path.relpath(target, path.parent), tmp)
    os.replace(tmp, path)


def _write_text_if_changed(path: Path, text: str) -> None:
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        atomic_write_text(path, text)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, S, S) float in [0, 1] -> (S, S, 3) uint8, rounded (what the PNG stores)."""
    return (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _dataset(options: dict[str, Any], split: str, num_images: int) -> SyntheticDataset:
    return SyntheticDataset(
        options["name"],
        split,
        options["image_size"],
        seed=options["seed"],
        num_images=num_images,
        images_per_identity=options["images_per_identity"],
        noise=options["noise"],
        frames_per_track=options["frames_per_track"],
        track_identities=options["track_identities"],
    )


def _write_chunk(task: dict[str, Any]) -> tuple[int, int, dict[str, np.ndarray] | None]:
    """Write the files of items [start, stop) of one split; render only if something is missing.

    Returns:
        (items rendered, files written, maps or None): maps are the canonical depth (float16)
        and albedo (uint8) of the chunk when ``task["maps"]`` is set.
    """
    if task.get("threads"):
        torch.set_num_threads(task["threads"])
    out, copy, overwrite = Path(task["out"]), task["copy"], task["overwrite"]
    ds = _dataset(task["options"], task["split"], task["num_images"])
    indices = np.arange(task["start"], task["stop"])
    _, tracks = ds.identity_of(indices)
    todo = []
    for i, track in zip(indices.tolist(), tracks.tolist()):
        paths = [image_path(out, ds, i, track), _mask_path(out, ds, i), *_links(out, ds, i)]
        if overwrite or not all(os.path.lexists(p) for p in paths):
            todo.append(i)
    if not todo and not task["maps"]:
        return 0, 0, None
    render = indices.tolist() if task["maps"] else todo
    batch = ds.generate_batch(render)
    written = 0
    position = {i: k for k, i in enumerate(render)}
    for i in todo:
        k = position[i]
        track = int(tracks[i - task["start"]])
        img = image_path(out, ds, i, track)
        if overwrite or not img.exists():
            _write_png(img, to_uint8(batch["image"][k]))
            written += 1
        mask = _mask_path(out, ds, i)
        if overwrite or not mask.exists():
            _write_png(mask, batch["mask"][k].to(torch.uint8).numpy())
            written += 1
        for link in _links(out, ds, i):
            if overwrite or not os.path.lexists(link):
                _link_or_copy(img, link, copy)
                written += 1
    maps = None
    if task["maps"]:
        maps = {
            "depth": batch["depth"].numpy().astype(np.float16),
            "albedo": (batch["albedo"] * 255).round().to(torch.uint8).numpy(),
        }
    return len(render), written, maps


# ----------------------------------------------------------------------------------------- tables
def _split_tables(ds: SyntheticDataset) -> dict[str, Any]:
    """Labels, factors and ids of a whole split (parameters only, no rendering)."""
    p = ds.sample_params(range(len(ds)))
    labels = {"identity": p.identity, ds.category_label: p.category}
    labels.update(zip(ds.attribute_names, ds.model.attributes(p).unbind(1)))
    return {
        "image_ids": [ds.image_id(i) for i in range(len(ds))],
        "labels": labels,
        "factors": ds.factors(p),
        "light": p.light,
        "view": p.view,
        "track_ids": p.track,
    }


def _write_ground_truth(
    out: Path, ds: SyntheticDataset, t: dict[str, Any], maps: dict | None, overwrite: bool
) -> None:
    path = out / "ground_truth" / f"{ds.split}.npz"
    if path.exists() and maps is None and not overwrite:
        return
    arrays: dict[str, np.ndarray] = {
        "image_ids": np.array(t["image_ids"], dtype=str),
        "factors": t["factors"].numpy().astype(np.float32),
        "factor_names": np.array(ds.factor_names, dtype=str),
        "labels": torch.stack(list(t["labels"].values()), 1).numpy().astype(np.int64),
        "label_names": np.array(list(t["labels"]), dtype=str),
        "light": t["light"].numpy(),
        "view": t["view"].numpy(),
        "meta": np.array(json.dumps({"dataset": ds.name, "split": ds.split, "seed": ds.seed})),
    }
    if ds.split == "tracks":
        arrays["track_ids"] = t["track_ids"].numpy().astype(np.int64)
    if maps is not None:
        arrays.update(maps)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def _write_face_tables(out: Path, datasets: dict[str, SyntheticDataset], tables: dict) -> None:
    celeba = [s for s in ("train", "val", "test") if s in datasets]
    if celeba:
        names = datasets[celeba[0]].attribute_names
        attr_rows, part_rows, id_rows = [], [], []
        for s in celeba:
            t = tables[s]
            values = torch.stack([t["labels"][n] for n in names], 1) * 2 - 1  # 0/1 -> -1/+1
            for i, row in enumerate(values.tolist()):
                file = f"{s}_{i:06d}.png"
                attr_rows.append(file + " " + " ".join(f"{v:2d}" for v in row))
                part_rows.append(f"{file} {CELEBA_PARTITION[s]}")
                id_rows.append(f"{file} {int(t['labels']['identity'][i])}")
        base = out / "celeba"
        attr = [str(len(attr_rows)), " ".join(names), *attr_rows]
        _write_text_if_changed(base / "list_attr_celeba.txt", "\n".join(attr) + "\n")
        _write_text_if_changed(base / "list_eval_partition.txt", "\n".join(part_rows) + "\n")
        _write_text_if_changed(base / "identity_CelebA.txt", "\n".join(id_rows) + "\n")
    raf = [s for s in RAFDB_SPLITS if s in datasets]
    if raf:
        rows = []
        for s in raf:
            for i, e in enumerate(tables[s]["labels"]["emotion"].tolist()):
                rows.append(f"{s}_{i:06d}.png {RAFDB_LABEL[EMOTIONS[e]]}")
        _write_text_if_changed(
            out / "rafdb" / "EmoLabel" / "list_patition_label.txt", "\n".join(rows) + "\n"
        )
    if "tracks" in datasets:
        t = tables["tracks"]
        first: dict[int, int] = {}
        for track, ident in zip(t["track_ids"].tolist(), t["labels"]["identity"].tolist()):
            first.setdefault(track, ident)
        lines = ["track_id name", *(f"{k} id{v}" for k, v in sorted(first.items()))]
        ids_name = f"{datasets['tracks'].name}.ids"
        _write_text_if_changed(out / "tracks" / ids_name, "\n".join(lines) + "\n")


def _write_car_tables(out: Path, datasets: dict[str, SyntheticDataset], tables: dict) -> None:
    for s, ds in datasets.items():
        if s == "tracks":
            continue
        t = tables[s]
        rows = [
            (f"{i:06d}.png", c, ds.category_names[c], ident)
            for i, (c, ident) in enumerate(
                zip(t["labels"]["car_class"].tolist(), t["labels"]["identity"].tolist())
            )
        ]
        write_id_list(
            out / f"{s}_classes.txt",
            ("path", "class_index", "class_name", "model_id"),
            rows,
            # the tool as first published, so the file stays byte-identical
            comments=[f"{ds.name} split {s}: written by python -m unsup3d.data.materialize"],
        )


# ----------------------------------------------------------------------------------------- main
def _check_manifest(
    out: Path, options: dict[str, Any], counts: dict[str, int], overwrite: bool
) -> dict:
    path = out / "manifest.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{path}: not valid JSON ({exc}); remove it or use another --output_dir"
            ) from exc
        if not overwrite:
            diff = [k for k in _DATA_KEYS if old.get("options", {}).get(k) != options[k]]
            diff += [
                f"num_images[{s}]"
                for s, n in counts.items()
                if old.get("splits", {}).get(s, n) != n
            ]
            if diff:
                raise UserError(
                    f"{path}: {out} holds data written with other options ({', '.join(diff)}); "
                    "use another --output_dir, the same options, or --overwrite to rewrite these splits"
                )
        splits = {**old.get("splits", {}), **counts}
    else:
        prepare_output_dir(out, overwrite)  # not a materialized folder: it must be empty
        splits = dict(counts)
    return {"format_version": FORMAT_VERSION, "options": options, "splits": splits}


def materialize(
    name: str,
    out: str | os.PathLike,
    image_size: int = DEFAULTS.image_size,
    splits: Sequence[str] = ("train", "val", "test"),
    num_images: int | Sequence[int] | None = None,
    *,
    seed: int = DEFAULTS.dataset_seed,
    noise: float = 1.0,
    images_per_identity: int = 10,
    frames_per_track: int = 10,
    track_identities: int = 10,
    workers: int = 1,
    chunk: int = 64,
    copy: bool = False,
    maps: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write synthetic splits to ``out`` (layouts: module docstring).

    Args:
        name: ``synthetic_faces`` or ``synthetic_cars``.
        out: the folder (created).
        image_size: S (pixels).
        splits: any of `SPLITS`.
        num_images: images per split: None (the defaults), one int for every split, or one per
            split.
        seed, noise, images_per_identity, frames_per_track, track_identities: the dataset's.
        workers: processes rendering chunks (each with one torch thread); 1 renders here.
        chunk: items per batched render.
        copy: copy the image into the other layouts instead of linking it.
        maps: also store canonical depth (float16) and albedo (uint8) in ground_truth/<s>.npz.
        overwrite: rewrite existing files (and accept a folder written with other options).

    Returns:
        The manifest written (options and per-split counts), plus ``stats`` per split.
    """
    if name not in DATASET_NAMES:
        raise UserError(
            f"--name {name}: unknown synthetic dataset; use one of {', '.join(DATASET_NAMES)}"
        )
    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise UserError(f"--splits {' '.join(bad)}: unknown split; use any of {', '.join(SPLITS)}")
    if len(set(splits)) != len(splits) or not splits:
        raise UserError(f"--splits {' '.join(splits)}: give each split once")
    if num_images is None or isinstance(num_images, int):
        counts_in = [num_images] * len(splits)
    else:
        counts_in = list(num_images)
        if len(counts_in) == 1:
            counts_in = counts_in * len(splits)
        if len(counts_in) != len(splits):
            raise UserError(
                f"--num_images: {len(counts_in)} values for {len(splits)} splits; give one value "
                "or one per split"
            )
    if workers < 1 or chunk < 1:
        raise UserError(f"--workers {workers} / --chunk {chunk}: must be >= 1")
    out = Path(out)
    options = {
        "name": name,
        "seed": int(seed),
        "image_size": int(image_size),
        "noise": float(noise),
        "images_per_identity": int(images_per_identity),
        "frames_per_track": int(frames_per_track),
        "track_identities": int(track_identities),
    }
    datasets = {s: _dataset(options, s, n) for s, n in zip(splits, counts_in)}  # validates options
    counts = {s: len(ds) for s, ds in datasets.items()}
    manifest = _check_manifest(out, options, counts, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")

    stats: dict[str, dict[str, float]] = {}
    tables: dict[str, dict[str, Any]] = {}
    pool = (
        ProcessPoolExecutor(workers, get_context("spawn"), initializer=keep_freed_memory)
        if workers > 1
        else None
    )
    try:
        for s, ds in datasets.items():
            t0 = time.perf_counter()
            tasks = [
                {
                    "options": options,
                    "split": s,
                    "num_images": len(ds),
                    "start": a,
                    "stop": min(a + chunk, len(ds)),
                    "out": str(out),
                    "copy": copy,
                    "maps": maps,
                    "overwrite": overwrite,
                    "threads": 1 if pool else 0,
                }
                for a in range(0, len(ds), chunk)
            ]
            results = (
                list(pool.map(_write_chunk, tasks)) if pool else [_write_chunk(t) for t in tasks]
            )
            rendered = sum(r[0] for r in results)
            written = sum(r[1] for r in results)
            split_maps = None
            if maps and results:
                split_maps = {
                    k: np.concatenate([r[2][k] for r in results]) for k in ("depth", "albedo")
                }
            tables[s] = _split_tables(ds)
            _write_ground_truth(out, ds, tables[s], split_maps, overwrite)
            seconds = time.perf_counter() - t0
            stats[s] = {
                "images": len(ds),
                "rendered": rendered,
                "files_written": written,
                "seconds": seconds,
            }
            log.info(
                "%s/%s: %d images, %d rendered, %d files written in %.1f s (%.0f images/s)",
                out,
                s,
                len(ds),
                rendered,
                written,
                seconds,
                rendered / seconds if seconds > 0 else 0.0,
            )
    finally:
        if pool:
            pool.shutdown()
    all_sets = {
        s: _dataset(options, s, n) for s, n in manifest["splits"].items() if s not in datasets
    }
    for s, ds in all_sets.items():  # splits written by earlier runs stay in the tables
        tables[s] = _split_tables(ds)
    everything = {**datasets, **all_sets}
    if name == "synthetic_faces":
        _write_face_tables(out, everything, tables)
    else:
        _write_car_tables(out, everything, tables)
    return {**manifest, "stats": stats}
