"""Build the labelled 5-class ShapeNet car subset from the metadata table, by keyword matching.

    python -m unsup3d.tools.shapenet_classes 02958343.csv data/syncar/test \
        data/syncar/test_classes.txt --config experiments/data/shapenet_car_classes.yaml

Inputs: ShapeNetCore's car metadata table (CSV with a header; the model id in ``fullId`` as
``3dw.<id>``, or in ``id``/``modelId``; text in ``name``, ``wnlemmas``, ``tags``), a folder of
renders whose paths contain the model id (``model_id_pattern``), and the YAML config with the
keyword list of each class. A model is labelled with the class whose keywords match (whole
words, case-insensitive) in the configured columns; a model matching two classes is left out.
Renders of labelled models are kept, at most ``max_images`` (per class ``max_images / K`` when
``balanced``), chosen by SHA-256 of ``"<seed>:<path>"``.

Output: an id list ``path<TAB>class_index<TAB>class_name<TAB>model_id`` (paths relative to the
render folder, sorted; also given as ``--output``), read by the ``shapenet_cars`` loader's
``classes_file`` option.
"""

from __future__ import annotations

import csv
import difflib
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from unsup3d import cli
from unsup3d.data.base import hash_order, list_images, require_file
from unsup3d.data.idlist import write_id_list
from unsup3d.errors import UserError
from unsup3d.tools import add_output_positional, output_argument, tool_parser

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("experiments/data/shapenet_car_classes.yaml")
CONFIG_KEYS = ("columns", "model_id_pattern", "max_images", "balanced", "seed", "classes")
ID_COLUMNS = ("fullId", "id", "modelId")


