"""Reading one .npz member without unpickling, memory-mapped when stored raw."""

from __future__ import annotations

import numpy as np

from unsup3d.data.npz import load_npz_array


def test_npz_member_is_memory_mapped_when_stored(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    np.savez(tmp_path / "x.npz", a=a, b=np.ones(3))
    m = load_npz_array(tmp_path / "x.npz", "a")
    assert isinstance(m, np.memmap) and np.array_equal(m, a)
    np.savez_compressed(tmp_path / "y.npz", a=a)
    assert np.array_equal(load_npz_array(tmp_path / "y.npz", "a"), a)
