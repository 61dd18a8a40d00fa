"""`unsup3d.api`: every public name resolves to the object it names, lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from unsup3d import api


@pytest.mark.parametrize("name", api.__all__)
def test_every_public_name_resolves(name):
    module, attr = api._EXPORTS[name].split(":")
    assert getattr(api, name) is getattr(importlib.import_module(module), attr)


def test_an_unknown_name_lists_the_public_ones():
    with pytest.raises(AttributeError, match="unsup3d.api has no 'build'; the public names are"):
        api.build  # noqa: B018


def test_importing_the_api_imports_no_torch():
    code = (
        "import sys, unsup3d.api; from unsup3d.api import UserError; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
