"""Backbone helpers: the "did the frozen backbone change?" check."""

import pytest
import torch

from classification import backbone as backbone_lib


def test_check_unchanged_detects_a_change(tiny_backbone):
    encoder = tiny_backbone()
    before = backbone_lib.snapshot(encoder)
    backbone_lib.check_unchanged(encoder, before)
    with torch.no_grad():
        encoder.bn.running_var[0] += 1e-7  # one buffer, a tiny amount
    with pytest.raises(RuntimeError, match=r"frozen backbone changed.*bn.running_var"):
        backbone_lib.check_unchanged(encoder, before)
