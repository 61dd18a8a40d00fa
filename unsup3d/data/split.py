"""Forwarding module: the split tool is `unsup3d.tools.split` (``python -m unsup3d.tools.split``).

``python -m unsup3d.data.split`` and the imports from this path keep working.
"""

from unsup3d.cli import run
from unsup3d.tools.split import ID_FILE, build_parser, main

__all__ = ["ID_FILE", "build_parser", "main"]

if __name__ == "__main__":
    run(main)
