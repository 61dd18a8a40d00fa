"""β-VAE as the paper's release configured it (``model.name: betavae``); its code never ran it.

Architecture (``reference_behaviour.md`` §7.5, the PyTorch-VAE ``BetaVAE``): five 3x3 stride-2
convolutions 3 -> 32 -> 64 -> 128 -> 256 -> 512, each with BatchNorm and LeakyReLU; linear heads
for the posterior mean and log-variance from the flattened 512 x (S/32)^2 map; latent 512; the
decoder a linear layer back to 512 x (S/32)^2, four 3x3 stride-2 transposed convolutions
(BatchNorm, LeakyReLU) back to 32 channels, one more 32 -> 32 upsampling with BatchNorm and
LeakyReLU, a 3x3 convolution to 3 channels and tanh. 15,741,027 parameters at 128 px (the
release's size; the heads grow with (S/32)^2). Widths and latent size are config values.

Loss (on images in [-1, 1]): MSE(recon, x) + KL term, the KL of the posterior to N(0, I) summed
over the latent, averaged over the batch:

- ``objective: capacity`` (Burgess et al., the release's config): gamma * kld_weight * |KL - C|,
  C rising linearly from 0 to ``max_capacity`` over ``capacity_steps`` training steps;
- ``objective: beta`` (Higgins et al.): beta * kld_weight * KL.

The feature is the posterior mean. Validation draws its noise from the generator the trainer
seeds per batch, so the validation loss is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from unsup3d.api import SettingError, Settings, TrainableModel, setting


@dataclass(frozen=True)
class BetaVAESettings(Settings):
    """Settings of the β-VAE baseline (``model.*`` with ``model.name: betavae``)."""

    name: str = setting("betavae", "model registry name")
    hidden_dims: list[int] = setting(
        [32, 64, 128, 256, 512], "encoder widths, one stride-2 stage each (release 32...512)"
    )
    latent_dim: int = setting(512, "latent size (release 512)", lo=1)
    objective: Literal["capacity", "beta"] = setting(
        "capacity", "capacity: Burgess |KL - C| (release config); beta: Higgins beta * KL"
    )
    kld_weight: float = setting(2.5e-4, "scale of the KL term (release 2.5e-4)", lo=0.0)
    gamma: float = setting(10.0, "capacity objective's weight (release 10)", lo=0.0)
    max_capacity: float = setting(25.0, "capacity C reached at the end of the ramp, nats", lo=0.0)
    capacity_steps: int = setting(10000, "training steps over which C rises to max", lo=1)
    beta: float = setting(4.0, "beta objective's weight", lo=0.0)

    def validate(self) -> None:
        if not self.hidden_dims or any(w < 1 for w in self.hidden_dims):
            raise SettingError("hidden_dims", f"{self.hidden_dims} must be positive widths")


def _stage(cin: int, cout: int, up: bool) -> nn.Sequential:
    conv = (
        nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
        if up
        else nn.Conv2d(cin, cout, 3, stride=2, padding=1)
    )
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.LeakyReLU())


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over the latent, mean over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()


class BetaVAE(TrainableModel):
    """The release's β-VAE. Feature group ``latent``: the posterior mean.

    Args:
        settings: `BetaVAESettings`. image_size: S (a multiple of 2^len(hidden_dims)).
    """

    Settings = BetaVAESettings
    feature_groups = ("latent",)

    def __init__(self, settings: BetaVAESettings, image_size: int) -> None:
        super().__init__()
        dims = list(settings.hidden_dims)
        factor = 2 ** len(dims)
        if image_size % factor:
            raise ValueError(
                f"image_size must be a multiple of {factor} (one halving per hidden_dims entry), got {image_size}"
            )
        self.settings, self.image_size = settings, image_size
        self.grid = image_size // factor
        flat = dims[-1] * self.grid**2
        self.encoder = nn.Sequential(
            *(_stage(cin, cout, up=False) for cin, cout in zip([3, *dims[:-1]], dims))
        )
        self.fc_mu = nn.Linear(flat, settings.latent_dim)
        self.fc_logvar = nn.Linear(flat, settings.latent_dim)
        self.decoder_input = nn.Linear(settings.latent_dim, flat)
        rev = dims[::-1]
        self.decoder = nn.Sequential(
            *(_stage(cin, cout, up=True) for cin, cout in zip(rev[:-1], rev[1:])),
            _stage(rev[-1], rev[-1], up=True),
            nn.Conv2d(rev[-1], 3, 3, padding=1),
            nn.Tanh(),
        )

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each (B, latent_dim), of images in [0, 1]."""
        self._check_images(images)
        h = self.encoder(images * 2 - 1).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, 3, S, S) in [-1, 1]."""
        h = self.decoder_input(z).view(len(z), self.settings.hidden_dims[-1], self.grid, self.grid)
        return self.decoder(h)

    def capacity(self, step: int) -> float:
        """C at training step ``step``: linear from 0 to max_capacity over capacity_steps."""
        st = self.settings
        return st.max_capacity * min(1.0, step / st.capacity_steps)

    def training_terms(
        self, images: torch.Tensor, generator: torch.Generator, *, epoch: int, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """MSE + the KL term; the posterior noise from ``generator``, C from ``step``."""
        st = self.settings
        mu, logvar = self.posterior(images)
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        recon = self.decode(mu + noise * (0.5 * logvar).exp())
        mse = F.mse_loss(recon, images * 2 - 1)
        kl = kl_to_standard_normal(mu, logvar)
        if st.objective == "capacity":
            total = mse + st.gamma * st.kld_weight * (kl - self.capacity(step)).abs()
        else:
            total = mse + st.beta * st.kld_weight * kl
        terms = {"mse": mse, "kl": kl, "recon": mse, "total": total}
        return total, {k: v.detach() for k, v in terms.items()}

    def validation_terms(
        self, images: torch.Tensor, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        # The capacity at the end of the ramp: the validation loss does not move with the step.
        return self.training_terms(images, generator, epoch=0, step=self.settings.capacity_steps)[1]

    def get_features(
        self, images: torch.Tensor, groups: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        groups = self._check_groups(groups)
        return {"latent": self.posterior(images)[0]} if groups else {}

    def image_grids(self, images: torch.Tensor) -> dict[str, Any]:
        mu, logvar = self.posterior(images)
        recon = (self.decode(mu) + 1) / 2  # the posterior mean's reconstruction
        return {
            "images": {"input": images, "recon": recon},
            "histograms": {"posterior_mean": mu.flatten(), "posterior_logvar": logvar.flatten()},
        }
