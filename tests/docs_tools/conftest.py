"""Fixtures for the docs/tools tests: a script of docs/tools loaded as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "docs" / "tools"


def _load(name: str):
    """``docs/tools/<name>.py`` as a module (its dataclasses need it in sys.modules while it is
    executed)."""
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="session")
def load_tool():
    """``load_tool("demo_figure")``: the script ``docs/tools/demo_figure.py`` as a module."""
    return _load
