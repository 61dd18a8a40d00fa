"""Every tool: one --help listing the shared flags once, and its old path still runs it."""

from __future__ import annotations

import importlib
import runpy
import sys
import warnings

import pytest

from unsup3d.data.idlist import read_id_list

# tool -> the shared flags its --help lists (folder writers: --output_dir; file writers: --output)
TOOLS = {
    "split": ("--output_dir", "--overwrite", "--seed"),
    "celebamask_prepare": ("--output_dir", "--overwrite"),
    "materialize": ("--output_dir", "--overwrite", "--seed"),
    "celeba_subset": ("--output", "--overwrite", "--seed"),
    "shapenet_classes": ("--output", "--overwrite"),
    "contact_sheet": ("--output", "--seed"),
}


def _run_module(module: str, argv: list[str], monkeypatch) -> int:
    """Run ``python -m module argv`` in this process; its exit status."""
    monkeypatch.setattr(sys, "argv", [module, *argv])
    with warnings.catch_warnings():  # runpy warns that the module is imported already
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(SystemExit) as exc:
            runpy.run_module(module, run_name="__main__")
    return exc.value.code


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_help_lists_the_shared_flags_once_and_the_old_path_forwards(tool, monkeypatch, capsys):
    new = importlib.import_module(f"unsup3d.tools.{tool}")
    old = importlib.import_module(f"unsup3d.data.{tool}")
    assert old.main is new.main and old.build_parser is new.build_parser
    for module in (f"unsup3d.tools.{tool}", f"unsup3d.data.{tool}"):
        assert _run_module(module, ["--help"], monkeypatch) == 0
        text = capsys.readouterr().out
        assert text.startswith(f"usage: python -m unsup3d.tools.{tool} ")
        assert text.count("shared options:") == 1
        shared = text.split("shared options:")[1].split()
        assert all(flag in shared for flag in TOOLS[tool]), shared
        assert "--out" not in text.split() and "--output-dir" not in text  # one spelling


def test_an_old_path_runs_the_tool(celeba_root, tmp_path, monkeypatch, capsys):
    out = tmp_path / "ids.txt"
    argv = [str(celeba_root), str(out), "--split", "val", "--count", "2"]
    assert _run_module("unsup3d.data.celeba_subset", argv, monkeypatch) == 0
    assert len(read_id_list(out, ("image_id",))) == 2
    assert _run_module("unsup3d.data.celeba_subset", argv, monkeypatch) == 2  # exists
    assert capsys.readouterr().err.startswith(f"error: {out}: exists; pass --overwrite")
