"""Counter-based random numbers: SplitMix64, stable stream keys, order-free uniforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unsup3d.data.synthetic.rng import Draws, splitmix64, stream_key, uniforms


def test_splitmix64_known_answers():
    # SplitMix64 seeded with 0 (Vigna's reference): first outputs of next() = mix(k * golden)
    golden = np.uint64(0x9E3779B97F4A7C15)
    out = splitmix64(np.array([0, golden], dtype=np.uint64))
    assert [hex(int(v)) for v in out] == ["0xe220a8397b1dcdaf", "0x6e789e6aa1b965f4"]


def test_streams_and_uniforms_are_pinned():
    """The parameters of every synthetic image come from these; a change is a new dataset."""
    key = stream_key(0, "synthetic_faces", "identity", "train")
    assert hex(int(key)) == "0x7ea73cd589ae7d22"
    u = uniforms(key, [0, 7], 3)
    assert u.dtype == torch.float32
    assert (u * 2**24).long().tolist() == [
        [9232675, 11291457, 9449422],
        [3045349, 14660724, 9564527],
    ]


def test_an_entry_depends_only_on_key_counter_and_slot():
    key, other = stream_key("a"), stream_key("b")
    u = uniforms(key, [5, 2, 9], 6)
    assert torch.equal(uniforms(key, [9, 5], 6), u[[2, 0]])  # any order, any batch
    assert torch.equal(uniforms(key, [2], 3), u[1:2, :3])  # fewer slots: the first ones
    assert not torch.equal(uniforms(other, [5, 2, 9], 6), u)
    big = uniforms(key, np.arange(4096), 8)
    assert 0.0 <= float(big.min()) and float(big.max()) < 1.0
    assert abs(float(big.mean()) - 0.5) < 0.01
    assert torch.equal(torch.round(big * 2**24), big * 2**24)  # multiples of 2^-24, exact
    with pytest.raises(ValueError, match="non-negative"):
        uniforms(key, [-1], 2)


def test_draws_hand_out_consecutive_columns():
    u = torch.arange(12.0).reshape(2, 6) / 12
    d = Draws(u)
    assert torch.equal(d.take(2), u[:, :2]) and torch.equal(d.one(), u[:, 2])
    torch.testing.assert_close(d.uniform(1.0, 3.0), 1.0 + 2.0 * u[:, 3], rtol=0, atol=0)
    torch.testing.assert_close(d.signed(2), 2.0 * u[:, 4:] - 1.0, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="stream exhausted"):
        d.one()
