"""`unsup3d.visuals`: the image grids and histograms the trainer logs and run.py test saves."""

import torch

from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.renderer import Renderer
from unsup3d.visuals import visuals


def test_grids_are_images_in_0_1_and_histograms_cover_light_and_view():
    torch.manual_seed(0)
    model = InverseRenderer(ModelSettings(preset="tiny"), Renderer(16)).eval()
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    out = visuals(model, images)
    expected = {
        "input",
        "recon",
        "recon_flip",
        "canon_albedo",
        "canon_shading",
        "canon_image",
        "canon_depth",
        "canon_normal",
        "recon_depth",
        "relit_left",
        "relit_right",
        "view_left",
        "view_right",
    }
    assert set(out["images"]) == expected
    for name, grid in out["images"].items():
        assert grid.shape == (3, 3, 16, 16), name
        if name not in (
            "recon",
            "recon_flip",
            "canon_image",
            "canon_shading",
            "relit_left",
            "relit_right",
        ):
            assert grid.min() >= 0 and grid.max() <= 1, name  # the shaded ones are unclamped
    assert torch.equal(out["images"]["input"], images)
    # Relit from the left and from the right: the same albedo under two different lights.
    assert not torch.allclose(out["images"]["relit_left"], out["images"]["relit_right"])
    assert {"light_ambient", "light_dx", "view_ry", "canon_depth"} <= set(out["histograms"])
    torch.testing.assert_close(out["histograms"]["view_ry"], out["output"].view[:, 1])
