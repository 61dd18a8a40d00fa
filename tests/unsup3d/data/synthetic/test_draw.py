"""Drawing primitives: exact symmetry of the canonical maps, windows that change nothing."""

from __future__ import annotations

import pytest
import torch

from unsup3d.data.synthetic import CELEBAMASK_CLASSES, draw, synthetic_cars, synthetic_faces

PART = {name: i for i, name in enumerate(CELEBAMASK_CLASSES)}


def _flip_parts(parts: torch.Tensor) -> torch.Tensor:
    """Mirror part labels left-right, exchanging the left and right part ids."""
    swap = torch.arange(len(CELEBAMASK_CLASSES))
    for a, b in (("l_eye", "r_eye"), ("l_brow", "r_brow"), ("l_ear", "r_ear")):
        swap[PART[a]], swap[PART[b]] = PART[b], PART[a]
    return swap[parts.flip(-1)]


def test_canonical_maps_are_left_right_symmetric():
    for maker in (synthetic_faces, synthetic_cars):
        for size in (16, 17):
            clean = maker("train", size, num_images=8, noise=0.0).generate_batch(range(8))
            assert torch.equal(clean["depth"], clean["depth"].flip(-1))
            assert torch.equal(clean["albedo"], clean["albedo"].flip(-1))
            ds = maker("train", size, num_images=8, noise=0.0)
            parts = ds.render(ds.sample_params(range(8)))["canon_mask"]
            if maker is synthetic_faces:
                assert torch.equal(parts, _flip_parts(parts))
            else:
                assert torch.equal(parts, parts.flip(-1))
            # the nuisances (albedo noise, background texture) break the albedo's symmetry only
            noisy = maker("train", size, num_images=8).generate_batch(range(8))
            assert torch.equal(noisy["depth"], clean["depth"])
            assert not torch.equal(noisy["albedo"], noisy["albedo"].flip(-1))


@pytest.mark.parametrize("maker", [synthetic_faces, synthetic_cars])
def test_windowed_painting_equals_painting_everywhere(maker, monkeypatch):
    """Parts are painted in windows for speed; each window holds its part's whole support."""
    ds = maker("train", 32, num_images=24, images_per_identity=1)
    p = ds.sample_params(range(24))
    if p.expression.shape[1]:  # faces: the expressions' extremes (mouth open, smile, brows)
        corners = torch.tensor(
            [[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, -1.0, -1.0], [1.0, 1.0, -1.0, 1.0]]
        )
        p.expression = corners.repeat(8, 1)
    colour = torch.full((24, 3), 0.5)
    windowed = ds.model.canonical(p, 32, colour)
    monkeypatch.setattr(draw.Canvas, "full_windows", True)
    everywhere = ds.model.canonical(p, 32, colour)
    for a, b in zip(windowed, everywhere):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_primitives():
    for size in (16, 17, 64):
        X, Y = draw.grid(size)
        assert torch.equal(X.flatten(), -X.flatten().flip(0)) and torch.equal(
            X.flatten(), Y.flatten()
        )
        assert float(X.min()) == -1.0 and float(X.max()) == 1.0
    t = torch.linspace(-1.5, 1.5, 31)
    assert torch.equal(draw.bump(t), draw.bump(-t)) and float(draw.bump(torch.tensor(0.0))) == 1.0
    assert bool((draw.bump(t)[t.abs() >= 1] == 0).all())
    palette = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.5, 0.0], [1.0, 1.0, 1.0]])
    ramp = draw.lerp_palette(palette, torch.tensor([0.0, 0.25, 0.5, 1.0, 1.5]))
    assert ramp.tolist() == [[0, 0, 0], [0.5, 0.25, 0], [1, 0.5, 0], [1, 1, 1], [1, 1, 1]]
    u = torch.tensor([[0.5, 0.5, 0.5], [1.0, 1.0, 0.0]])
    grey = draw.tinted_grey(u, (0.2, 0.4), 0.1)
    torch.testing.assert_close(grey, torch.tensor([[0.4, 0.4, 0.4], [0.65, 0.55, 0.6]]))
    torch.testing.assert_close(grey.mean(1), 0.2 + 0.4 * u[:, 0])  # the tint keeps the grey
