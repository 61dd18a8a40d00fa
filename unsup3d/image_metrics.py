"""Image-quality measures of a reconstruction, with the reference a reconstruction must beat.

- `psnr`: per image, 10 log10(1 / MSE) for images in [0, 1], over all pixels or a mask's.
- `thumbnail`: the image shrunk to ``size`` x ``size`` by box averaging and scaled back up
  bilinearly: what a reconstruction that keeps only that much detail would look like.
  `run.py test` prints the reconstruction's PSNR beside the 8 x 8 thumbnail's, so a reader sees
  at once whether the model reconstructs more than a blur: over the whole image and over the
  pixels the reconstruction covers (the rest lie outside the canonical frame and are mid-grey).

Pure functions on tensors; per-image values are returned so callers average as they like.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def psnr(
    image: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """(B,) peak signal-to-noise ratio in dB of (B, C, H, W) images in [0, 1] (inf if equal).

    ``mask`` (B, H, W), if given, restricts the mean squared error to its pixels (NaN for an
    image whose mask is empty).
    """
    if image.shape != reference.shape or image.dim() != 4:
        raise ValueError(
            f"shapes differ or are not (B, C, H, W): {tuple(image.shape)}, {tuple(reference.shape)}"
        )
    err = ((image.double() - reference.double()) ** 2).mean(dim=1)
    if mask is None:
        mse = err.mean(dim=(1, 2))
    else:
        m = mask.to(err.dtype)
        mse = (err * m).sum(dim=(1, 2)) / m.sum(dim=(1, 2))
    return (-10.0 * mse.log10()).float()


def thumbnail(images: torch.Tensor, size: int = 8) -> torch.Tensor:
    """(B, C, H, W) -> the same shape: box-averaged to size x size, bilinear back up.

    H and W must be multiples of ``size`` (the box is exact, each output pixel the mean of an
    (H / size) x (W / size) block).
    """
    h, w = images.shape[-2:]
    if h % size or w % size:
        raise ValueError(f"image size {h}x{w} is not a multiple of the thumbnail size {size}")
    small = F.avg_pool2d(images, kernel_size=(h // size, w // size))
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