def load_class_config(path: Path) -> dict[str, Any]:
    """Read and check the keyword config (keys `CONFIG_KEYS`)."""
    require_file(path, "give the keyword config, e.g. experiments/data/shapenet_car_classes.yaml")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(cfg, dict):
        raise UserError(f"{path}: expected a mapping with keys {', '.join(CONFIG_KEYS)}")
    for key in cfg:
        if key not in CONFIG_KEYS:
            near = difflib.get_close_matches(str(key), CONFIG_KEYS, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise UserError(
                f"{path}: unknown key '{key}'{hint}; valid keys: {', '.join(CONFIG_KEYS)}"
            )
    classes = cfg.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise UserError(f"{path}: 'classes' must map each class name to a list of keywords")
    for name, words in classes.items():
        if (
            not isinstance(words, list)
            or not words
            or not all(isinstance(w, str) and w.strip() for w in words)
        ):
            raise UserError(f"{path}: 'classes.{name}' must be a non-empty list of keywords")
    out = {
        "columns": cfg.get("columns", ["name", "wnlemmas", "tags"]),
        "model_id_pattern": cfg.get("model_id_pattern", "[0-9a-f]{32}"),
        "max_images": cfg.get("max_images", 1000),
        "balanced": cfg.get("balanced", True),
        "seed": cfg.get("seed", 0),
        "classes": {str(k): [w.strip().lower() for w in v] for k, v in classes.items()},
    }
    if not isinstance(out["columns"], list) or not all(isinstance(c, str) for c in out["columns"]):
        raise UserError(f"{path}: 'columns' must be a list of metadata column names")
    if not isinstance(out["max_images"], int) or out["max_images"] < 0:
        raise UserError(f"{path}: 'max_images' must be an integer ≥ 0 (0 keeps all)")
    if not isinstance(out["seed"], int) or not isinstance(out["balanced"], bool):
        raise UserError(f"{path}: 'seed' must be an integer and 'balanced' true or false")
    try:
        out["model_id_regex"] = re.compile(out["model_id_pattern"])
    except re.error as exc:
        raise UserError(f"{path}: 'model_id_pattern' is not a regular expression ({exc})") from exc
    return out


def label_models(metadata: Path, cfg: dict[str, Any]) -> tuple[dict[str, int], int]:
    """Model id → class index from the metadata table; also the number of ambiguous models."""
    patterns = [
        [re.compile(r"(?<![a-z0-9])" + re.escape(w) + r"(?![a-z0-9])") for w in words]
        for words in cfg["classes"].values()
    ]
    labels: dict[str, int] = {}
    ambiguous = 0
    with open(metadata, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        id_col = next((c for c in ID_COLUMNS if c in header), None)
        missing = [c for c in cfg["columns"] if c not in header]
        if id_col is None or missing:
            raise UserError(
                f"{metadata}: columns {header} lack {'a model id (' + '/'.join(ID_COLUMNS) + ')' if id_col is None else missing}; "
                "expected ShapeNetCore's metadata CSV (fullId,wnsynset,wnlemmas,up,front,name,tags)"
            )
        for row in reader:
            model = (row.get(id_col) or "").strip().split(".")[-1].lower()
            if not model:
                continue
            text = " ".join((row.get(c) or "") for c in cfg["columns"]).lower()
            hits = [k for k, pats in enumerate(patterns) if any(p.search(text) for p in pats)]
            if len(hits) == 1:
                labels[model] = hits[0]
            elif len(hits) > 1:
                ambiguous += 1
    return labels, ambiguous


def build_parser() -> cli.ArgumentParser:
    parser = tool_parser(
        "shapenet_classes",
        "Label ShapeNet car renders with 5 classes by keyword matching on the metadata table.",
        {"output": "id list to write (instead of OUTPUT)", "overwrite": None},
    )
    parser.add_argument("metadata", type=Path, help="ShapeNetCore car metadata CSV (02958343.csv)")
    parser.add_argument("images", type=Path, help="folder of renders, e.g. data/syncar/test")
    add_output_positional(parser, "OUTPUT", "id list to write, e.g. data/syncar/test_classes.txt")
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"keyword config (default {DEFAULT_CONFIG})",
    )
    return parser


def renders_by_class(
    images: Path, labels: dict[str, int], cfg: dict[str, Any]
) -> dict[int, list[tuple[str, str]]]:
    """Class index → (path relative to ``images``, model id) of the renders of labelled models."""
    by_class: dict[int, list[tuple[str, str]]] = {k: [] for k in range(len(cfg["classes"]))}
    regex = cfg["model_id_regex"]
    no_id = 0
    for path in list_images(images, "put the renders to label there"):
        rel = path.relative_to(images).as_posix()
        match = regex.search(rel.lower())
        if match is None:
            no_id += 1
            continue
        if match.group(0) in labels:
            by_class[labels[match.group(0)]].append((rel, match.group(0)))
    if not any(by_class.values()):
        raise UserError(
            f"{images}: no render belongs to a labelled model ({len(labels)} labelled models; "
            f"{no_id} paths without a model id matching '{cfg['model_id_pattern']}'); check the "
            "model_id_pattern and keyword lists in the config"
        )
    return by_class


def choose_renders(
    by_class: dict[int, list[tuple[str, str]]], cfg: dict[str, Any]
) -> list[tuple[str, int, str]]:
    """(path, class index, model id) of the renders kept (``max_images``, ``balanced``), sorted."""
    chosen: list[tuple[str, int, str]] = []
    cap = cfg["max_images"]
    if cfg["balanced"]:
        per_class = cap // len(cfg["classes"]) if cap else 0
        for k, items in by_class.items():
            models = dict(items)
            keep = hash_order(models, cfg["seed"])
            chosen += [(p, k, models[p]) for p in (keep[:per_class] if per_class else keep)]
    else:
        models = {p: (k, m) for k, items in by_class.items() for p, m in items}
        keep = hash_order(models, cfg["seed"])
        chosen = [(p, *models[p]) for p in (keep[:cap] if cap else keep)]
    return sorted(chosen)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup_logging(args.verbose)
    output = output_argument(parser, args, "OUTPUT", "--output")
    cfg = load_class_config(args.config)
    require_file(args.metadata, "give ShapeNetCore's car metadata table (02958343.csv)")
    cli.check_output_file(output, args.overwrite)
    labels, ambiguous = label_models(args.metadata, cfg)
    chosen = choose_renders(renders_by_class(args.images, labels, cfg), cfg)
    names = list(cfg["classes"])
    counts = {n: sum(1 for _, k, _ in chosen if k == i) for i, n in enumerate(names)}
    cap = cfg["max_images"]
    # The header names the tool as it was first published, so lists stay byte-identical.
    write_id_list(
        output,
        ("path", "class_index", "class_name", "model_id"),
        [(p, k, names[k], m) for p, k, m in chosen],
        comments=[
            f"unsup3d.data.shapenet_classes config={args.config.name} seed={cfg['seed']} "
            f"max_images={cap} balanced={cfg['balanced']}",
            "counts: " + " ".join(f"{n}={c}" for n, c in counts.items()),
            f"labelled models: {len(labels)}; ambiguous models left out: {ambiguous}",
        ],
    )
    short = [n for n, c in counts.items() if cfg["balanced"] and cap and c < cap // len(names)]
    if short:
        log.warning("classes with fewer than %d images: %s", cap // len(names), ", ".join(short))
    summary = ", ".join(f"{n} {c}" for n, c in counts.items())
    print(f"{output}: {len(chosen)} images ({summary})")
    return 0


if __name__ == "__main__":
    cli.run(main)
