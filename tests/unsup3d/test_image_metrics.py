import math

import pytest
import torch

from unsup3d.image_metrics import psnr, thumbnail


def test_psnr_of_a_known_error():
    a = torch.zeros(2, 3, 4, 4)
    b = a.clone()
    b[0] += 0.1  # MSE 0.01 -> 20 dB
    b[1, :, :2] += 0.2  # half the pixels off by 0.2: MSE 0.02
    got = psnr(b, a)
    torch.testing.assert_close(got, torch.tensor([20.0, -10 * math.log10(0.02)]))
    assert psnr(a, a).isinf().all()
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, a[:, :2])


def test_thumbnail_keeps_block_means_and_loses_detail():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 3, 32, 32, generator=g)
    t = thumbnail(images, 8)
    assert t.shape == images.shape
    # Box down, bilinear up: the 8 x 8 box means are what the thumbnail keeps (a constant image
    # is its own thumbnail), and fine noise is mostly lost (PSNR against it is low).
    flat = torch.full((1, 3, 32, 32), 0.3)
    torch.testing.assert_close(thumbnail(flat, 8), flat)
    assert (psnr(t, images) < 15).all()
    smooth = torch.nn.functional.interpolate(images[:, :, ::8, ::8], size=32, mode="bilinear")
    assert (psnr(thumbnail(smooth, 8), smooth) > psnr(t, images) + 5).all()
    with pytest.raises(ValueError, match="not a multiple"):
        thumbnail(images[..., :30], 8)


def test_psnr_over_a_mask_ignores_the_other_pixels():
    a = torch.zeros(2, 3, 4, 4)
    b = a.clone()
    b[:, :, :, 0] = 0.5  # a mid-grey column (e.g. uncovered) ...
    b[:, :, :, 1:] += 0.1  # ... beside pixels off by 0.1
    mask = torch.ones(2, 4, 4)
    mask[:, :, 0] = 0
    mask[1] = 0
    got = psnr(b, a, mask)
    torch.testing.assert_close(got[0], torch.tensor(20.0))
    assert got[1].isnan()  # nothing to measure
    assert psnr(b, a)[0] < 20  # the grey column counts over the whole image
