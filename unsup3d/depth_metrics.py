"""Depth-quality metrics against ground truth, as in unsup3d's synthetic-face evaluation.

- `scale_invariant_depth_error` (SIDE): per image, the masked standard deviation of the log-depth
  difference, sqrt(mean_m (delta - mean_m delta)^2) with delta = log d_pred - log d_gt. Invariant
  to a global scale of either depth map, so every constant prediction scores the same: the
  masked standard deviation of log d_gt (`constant_depth_side`, the best constant's error).
- `normal_angle_deviation` (MAD): per image, the masked mean angle in degrees between predicted
  and ground-truth unit normals.
- `log_depth_fit`: per image, the Pearson correlation of predicted and true log depth and the
  least-squares slope of the former on the latter (the relief scale: 1 right, 2 twice too deep,
  0 flat): what SIDE mixes, shape and depth scale, told apart.
- `erode_mask`: unsup3d's 1-pixel erosion (3x3 average > 0.99) of a coverage mask.
- `evaluation_masks`: the pixels both are measured on: ``scene`` (every pixel the ground truth
  and the prediction cover: unsup3d's rule taken literally; its synthetic faces have ground-truth
  depth on the face only, ours also on the background wall, whose step to the object is easy to
  get right) and, given part labels, ``object`` (the labelled object only: the analogue of
  unsup3d's face-only ground truth, and the stricter measure of the object's relief).

Pure functions on tensors; per-image values are returned so callers average as they like
(unsup3d reports the mean and standard deviation over the test set).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

EPS = 1e-7


def erode_mask(mask: torch.Tensor) -> torch.Tensor:
    """Erode a (B, H, W) mask by one pixel: 3x3 average (zero-padded) > 0.99.

    Returns:
        (B, H, W) float mask in {0, 1}.
    """
    avg = F.avg_pool2d(mask[:, None].float(), 3, stride=1, padding=1)[:, 0]
    return (avg > 0.99).to(mask.dtype if mask.is_floating_point() else torch.float32)


def evaluation_masks(
    depth_pred: torch.Tensor,
    depth_gt: torch.Tensor,
    background_depth: float,
    parts: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Eroded evaluation masks for depth maps in the same view.

    Args:
        depth_pred, depth_gt: (B, H, W); pixels no surface covers hold ``background_depth``
            (or more).
        background_depth: the renderer's background value (``Renderer.depth_hi``).
        parts: optional (B, H, W) part labels of the ground truth, 0 = background.

    Returns:
        ``{"scene": mask}`` and, with ``parts``, ``"object"``; (B, H, W) float {0, 1} masks.
    """
    covered_pred = erode_mask((depth_pred < background_depth).float())
    covered_gt = depth_gt < background_depth
    masks = {"scene": erode_mask(covered_gt.float()) * covered_pred}
    if parts is not None:
        masks["object"] = erode_mask((covered_gt & (parts != 0)).float()) * covered_pred
    return masks


def _check(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> None:
    if pred.shape != gt.shape or mask.shape != pred.shape[:3]:
        raise ValueError(
            f"shapes differ: pred {tuple(pred.shape)}, gt {tuple(gt.shape)}, mask {tuple(mask.shape)}"
        )


def scale_invariant_depth_error(
    depth_pred: torch.Tensor, depth_gt: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Scale-invariant depth error per image.

    Args:
        depth_pred, depth_gt: (B, H, W) positive depth in the same view.
        mask: (B, H, W) pixels to evaluate (bool or {0, 1}); images with an empty mask get NaN.

    Returns:
        (B,) sqrt(masked mean of (delta - masked mean delta)^2), delta = log pred - log gt.
    """
    _check(depth_pred, depth_gt, mask)
    m = mask.to(depth_pred.dtype)
    n = m.sum(dim=(1, 2))
    delta = (depth_pred.log() - depth_gt.log()) * m
    mean = delta.sum(dim=(1, 2)) / n
    var = (((delta - mean[:, None, None]) * m) ** 2).sum(dim=(1, 2)) / n
    return var.clamp(min=0).sqrt()


def constant_depth_side(depth_gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """SIDE of any constant depth map (all constants score the same: the best constant).

    Args:
        depth_gt: (B, H, W). mask: (B, H, W).

    Returns:
        (B,) the masked standard deviation of log depth_gt.
    """
    return scale_invariant_depth_error(torch.ones_like(depth_gt), depth_gt, mask)


def log_depth_fit(
    depth_pred: torch.Tensor, depth_gt: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image fit of predicted on true log depth over the mask.

    Args:
        depth_pred, depth_gt: (B, H, W) positive depth in the same view. mask: (B, H, W).

    Returns:
        (correlation, relief scale), each (B,): the Pearson correlation of the two log depths and
        the least-squares slope of log pred on log gt. NaN where the mask is empty or the truth
        is constant.
    """
    _check(depth_pred, depth_gt, mask)
    m = mask.to(depth_pred.dtype)
    n = m.sum(dim=(1, 2))[:, None, None]
    a, b = depth_pred.log(), depth_gt.log()
    a = a - (a * m).sum(dim=(1, 2), keepdim=True) / n
    b = b - (b * m).sum(dim=(1, 2), keepdim=True) / n
    cov = (a * b * m).sum(dim=(1, 2))
    var_a, var_b = (a**2 * m).sum(dim=(1, 2)), (b**2 * m).sum(dim=(1, 2))
    return cov / (var_a * var_b).sqrt(), cov / var_b


def normal_angle_deviation(
    normal_pred: torch.Tensor, normal_gt: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean angle deviation of normals per image, in degrees.

    Args:
        normal_pred, normal_gt: (B, H, W, 3) unit normals in the same frame.
        mask: (B, H, W) pixels to evaluate; images with an empty mask get NaN.

    Returns:
        (B,) masked mean of acos(clamp(n_pred . n_gt, -1, 1)) in degrees.
    """
    _check(normal_pred, normal_gt, mask)
    m = mask.to(normal_pred.dtype)
    angle = (normal_pred * normal_gt).sum(-1).clamp(-1.0, 1.0).acos() * (180.0 / math.pi)
    return (angle * m).sum(dim=(1, 2)) / m.sum(dim=(1, 2))
