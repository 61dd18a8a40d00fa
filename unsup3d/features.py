"""Feature files: the `.npz` that `run.py extract` writes and every evaluation reads.

Format (ARCHITECTURE.md §4), loaded with ``allow_pickle=False``:

- ``features_depth``, ``features_albedo``, ``features_light``, ``features_view``: float32 (N, 256)
  (a baseline may store other groups, e.g. ``features_latent``; any ``features_<name>`` is a group);
- ``labels``: int64 (N,) or (N, A), with ``label_names`` (str, length 1 or A);
- optional ``track_ids`` int64 (N,), ``factors`` float32 (N, K) with ``factor_names`` (str, K),
  ``image_ids`` (str, N);
- ``meta``: a JSON string (checkpoint sha256, config, split, ...).

The paper's layout is read too: one ``features`` or ``feats`` array, (N, F) or (N, 1, F), plus
``labels``. Its groups are inferred from the width: 1024 = depth, albedo, light, view (the paper's
ALL_FEATS order); 512 = depth, albedo; anything else is one group called ``features``.
A pickled ``.npy`` dict is read only with ``allow_pickle=True``, because unpickling runs code.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unsup3d.errors import UserError
from unsup3d.utils import atomic_path

SCENE_GROUPS: tuple[str, ...] = ("depth", "albedo", "light", "view")
DEFAULT_GROUPS: tuple[str, ...] = ("depth", "albedo")
FORMAT_VERSION = 1


@dataclass
class FeatureSet:
    """Per-sample features split by scene parameter, with labels and metadata.

    Attributes:
        features: group name -> float32 array (N, D_group), in file order.
        labels: int64 (N,) or (N, A), or None when the file has no labels.
        label_names: one name per label column (``["label"]`` for an unnamed 1-D label).
        track_ids: int64 (N,) track of each sample, or None.
        factors: float32 (N, K) ground-truth factors, or None.
        factor_names: K names.
        image_ids: str (N,) or None.
        meta: parsed ``meta`` JSON (empty dict when absent).
    """

    features: dict[str, np.ndarray]
    labels: np.ndarray | None = None
    label_names: list[str] = field(default_factory=list)
    track_ids: np.ndarray | None = None
    factors: np.ndarray | None = None
    factor_names: list[str] = field(default_factory=list)
    image_ids: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return next(iter(self.features.values())).shape[0]

    @property
    def groups(self) -> list[str]:
        return list(self.features)

    def select(
        self, groups: Sequence[str] | str | None = None, source: str = "features"
    ) -> np.ndarray:
        """Concatenate the chosen groups along the feature axis.

        Args:
            groups: names, a comma-separated string, ``"all"``, or None for the paper default
                (depth+albedo when present, else every group).
            source: file name used in error messages.

        Returns:
            float32 (N, sum of the groups' widths).
        """
        names = self.resolve_groups(groups, source)
        return np.concatenate([self.features[g] for g in names], axis=1)

    def resolve_groups(
        self, groups: Sequence[str] | str | None, source: str = "features"
    ) -> list[str]:
        """Turn a ``--groups`` value into a list of existing group names (see `select`)."""
        if groups is None:
            if all(g in self.features for g in DEFAULT_GROUPS):
                return list(DEFAULT_GROUPS)
            return list(self.features)
        if isinstance(groups, str):
            groups = [g.strip() for g in groups.split(",") if g.strip()]
        if list(groups) == ["all"]:
            return list(self.features)
        unknown = [g for g in groups if g not in self.features]
        if unknown or not groups:
            raise UserError(
                f"{source}: unknown feature group(s) {unknown or groups}; "
                f"this file has {', '.join(self.features)} (or use 'all')"
            )
        return list(dict.fromkeys(groups))


def _strings(values: Sequence[str] | np.ndarray) -> np.ndarray:
    # Unicode dtype, never object: object arrays need pickle to load.
    return np.asarray([str(v) for v in values], dtype=np.str_)


def save_features(path: str | os.PathLike, fs: FeatureSet) -> None:
    """Write a `FeatureSet` to ``path`` (.npz) atomically; validates it first."""
    validate(fs, str(path))
    arrays: dict[str, np.ndarray] = {
        f"features_{name}": np.ascontiguousarray(arr, dtype=np.float32)
        for name, arr in fs.features.items()
    }
    if fs.labels is not None:
        arrays["labels"] = np.asarray(fs.labels, dtype=np.int64)
        arrays["label_names"] = _strings(fs.label_names or ["label"])
    if fs.track_ids is not None:
        arrays["track_ids"] = np.asarray(fs.track_ids, dtype=np.int64)
    if fs.factors is not None:
        arrays["factors"] = np.asarray(fs.factors, dtype=np.float32)
        arrays["factor_names"] = _strings(fs.factor_names)
    if fs.image_ids is not None:
        arrays["image_ids"] = _strings(fs.image_ids)
    meta = dict(fs.meta)
    meta.setdefault("format_version", FORMAT_VERSION)
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file handle keeps numpy from appending ".npz"
            np.savez(fh, **arrays)


def validate(fs: FeatureSet, source: str) -> None:
    """Check shapes, dtypes and finiteness; raise `UserError` naming ``source`` on a problem."""
    if not fs.features:
        raise UserError(f"{source}: no feature arrays; expected features_<group> (N, D) arrays")
    n = None
    for name, arr in fs.features.items():
        if arr.ndim != 2:
            raise UserError(f"{source}: features_{name} has shape {arr.shape}; expected (N, D)")
        if not np.issubdtype(arr.dtype, np.floating):
            raise UserError(f"{source}: features_{name} has dtype {arr.dtype}; expected float")
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise UserError(
                f"{source}: features_{name} has {arr.shape[0]} rows but other groups have {n}; "
                "every array must have one row per sample"
            )
        if not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).any(axis=1).sum())
            raise UserError(
                f"{source}: features_{name} has NaN/inf in {bad} of {n} rows; "
                "re-extract features from a healthy checkpoint"
            )
    assert n is not None
    for key in ("labels", "track_ids", "factors", "image_ids"):
        arr = getattr(fs, key)
        if arr is not None and arr.shape[0] != n:
            raise UserError(f"{source}: {key} has {arr.shape[0]} rows but features have {n}")
    if fs.labels is not None:
        if fs.labels.ndim not in (1, 2):
            raise UserError(
                f"{source}: labels has shape {fs.labels.shape}; expected (N,) or (N, A)"
            )
        if not np.issubdtype(fs.labels.dtype, np.integer):
            raise UserError(f"{source}: labels has dtype {fs.labels.dtype}; expected integers")
        cols = 1 if fs.labels.ndim == 1 else fs.labels.shape[1]
        if fs.label_names and len(fs.label_names) != cols:
            raise UserError(
                f"{source}: {len(fs.label_names)} label_names for {cols} label column(s)"
            )
    if fs.factors is not None:
        if fs.factors.ndim != 2:
            raise UserError(f"{source}: factors has shape {fs.factors.shape}; expected (N, K)")
        if not np.isfinite(fs.factors).all():
            raise UserError(f"{source}: factors contain NaN/inf")
        if fs.factor_names and len(fs.factor_names) != fs.factors.shape[1]:
            raise UserError(
                f"{source}: {len(fs.factor_names)} factor_names for {fs.factors.shape[1]} factors"
            )


def _paper_groups(feats: np.ndarray) -> dict[str, np.ndarray]:
    if feats.ndim == 3 and feats.shape[1] == 1:
        feats = feats[:, 0, :]  # (N, 1, F) -> (N, F), the paper's extractor layout
    if feats.ndim != 2:
        raise UserError(f"features array has shape {feats.shape}; expected (N, F) or (N, 1, F)")
    feats = feats.astype(np.float32, copy=False)
    width = feats.shape[1]
    if width == 1024:
        return {g: feats[:, i * 256 : (i + 1) * 256] for i, g in enumerate(SCENE_GROUPS)}
    if width == 512:
        return {g: feats[:, i * 256 : (i + 1) * 256] for i, g in enumerate(DEFAULT_GROUPS)}
    return {"features": feats}


def _from_mapping(data: Mapping[str, Any], source: str) -> FeatureSet:
    keys = set(data)
    groups = {
        k[len("features_") :]: np.asarray(data[k])
        for k in sorted(keys)
        if k.startswith("features_")
    }
    # Keep the canonical scene-parameter order first, then any other groups alphabetically.
    ordered = {g: groups[g] for g in SCENE_GROUPS if g in groups}
    ordered.update({g: a for g, a in groups.items() if g not in ordered})
    if not ordered:
        raw_key = "features" if "features" in keys else "feats" if "feats" in keys else None
        if raw_key is None:
            raise UserError(
                f"{source}: no features found (keys: {', '.join(sorted(keys)) or 'none'}); expected "
                "features_<group> arrays (run.py extract) or the paper's 'features'/'feats' + 'labels'"
            )
        try:
            ordered = _paper_groups(np.asarray(data[raw_key]))
        except UserError as exc:
            raise UserError(f"{source}: {exc}") from None
    labels = None
    label_names: list[str] = []
    if "labels" in keys:
        labels = np.asarray(data["labels"])
        if labels.ndim == 3 and labels.shape[1] == 1:
            labels = labels[:, 0, :]  # paper's CelebA layout (N, 1, 40)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.dtype.kind == "f":
            if not np.isfinite(labels).all() or not np.all(labels == np.round(labels)):
                raise UserError(
                    f"{source}: labels are not whole numbers; expected integer class ids"
                )
        if labels.dtype.kind in "fiub":
            labels = labels.astype(np.int64)
        else:
            raise UserError(f"{source}: labels have dtype {labels.dtype}; expected integers")
        if "label_names" in keys:
            label_names = [str(s) for s in np.asarray(data["label_names"]).reshape(-1)]
        else:
            cols = 1 if labels.ndim == 1 else labels.shape[1]
            label_names = ["label"] if cols == 1 else [f"attr_{i}" for i in range(cols)]
    meta: dict[str, Any] = {}
    if "meta" in keys:
        raw = np.asarray(data["meta"])
        try:
            meta = json.loads(str(raw.item() if raw.shape == () else raw.reshape(-1)[0]))
        except (ValueError, IndexError):
            raise UserError(
                f"{source}: 'meta' is not a JSON string; re-extract the features"
            ) from None

    def opt(key: str, dtype: Any) -> np.ndarray | None:
        return np.asarray(data[key]).astype(dtype) if key in keys else None

    fs = FeatureSet(
        features=ordered,
        labels=labels,
        label_names=label_names,
        track_ids=opt("track_ids", np.int64),
        factors=opt("factors", np.float32),
        factor_names=[str(s) for s in np.asarray(data["factor_names"]).reshape(-1)]
        if "factor_names" in keys
        else [],
        image_ids=opt("image_ids", np.str_),
        meta=meta,
    )
    validate(fs, source)
    return fs


def load_features(
    path: str | os.PathLike, allow_pickle: bool = False, rerun_hint: str | None = None
) -> FeatureSet:
    """Read a feature file (project `.npz`, the paper's `.npz`, or a pickled `.npy` dict).

    Args:
        path: the file.
        allow_pickle: permit a pickled `.npy` dict. Unpickling runs arbitrary code: only for
            files you made yourself.
        rerun_hint: the exact command that would load this file with pickling allowed (e.g. the
            caller's command line plus ``--allow-pickle``); shown in the refusal of a `.npy`.

    Returns:
        The validated `FeatureSet`.

    Raises:
        UserError: missing/corrupt file, a pickle without ``allow_pickle``, wrong keys, shapes,
            dtypes or NaN; the message names the file and the fix.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise UserError(f"{source}: no such file; pass a feature .npz written by `run.py extract`")
    if path.suffix == ".npy":
        if not allow_pickle:
            rerun = f"re-run as: {rerun_hint}" if rerun_hint else "re-run with --allow-pickle"
            raise UserError(
                f"{source}: a .npy feature dict is a pickle, and unpickling runs code; if you made "
                f"this file yourself, {rerun}; or convert it once with: python -c "
                f"\"import numpy as np; d=np.load('{source}', allow_pickle=True).item(); "
                f"np.savez('{path.with_suffix('.npz')}', **d)\""
            )
        try:
            obj = np.load(path, allow_pickle=True)
            obj = obj.item() if obj.dtype == object and obj.shape == () else obj
        except Exception as exc:
            raise UserError(f"{source}: cannot read ({exc.__class__.__name__}: {exc})") from None
        if not isinstance(obj, Mapping):
            raise UserError(f"{source}: expected a pickled dict with 'features' and 'labels'")
        return _from_mapping(obj, source)
    if not zipfile.is_zipfile(path):
        raise UserError(
            f"{source}: not a .npz archive (truncated, or a pickle/.npy renamed); "
            "re-extract the features with `run.py extract`"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise UserError(
                f"{source}: contains object (pickled) arrays; re-save with plain numeric/str arrays, "
                "or re-extract with `run.py extract`"
            ) from None
        raise UserError(f"{source}: not a readable .npz ({exc}); re-extract the features") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{source}: not a readable .npz ({exc}); re-extract the features") from None
    return _from_mapping(data, source)
