"""Forwarding module: the CelebAMask-HQ preparation tool is `unsup3d.tools.celebamask_prepare` (``python -m unsup3d.tools.celebamask_prepare``).

``python -m unsup3d.data.celebamask_prepare`` and the imports from this path keep working.
"""

from unsup3d.cli import run
from unsup3d.tools.celebamask_prepare import (
    ID_FILE,
    PARTITION_NAMES,
    build_parser,
    compose_mask,
    main,
    read_mapping,
)

__all__ = ["ID_FILE", "PARTITION_NAMES", "build_parser", "compose_mask", "main", "read_mapping"]

if __name__ == "__main__":
    run(main)
