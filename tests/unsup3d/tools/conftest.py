"""The tools' tests write their inputs with the data tests' fixtures (tests/unsup3d/data/conftest.py).

Tests run in importlib mode, where a conftest cannot be imported by name, so the data fixtures'
module is loaded from its file and the fixtures the tools need are re-exported here.
"""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "tests_data_conftest", Path(__file__).resolve().parents[1] / "data" / "conftest.py"
)
_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_data)

make = _data.make
celeba_root = _data.celeba_root
