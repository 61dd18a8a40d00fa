"""Moved to ``docs/tools/demo_figure.py``: ``python analysis/demo_figure.py ...`` forwards there."""

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    script = Path(__file__).resolve().parents[1] / "docs" / "tools" / "demo_figure.py"
    sys.argv[0] = str(script)
    runpy.run_path(str(script), run_name="__main__")
