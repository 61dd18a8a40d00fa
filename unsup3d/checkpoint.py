"""Checkpoints: one dict of tensors and plain containers, written atomically, loaded safely.

Keys: ``format_version``, ``config`` (resolved, plain dict), ``model`` (state dict),
``optimizers`` (name -> state dict), ``scaler`` (AMP, or None), ``epoch`` (epochs completed),
``step``, ``rng`` (torch CPU/CUDA states as uint8 tensors, Python and NumPy states as plain
containers), ``metrics`` (list of per-epoch dicts), ``best_val``, ``early_stop`` (counter),
``git_sha``. It loads with ``torch.load(weights_only=True)``: no pickled objects.
"""

from __future__ import annotations

import logging
import os
import random
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unsup3d.errors import UserError
from unsup3d.utils import atomic_path

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_PREFIXES = ("module.", "_orig_mod.")


def rng_state() -> dict[str, Any]:
    """All RNG states as tensors and plain containers (weights_only-safe)."""
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global state is what we restore
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(np_state[0]),
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the states saved by `rng_state`."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            n["kind"],
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, payload: Mapping[str, Any]) -> None:
    """Write a checkpoint atomically (temp file in the same folder, then ``os.replace``)."""
    payload = {"format_version": FORMAT_VERSION, **payload}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``.

    Raises:
        UserError: missing, truncated/corrupt, pickled-object (unsafe) or unknown-format files;
            the message names the file and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: checkpoint not found; pass a .pt written by run.py (e.g. <run>/best.pt)"
        )
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
        raise UserError(
            f"{path}: truncated or corrupt checkpoint ({str(exc).splitlines()[0][:120]}); "
            f"use the previous one (last.pt / best.pt / epoch_NNNN.pt in the same folder)"
        ) from None
    except Exception as exc:
        raise UserError(
            f"{path}: not a weights-only checkpoint ({exc.__class__.__name__}); it holds pickled "
            "objects (e.g. the paper release's); re-save its state dicts, or retrain"
        ) from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "format_version" not in ckpt:
        raise UserError(
            f"{path}: not a PDR checkpoint (no 'model'/'format_version'); expected a file written by run.py"
        )
    if ckpt["format_version"] > FORMAT_VERSION:
        raise UserError(
            f"{path}: checkpoint format {ckpt['format_version']} is newer than this code ({FORMAT_VERSION}); update the code"
        )
    return ckpt


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip the ``module.`` (DDP) and ``_orig_mod.`` (torch.compile) prefixes."""
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix) :], True
        out[key] = value
    return out


def load_model_state(
    model: torch.nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str = "checkpoint",
    expect_missing: set[str] | None = None,
) -> None:
    """Strictly load a state dict; a deliberate partial load names exactly what may be missing.

    Args:
        expect_missing: keys allowed (and required) to be missing, e.g. a head not saved.
    """
    result = model.load_state_dict(clean_state_dict(state), strict=False)
    missing, unexpected = set(result.missing_keys), set(result.unexpected_keys)
    if missing != (expect_missing or set()) or unexpected:
        detail = []
        if missing - (expect_missing or set()):
            detail.append(f"missing {sorted(missing - (expect_missing or set()))[:5]}")
        if unexpected:
            detail.append(f"unexpected {sorted(unexpected)[:5]}")
        if (expect_missing or set()) - missing:
            detail.append(
                f"expected missing but present {sorted((expect_missing or set()) - missing)[:5]}"
            )
        raise UserError(
            f"{source}: weights do not match the model ({'; '.join(detail)}); was it trained with another model preset?"
        )
