"""Forwarding module: the ShapeNet car-class tool is `unsup3d.tools.shapenet_classes` (``python -m unsup3d.tools.shapenet_classes``).

``python -m unsup3d.data.shapenet_classes`` and the imports from this path keep working.
"""

from unsup3d.cli import run
from unsup3d.tools.shapenet_classes import (
    CONFIG_KEYS,
    DEFAULT_CONFIG,
    ID_COLUMNS,
    build_parser,
    label_models,
    load_class_config,
    main,
)

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_CONFIG",
    "ID_COLUMNS",
    "build_parser",
    "label_models",
    "load_class_config",
    "main",
]

if __name__ == "__main__":
    run(main)
