"""Scene parameters: the light and view ranges of the training and out-of-distribution splits."""

from __future__ import annotations

import math

import torch

from unsup3d.data.synthetic import RANGES, synthetic_faces
from unsup3d.data.synthetic.rng import Draws, stream_key, uniforms
from unsup3d.data.synthetic.scene import sample_light, sample_view


def test_ood_light_and_view_lie_outside_the_training_ranges():
    n = 200
    train = synthetic_faces("train", 16, num_images=n).sample_params(range(n))
    ood = synthetic_faces("ood", 16, num_images=n).sample_params(range(n))
    lim = RANGES.light_dxy
    yaw = math.radians(RANGES.yaw_deg)
    assert float(train.light[:, 2:].abs().max()) <= lim
    assert float(train.view[:, 1].abs().max()) <= yaw
    assert bool((ood.light[:, 2:].abs().amax(1) > lim).all())
    assert bool((ood.view[:, 1].abs() > yaw).all())
    assert {True, False} == set((ood.view[:, 1] > 0).tolist())  # both directions
    light_only = synthetic_faces("ood_light", 16, num_images=n).sample_params(range(n))
    assert bool((light_only.light[:, 2:].abs().amax(1) > lim).all())
    assert float(light_only.view[:, 1].abs().max()) <= yaw
    view_only = synthetic_faces("ood_view", 16, num_images=n).sample_params(range(n))
    assert float(view_only.light[:, 2:].abs().max()) <= lim
    assert bool((view_only.view[:, 1].abs() > yaw).all())


def test_sampling_consumes_fixed_slots_and_stays_in_range():
    """Light and view always take 5 and 6 slots, so later draws do not depend on the split."""
    u = uniforms(stream_key("scene-test"), range(500), 11)
    for ood in (False, True):
        d = Draws(u)
        light, view = sample_light(d, ood, RANGES), sample_view(d, ood, RANGES)
        assert d.pos == 11 and light.shape == (500, 4) and view.shape == (500, 6)
        assert float(light[:, 0].min()) >= RANGES.ambient[0]
        assert float(light[:, 1].max()) <= RANGES.diffuse[1]
        assert bool((view[:, 5] == 0).all())  # tz
        roll = math.radians(RANGES.roll_deg)
        assert float(view[:, 2].abs().max()) <= roll
        tilt = torch.rad2deg(torch.atan(light[:, 2:].norm(dim=1)))  # light angle off the axis
        if ood:
            lo, hi = RANGES.ood_light_deg
            assert float(tilt.min()) >= lo - 1e-4 and float(tilt.max()) <= hi + 1e-4


def test_scene_params_select_and_clone():
    p = synthetic_faces("train", 16, num_images=6).sample_params(range(6))
    assert len(p) == 6 and len(p.select(slice(1, 4))) == 3
    sub = p.select(torch.tensor([True, False, True, False, False, True]))
    assert sub.identity.tolist() == p.identity[[0, 2, 5]].tolist()
    copy = p.clone()
    copy.light.zero_()
    assert not bool((p.light == 0).all())  # the clone owns its tensors
