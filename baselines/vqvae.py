"""VQ-VAE, the paper's main baseline, as its release built it (``model.name: vqvae``).

Architecture (``reference_behaviour.md`` §7.5): the encoder is two 4x4 stride-2 convolutions
3 -> D -> D, each with BatchNorm and ReLU, then two residual blocks (ReLU, 3x3 conv, BatchNorm,
ReLU, 1x1 conv, plus the input), each followed by BatchNorm; the decoder mirrors it (two residual
blocks without inner BatchNorm, a BatchNorm between them, a 4x4 stride-2 transposed convolution
D -> D with BatchNorm and ReLU, one D -> 3, tanh). The codebook holds K vectors of size D. The
latent grid is S / 4 x S / 4 (16 x 16 at 64 px).

Loss (the release's definitions): MSE(recon, x) + vq_coef * VQ + commit_coef * commitment, where
VQ = mean over positions of || (e - sg[z_e])^2 ||_2 over channels and commitment the same with
the stop-gradient on e; the decoder sees z_e + sg[e - z_e] (straight-through). Parameter count:
19,199,491 with D = K = 512 (the paper's number), 12,724,195 with the release's D = 416, K = 512.

One deliberate difference: images are mapped to [-1, 1] for the encoder and as the target of the
tanh output (the release fed and compared [0, 1] images against a tanh output, wasting half of
its range). The feature is the quantised latent, flattened (D x S/4 x S/4), or average-pooled to
``feature_grid`` x ``feature_grid`` first. Codebook usage (perplexity, and the codes used and
unused in each batch) is logged with the other terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from unsup3d.api import SettingError, Settings, TrainableModel, setting


@dataclass(frozen=True)
class VQVAESettings(Settings):
    """Settings of the VQ-VAE baseline (``model.*`` with ``model.name: vqvae``)."""

    name: str = setting("vqvae", "model registry name")
    embedding_dim: int = setting(
        416,
        "D: channels of the latent grid and codebook vectors (release 416, paper count 512)",
        lo=1,
    )
    num_embeddings: int = setting(512, "K: codebook size (release and paper 512)", lo=2)
    vq_coef: float = setting(1.0, "weight of the codebook (VQ) term (release 1)", lo=0.0)
    commit_coef: float = setting(0.5, "weight of the commitment term (release 0.5)", lo=0.0)
    feature_grid: int = setting(
        0, "average-pool the quantised latent to g x g for the feature (0: full S/4 grid)", lo=0
    )

    def validate(self) -> None:
        if self.feature_grid and self.feature_grid > 64:
            raise SettingError("feature_grid", f"{self.feature_grid} is larger than any latent")


class _ResBlock(nn.Module):
    """x + conv1x1(relu([bn](conv3x3(relu(x)))))."""

    def __init__(self, channels: int, bn: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)]
        if bn:
            layers.append(nn.BatchNorm2d(channels))
        layers += [nn.ReLU(), nn.Conv2d(channels, channels, 1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def quantise(z: torch.Tensor, codebook: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest codebook vector of every latent position.

    Args:
        z: (B, D, h, w) encoder output. codebook: (K, D).

    Returns:
        (codes (B, h, w) int64, quantised (B, D, h, w) = codebook[codes], differentiable with
        respect to the codebook only).
    """
    b, d, h, w = z.shape
    flat = z.permute(0, 2, 3, 1).reshape(-1, d)
    dist = (
        flat.pow(2).sum(1, keepdim=True) - 2 * flat @ codebook.t() + codebook.pow(2).sum(1)[None, :]
    )
    codes = dist.argmin(1)
    quantised = codebook[codes].view(b, h, w, d).permute(0, 3, 1, 2)
    return codes.view(b, h, w), quantised


def codebook_usage(codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(perplexity of the code histogram, number of distinct codes) of a batch of codes."""
    p = torch.bincount(codes.flatten(), minlength=k).float()
    p = p / p.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return entropy.exp(), (p > 0).sum().float()


class VQVAE(TrainableModel):
    """The release's VQ_CVAE. Feature group ``latent``: the quantised latent.

    Args:
        settings: `VQVAESettings`. image_size: S (a multiple of 4).
    """

    Settings = VQVAESettings
    feature_groups = ("latent",)

    def __init__(self, settings: VQVAESettings, image_size: int) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {image_size}")
        self.settings, self.image_size = settings, image_size
        d, k = settings.embedding_dim, settings.num_embeddings
        self.encoder = nn.Sequential(
            nn.Conv2d(3, d, 4, stride=2, padding=1),
            nn.BatchNorm2d(d),
            nn.ReLU(),
            nn.Conv2d(d, d, 4, stride=2, padding=1),
            nn.BatchNorm2d(d),
            nn.ReLU(),
            _ResBlock(d, bn=True),
            nn.BatchNorm2d(d),
            _ResBlock(d, bn=True),
            nn.BatchNorm2d(d),
        )
        self.decoder = nn.Sequential(
            _ResBlock(d, bn=False),
            nn.BatchNorm2d(d),
            _ResBlock(d, bn=False),
            nn.ConvTranspose2d(d, d, 4, stride=2, padding=1),
            nn.BatchNorm2d(d),
            nn.ReLU(),
            nn.ConvTranspose2d(d, 3, 4, stride=2, padding=1),
        )
        self.codebook = nn.Parameter(torch.empty(k, d))
        # As the release: small codebook vectors and a matching small encoder output scale, so
        # the first assignments spread over the codebook.
        with torch.no_grad():
            self.codebook.normal_(0, 0.02).clamp_(-0.04, 0.04)
            self.encoder[-1].weight.fill_(1 / 40)

    def _encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z_e, codes, quantised) of images in [0, 1]."""
        self._check_images(images)
        z = self.encoder(images * 2 - 1)
        codes, quantised = quantise(z, self.codebook)
        return z, codes, quantised

    def training_terms(
        self, images: torch.Tensor, generator: torch.Generator, *, epoch: int, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """MSE + VQ + commitment (no noise, no schedule: validation uses the same terms)."""
        st = self.settings
        z, codes, e = self._encode(images)
        recon = torch.tanh(self.decoder(z + (e - z).detach()))
        mse = F.mse_loss(recon, images * 2 - 1)
        vq = (e - z.detach()).pow(2).norm(dim=1).mean()
        commit = (e.detach() - z).pow(2).norm(dim=1).mean()
        total = mse + st.vq_coef * vq + st.commit_coef * commit
        perplexity, used = codebook_usage(codes, st.num_embeddings)
        terms = {
            "mse": mse,
            "vq": vq,
            "commit": commit,
            "recon": mse,
            "perplexity": perplexity,
            "codes_used": used,
            "dead_codes": st.num_embeddings - used,
            "total": total,
        }
        return total, {k: v.detach() for k, v in terms.items()}

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) in [0, 1]: the decoder's image of the quantised latent."""
        _, _, e = self._encode(images)
        return (torch.tanh(self.decoder(e)) + 1) / 2

    def get_features(
        self, images: torch.Tensor, groups: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        groups = self._check_groups(groups)
        _, _, e = self._encode(images)
        if self.settings.feature_grid:
            e = F.adaptive_avg_pool2d(e, self.settings.feature_grid)
        return {"latent": e.flatten(1)} if groups else {}

    def image_grids(self, images: torch.Tensor) -> dict[str, Any]:
        _, codes, e = self._encode(images)
        recon = (torch.tanh(self.decoder(e)) + 1) / 2
        return {
            "images": {"input": images, "recon": recon},
            "histograms": {"codes": codes.flatten()},
        }
