"""MPI3D real-complex: the memory-mapped grid."""

from __future__ import annotations

import numpy as np
import pytest

from unsup3d.data.base import grid_factors
from unsup3d.data.mpi3d import MPI3D
from unsup3d.errors import UserError


def test_mpi3d_grid_order(mpi3d_file, make, check_factor_item):
    ds = MPI3D(mpi3d_file, "all", 16, factor_sizes=make.mpi3d_sizes)
    assert len(ds) == 16 and isinstance(ds.images, np.memmap)
    item = ds[13]
    check_factor_item(item, 16, 7)
    assert (
        item["factors"].tolist()
        == grid_factors(make.mpi3d_sizes)[13].tolist()
        == [1, 1, 0, 0, 0, 1, 0]
    )
    assert round(float(item["image"][0, 0, 0]) * 255) == 13 * 15
    with pytest.raises(
        UserError, match=r"16 images but the factor grid \[4, 4, 2, 3, 3, 40, 40\] has 460800"
    ):
        MPI3D(mpi3d_file.parent, "all", 16)
    np.savez(mpi3d_file, imgs=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(UserError, match=r"no 'images' array \(keys: imgs\); expected MPI3D's"):
        MPI3D(mpi3d_file, "all", 16)
