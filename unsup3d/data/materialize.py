"""Forwarding module: the materialize tool is `unsup3d.tools.materialize` (its command line) and
`unsup3d.data.synthetic.materialize` (the library).

``python -m unsup3d.data.materialize`` and the imports from this path keep working.
"""

from unsup3d.cli import run
from unsup3d.data.synthetic.materialize import (
    CELEBA_PARTITION,
    FORMAT_VERSION,
    RAFDB_LABEL,
    RAFDB_SPLITS,
    image_path,
    materialize,
    to_uint8,
)
from unsup3d.tools.materialize import build_parser, main

__all__ = [
    "CELEBA_PARTITION",
    "FORMAT_VERSION",
    "RAFDB_LABEL",
    "RAFDB_SPLITS",
    "build_parser",
    "image_path",
    "main",
    "materialize",
    "to_uint8",
]

if __name__ == "__main__":
    run(main)
