"""What the model-level analyses (``gradcam.py``, ``invariance.py``) share: test images from a
checkpoint's dataset and the Grad-CAM target layer of each encoder.

Target layer (ARCHITECTURE.md §3; reference_behaviour.md §7.3): the release's ``test_trainer.py``
took Grad-CAM on the depth/albedo down path's conv at index -4, the stride-2 conv from 8 x 8 to
4 x 4 at S = 64. Here, for every encoder (the depth/albedo ``DownPath`` or U-Net, and the
light/view trunks, which have the same stride-2 stages), the target is the **last convolution
before the bottleneck whose output is at least 4 x 4**: at S = 64 exactly the release's layer;
at S = 16 or 32 the conv that also maps 8 x 8 to 4 x 4 (later ones there give 2 x 2 or 1 x 1
maps, which Grad-CAM cannot localise with).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from unsup3d.errors import UserError
from unsup3d.networks import BOTTLENECK_SIZE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CamLayer:
    """A Grad-CAM target layer.

    Attributes:
        module: the conv module inside the encoder.
        name: its qualified name inside the model (e.g. ``depth_net.encoder.stages.3``).
        output_size: (h, w) of its output for the model's image size.
    """

    module: nn.Module
    name: str
    output_size: tuple[int, int]


def cam_layers(
    model: nn.Module, groups: Sequence[str], min_size: int = BOTTLENECK_SIZE
) -> dict[str, CamLayer]:
    """The Grad-CAM target layer of each group's encoder (module docstring).

    Args:
        model: an `unsup3d.model.InverseRenderer` (its ``nets()`` and ``image_size``).
        groups: encoder names (``depth``, ``albedo``, ``light``, ``view``).
        min_size: smallest output side accepted (4: the release's 8 -> 4 conv at S = 64).

    Returns:
        group -> `CamLayer`.
    """
    s = model.image_size
    nets = model.nets()
    names = {m: n for n, m in model.named_modules()}
    out: dict[str, CamLayer] = {}
    sizes: dict[nn.Module, tuple[int, int]] = {}  # conv -> output (h, w), filled by the hooks

    def record(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        sizes[module] = tuple(output.shape[-2:])

    for g in groups:
        encoder = nets[g].encoder
        bottleneck = getattr(encoder, "bottleneck", None)
        convs = [m for m in encoder.modules() if isinstance(m, nn.Conv2d) and m is not bottleneck]
        hooks = [m.register_forward_hook(record) for m in convs]
        try:
            param = next(encoder.parameters())
            with torch.no_grad():
                encoder(torch.zeros(1, 3, s, s, device=param.device, dtype=param.dtype))
        finally:
            for h in hooks:
                h.remove()
        ok = [m for m in convs if min(sizes[m]) >= min_size]
        if not ok:
            raise UserError(
                f"{g} encoder: no conv output is >= {min_size}x{min_size} at image size {s}; "
                "Grad-CAM needs a spatial map (use a model with image_size >= 16)"
            )
        layer = ok[-1]
        out[g] = CamLayer(layer, names[layer], sizes[layer])
    return out


def split_images(cfg, split: str, num_images: int, device: torch.device):
    """The first ``num_images`` images of a split of the checkpoint's dataset, in order.

    Args:
        cfg: the checkpoint's `Config`. split: ``test``, ``ood``, ... (`unsup3d.api.dataset_from_config`).
        num_images: how many (the split may have fewer: all are then used).

    Returns:
        images (N, 3, S, S) float32 in [0, 1] on ``device``, and their ids (list of str).
    """
    from unsup3d.api import dataset_from_config

    dataset = dataset_from_config(cfg, split)
    n = min(int(num_images), len(dataset))
    if n == 0:
        raise UserError(f"{cfg.data.name} split {split!r}: no images; check data.root and --split")
    items = [dataset[i] for i in range(n)]
    images = torch.stack([torch.as_tensor(it["image"], dtype=torch.float32) for it in items])
    ids = [str(it.get("image_id", i)) for i, it in enumerate(items)]
    return images.to(device), ids
