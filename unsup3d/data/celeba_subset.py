"""Forwarding module: the CelebA subset tool is `unsup3d.tools.celeba_subset` (``python -m unsup3d.tools.celeba_subset``).

``python -m unsup3d.data.celeba_subset`` and the imports from this path keep working.
"""

from unsup3d.cli import run
from unsup3d.tools.celeba_subset import build_parser, celeba_subset, main

__all__ = ["build_parser", "celeba_subset", "main"]

if __name__ == "__main__":
    run(main)
