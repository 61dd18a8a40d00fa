"""Forwarding module: the contact-sheet tool is `unsup3d.tools.contact_sheet` (``python -m unsup3d.tools.contact_sheet``).

``python -m unsup3d.data.contact_sheet`` and the imports from this path keep working.
"""

from unsup3d.cli import run
from unsup3d.tools.contact_sheet import (
    COLUMNS,
    LABEL_WIDTH,
    build_parser,
    contact_sheet,
    depth_rgb,
    main,
    mask_rgb,
)

__all__ = [
    "COLUMNS",
    "LABEL_WIDTH",
    "build_parser",
    "contact_sheet",
    "depth_rgb",
    "main",
    "mask_rgb",
]

if __name__ == "__main__":
    run(main)
