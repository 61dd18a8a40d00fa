"""Built-in synthetic data with ground-truth physics: faces and cars (``docs/synthetic.md``).

Every image is a pure function of (dataset seed, split, index), rendered by the project's
renderer from procedural identities, expressions, light and view. The subpackage, one concern a
module:

    rng.py       counter-based random numbers (`uniforms`, `Draws`)
    scene.py     depth constants, light and view ranges (`Ranges`), `SceneParams`
    draw.py      drawing primitives of the canonical maps (grid, bumps, colours, `Canvas`)
    faces.py     `FaceModel`: identity codes, emotions, attributes, canonical maps
    cars.py      `CarModel`: five classes, their shapes and paint
    dataset.py   `SyntheticDataset`, `synthetic_faces`, `synthetic_cars`, `build_synthetic`,
                 item keys, splits, and the registry factory (`synthetic_factory`)

Public API: `synthetic_faces`, `synthetic_cars`, `build_synthetic`, `SyntheticDataset` (items,
``generate_batch``, ``sample_params`` + ``render`` for controlled edits), `SceneParams`; the
registry builds the same objects as ``build_dataset("synthetic_faces", "", split, S, ...)``.
"""

from unsup3d.data.synthetic.cars import CAR_CLASSES, CAR_PARTS, CarModel
from unsup3d.data.synthetic.dataset import (
    DATASET_NAMES,
    DEFAULT_NUM_IMAGES,
    ITEM_KEYS,
    POOL_OFFSET,
    SPLITS,
    SyntheticDataset,
    build_synthetic,
    synthetic_cars,
    synthetic_faces,
    synthetic_factory,
)
from unsup3d.data.synthetic.faces import (
    BROW_RAISE,
    BROW_TILT,
    CELEBAMASK_CLASSES,
    EMOTION_RANGES,
    EMOTIONS,
    MOUTH_GAP,
    SMILE_CURVE,
    FaceModel,
)
from unsup3d.data.synthetic.rng import uniforms
from unsup3d.data.synthetic.scene import (
    MAX_DEPTH,
    MIN_DEPTH,
    RANGES,
    Z_BACKGROUND,
    Z_RIM,
    Ranges,
    SceneParams,
)

__all__ = [
    "BROW_RAISE",
    "BROW_TILT",
    "CAR_CLASSES",
    "CAR_PARTS",
    "CELEBAMASK_CLASSES",
    "DATASET_NAMES",
    "DEFAULT_NUM_IMAGES",
    "EMOTIONS",
    "EMOTION_RANGES",
    "ITEM_KEYS",
    "MAX_DEPTH",
    "MIN_DEPTH",
    "MOUTH_GAP",
    "POOL_OFFSET",
    "RANGES",
    "SMILE_CURVE",
    "SPLITS",
    "Z_BACKGROUND",
    "Z_RIM",
    "CarModel",
    "FaceModel",
    "Ranges",
    "SceneParams",
    "SyntheticDataset",
    "build_synthetic",
    "synthetic_cars",
    "synthetic_factory",
    "synthetic_faces",
    "uniforms",
]
