"""One scene render: a synthetic image's ground-truth scene, rendered through the model's path
(`InverseRenderer.render`), gives the generator's image (`Renderer.render_scene` both ways)."""

from __future__ import annotations

import pytest
import torch

from unsup3d.data.synthetic import synthetic_cars, synthetic_faces
from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.renderer import Renderer


@pytest.mark.parametrize("make", [synthetic_faces, synthetic_cars], ids=["faces", "cars"])
def test_ground_truth_scene_through_the_model_is_the_generated_image(make):
    size = 32
    items = make("test", size, num_images=6).generate_batch(list(range(6)))
    model = InverseRenderer(ModelSettings(preset="tiny", border_width=0), Renderer(size))
    out = model.render(items["depth"], items["albedo"], items["light"], items["view"])
    # Same geometry: the depth in the view and the covered pixels are the generator's.
    torch.testing.assert_close(out.recon_depth, items["view_depth"], rtol=0, atol=1e-6)
    assert torch.equal(out.recon_covered, items["view_depth"] < model.renderer.depth_hi)
    # Same shaded image wherever the model's mask keeps a pixel whose bilinear footprint lies on
    # the surface (the model samples in [-1, 1] and the generator in [0, 1]: they differ only
    # where zero padding enters, at the silhouette) and the generator did not clip to [0, 1].
    inner = out.mask.bool() & (
        torch.nn.functional.max_pool2d((~out.mask.bool()).float()[:, None], 3, 1, 1)[:, 0] == 0
    )
    keep = inner[:, None].expand_as(out.recon_image) & (items["image"] < 1) & (items["image"] > 0)
    assert keep.sum() > 0.3 * out.recon_image.numel()
    torch.testing.assert_close(out.recon_image[keep], items["image"][keep], rtol=0, atol=2e-6)
