"""FDAE: the factorized diffusion autoencoder (``model.name: fdae``).

Wu & Zheng, AAAI'24 (wuancong/FDAE @71e5081; facts in ``shared/design/peers_gdrae_fdae.md`` §2),
rewritten on our interface:

- Content/mask encoder (``cmfnet/content_mask_generator.py``): a torchvision ResNet-18 trunk
  (random init, fc removed) -> 512-d; content codes Linear 512 -> N x dc, each concept's code
  adjusted by its own Linear dc -> da; mask codes Linear 512 -> N x dm.
- Mask decoder (``cmfnet/generator.py::SeperateMaskGenerator``): each mask code alone through
  Linear dm -> w0 x (S/16)^2, four [GroupNorm, 2x upsample, 3x3 conv, GroupNorm, SiLU], a 3x3
  conv to 1; a softmax across the N concepts per pixel gives N masks.
- Condition map: per pixel, sum_n mask_n(h, w) x adjusted content code n -> (B, da, S, S), added
  to the U-Net's first (3 -> da) feature map before its da -> width convolution.
- Diffusion decoder: an ADM-style U-Net (``edm/unet.py``: time embedding, residual blocks with
  up/down sampling, multi-head attention at the given resolutions), the time input 250 log sigma;
  EDM preconditioning with sigma_data 0.5 (`edm_scalings`), sigma ~ log-normal(P_mean, P_std),
  the loss mean over pixels of (1/sigma^2 + 1/sigma_data^2)(D(x + sigma n) - x)^2 on images in
  [-1, 1]; the encoder sees the clean image.
- Regularisers: the content decorrelation (`content_decorrelation_loss`, weight 2.5e-5) and the
  mask entropy (`mask_entropy_loss`, weight 1e-4, no 1/N factor, as the code).
- Reconstruction: the deterministic Heun sampler of Karras et al. (``image_sample.sh``: 40
  steps, sigma 80 -> 0.002, rho 7), from noise drawn from a given generator.

Presets (`UNET_PRESETS`): ``paper`` is the published U-Net (192 channels, mult 1, 2, 3, 4, three
residual blocks, attention at 32, 16, 8 px, 64-channel heads, dropout 0.1, mask decoder
384...64), a GPU model; ``cpu`` a small U-Net and mask decoder that train on 2 cores; ``tiny``
the tests' 16 px model. The feature groups are the N content codes (before the adjust layer) and
the N mask codes, ``content_n`` and ``mask_n``, 80-d each (FDAE's 2N-group representation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from unsup3d.api import SettingError, Settings, TrainableModel, setting


class UNetPreset(NamedTuple):
    image_size: int  # the only image side the preset accepts, px
    channels: int  # U-Net base width
    mult: tuple[int, ...]  # width multipliers per resolution
    res_blocks: int  # residual blocks per resolution
    attention: tuple[int, ...]  # resolutions (px) with self-attention
    head_channels: int  # channels per attention head
    mask_widths: tuple[int, ...]  # mask decoder: first width, then one per 2x upsampling (4)


UNET_PRESETS: dict[str, UNetPreset] = {
    "paper": UNetPreset(64, 192, (1, 2, 3, 4), 3, (32, 16, 8), 64, (384, 384, 256, 128, 64)),
    "cpu": UNetPreset(64, 16, (1, 2, 4, 4), 1, (), 32, (32, 32, 16, 16, 8)),
    "tiny": UNetPreset(16, 16, (1, 2), 1, (8,), 16, (16, 16, 16, 16, 16)),
}


@dataclass(frozen=True)
class FDAESettings(Settings):
    """Settings of the FDAE baseline (``model.*`` with ``model.name: fdae``)."""

    name: str = setting("fdae", "model registry name")
    preset: Literal["paper", "cpu", "tiny"] = setting(
        "cpu", "U-Net and mask decoder size: paper (published, GPU), cpu (2 cores), tiny (tests)"
    )
    num_concepts: int = setting(
        6, "N concepts (code: 6 for Shapes3D / MPI3D, 2 for Cars3D)", lo=2, hi=32
    )
    content_dim: int = setting(80, "dc: content code size per concept (code 80)", lo=1)
    mask_dim: int = setting(80, "dm: mask code size per concept (code 80)", lo=1)
    adjust_dim: int = setting(
        80, "da: adjusted content code size = condition map channels (code 80)", lo=1
    )
    content_decorrelation_weight: float = setting(
        2.5e-5, "weight of the content decorrelation term (code 2.5e-5; 0 disables)", lo=0.0
    )
    mask_entropy_weight: float = setting(
        1e-4, "weight of the mask entropy term (code 1e-4, no 1/N factor; 0 disables)", lo=0.0
    )
    sigma_data: float = setting(0.5, "EDM sigma_data (code 0.5)", lo=0.0, lo_open=True)
    p_mean: float = setting(-1.2, "mean of log sigma in training (code -1.2)")
    p_std: float = setting(1.2, "std of log sigma in training (code 1.2)", lo=0.0, lo_open=True)
    dropout: float = setting(0.1, "U-Net dropout (code 0.1)", lo=0.0, hi=1.0, hi_open=True)
    sample_steps: int = setting(
        40, "Heun steps of the reconstruction sampler (image_sample.sh 40)", lo=1
    )
    sigma_min: float = setting(0.002, "sampler's last sigma (code 0.002)", lo=0.0, lo_open=True)
    sigma_max: float = setting(80.0, "sampler's first sigma (code 80)", lo=0.0, lo_open=True)
    rho: float = setting(7.0, "Karras schedule exponent (code 7)", lo=1.0)

    def validate(self) -> None:
        if self.sigma_min >= self.sigma_max:
            raise SettingError(
                "sigma_min",
                f"{self.sigma_min} must be below 'sigma_max' = {self.sigma_max}",
                related=("sigma_max",),
            )


# --------------------------------------------------------------------------------------------
# Pure pieces: EDM, the regularisers, the condition map
# --------------------------------------------------------------------------------------------


def edm_scalings(
    sigma: torch.Tensor, sigma_data: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EDM preconditioning (Karras et al. 2022, Table 1).

    Args:
        sigma: noise levels, any shape. sigma_data: the data std.

    Returns:
        (c_skip, c_out, c_in) = (sd^2 / (s^2 + sd^2), s sd / sqrt(s^2 + sd^2), 1 / sqrt(s^2 + sd^2)).
    """
    var = sigma**2 + sigma_data**2
    return sigma_data**2 / var, sigma * sigma_data / var.sqrt(), 1 / var.sqrt()


def edm_loss_weight(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """lambda(sigma) = 1 / sigma^2 + 1 / sigma_data^2 (the code's ``karras`` weighting)."""
    return sigma**-2 + sigma_data**-2


def karras_sigmas(
    n: int, sigma_min: float, sigma_max: float, rho: float, device=None
) -> torch.Tensor:
    """(n + 1,) the Karras schedule from sigma_max down to sigma_min, then 0."""
    ramp = torch.linspace(0, 1, n, device=device, dtype=torch.float64)
    inv = sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
    return torch.cat([inv**rho, inv.new_zeros(1)]).float()


def content_decorrelation_loss(content: torch.Tensor) -> torch.Tensor:
    """The code's L_CD on content codes (B, N, dc), before the adjust layer.

    Each concept's codes are centred over the batch and each sample's code l2-normalised; the
    inner products between concepts are summed over the batch and scaled by 1/N^2; the loss is
    the mean |.| over the N (N - 1) off-diagonal pairs.
    """
    n = content.shape[1]
    centred = content - content.mean(0, keepdim=True)
    unit = F.normalize(centred, dim=2) / n  # (B, N, dc)
    flat = unit.permute(1, 0, 2).reshape(n, -1)  # (N, B dc)
    gram = flat @ flat.t()  # (N, N)
    off = ~torch.eye(n, dtype=torch.bool, device=content.device)
    return gram.abs()[off].mean()


def mask_entropy_loss(masks: torch.Tensor) -> torch.Tensor:
    """Per-pixel entropy of the N-way masks (B, N, H, W), mean over batch and pixels."""
    return -(masks * torch.log(masks + 1e-20)).sum(1).mean()


def condition_map(adjusted: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """sum_n masks[:, n] x adjusted[:, n]: (B, N, da) and (B, N, H, W) -> (B, da, H, W)."""
    return torch.einsum("bnc,bnhw->bchw", adjusted, masks)


# --------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(32, channels), channels)


class MaskDecoder(nn.Module):
    """Each mask code (B, N, dm) alone -> one logit map; softmax over N -> (B, N, S, S)."""

    def __init__(self, dm: int, widths: Sequence[int], image_size: int) -> None:
        super().__init__()
        self.start = image_size // 16
        self.w0 = widths[0]
        self.fc = nn.Linear(dm, widths[0] * self.start**2)
        blocks = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            blocks += [
                _norm(cin),
                nn.Upsample(scale_factor=2),
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                _norm(cout),
                nn.SiLU(),
            ]
        self.blocks = nn.Sequential(*blocks, nn.Conv2d(widths[-1], 1, 3, padding=1))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        b, n, dm = codes.shape
        h = self.fc(codes.reshape(b * n, dm)).view(b * n, self.w0, self.start, self.start)
        logits = self.blocks(h)  # (B N, 1, S, S)
        return torch.softmax(logits.view(b, n, *logits.shape[2:]), dim=1)


class Codes(NamedTuple):
    content: torch.Tensor  # (B, N, dc) before the adjust layer
    adjusted: torch.Tensor  # (B, N, da)
    mask_code: torch.Tensor  # (B, N, dm)


class ContentMaskEncoder(nn.Module):
    """The code's ``ContentMaskGenerator``: images in [-1, 1] -> `Codes`; masks from mask codes."""

    def __init__(self, st: FDAESettings, mask_widths: Sequence[int], image_size: int) -> None:
        super().__init__()
        n = st.num_concepts
        self.n, self.dc, self.dm = n, st.content_dim, st.mask_dim
        resnet = torchvision.models.resnet18(weights=None)
        self.trunk = nn.Sequential(*list(resnet.children())[:-1])  # ... avgpool -> (B, 512, 1, 1)
        self.content = nn.Linear(512, n * st.content_dim)
        self.adjust = nn.ModuleList(nn.Linear(st.content_dim, st.adjust_dim) for _ in range(n))
        self.mask_codes = nn.Linear(512, n * st.mask_dim)
        self.mask_decoder = MaskDecoder(st.mask_dim, mask_widths, image_size)

    def forward(self, x: torch.Tensor) -> Codes:
        f = self.trunk(x).flatten(1)  # (B, 512)
        content = self.content(f).view(len(x), self.n, self.dc)
        adjusted = torch.stack([a(content[:, i]) for i, a in enumerate(self.adjust)], dim=1)
        return Codes(content, adjusted, self.mask_codes(f).view(len(x), self.n, self.dm))


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """ADM's sinusoidal embedding (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half
    )
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return F.pad(emb, (0, dim % 2))


class ResBlock(nn.Module):
    """ADM residual block with the time embedding added; ``resample`` 'up'/'down'/None."""

    def __init__(self, cin: int, cout: int, emb: int, dropout: float, resample=None) -> None:
        super().__init__()
        self.resample = resample
        self.in_norm, self.in_conv = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, cout)
        self.out_norm, self.drop = _norm(cout), nn.Dropout(dropout)
        self.out_conv = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        if self.resample == "up":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        if self.resample == "down":
            return F.avg_pool2d(x, 2)
        return x

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.in_norm(x))
        h = self.in_conv(self._resample(h))
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.out_conv(self.drop(F.silu(self.out_norm(h))))
        return self.skip(self._resample(x)) + h


class Attention(nn.Module):
    """Multi-head self-attention over pixels with a residual (ADM ``AttentionBlock``)."""

    def __init__(self, channels: int, head_channels: int) -> None:
        super().__init__()
        self.heads = max(1, channels // head_channels)
        self.norm = _norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).view(b, 3, self.heads, c // self.heads, h * w)
        q, k, v = (qkv[:, i].transpose(-1, -2) for i in range(3))  # (B, heads, HW, c/heads)
        out = F.scaled_dot_product_attention(q, k, v).transpose(-1, -2).reshape(b, c, h, w)
        return x + self.proj(out)


class UNet(nn.Module):
    """ADM-style U-Net F(x_in, c_noise, condition map) -> (B, 3, S, S).

    The first layer maps 3 -> da channels; the condition map (B, da, S, S) is added there, then
    a da -> width convolution starts the usual U-Net (the da feature is not a skip).
    """

    def __init__(self, p: UNetPreset, cond_channels: int, dropout: float) -> None:
        super().__init__()
        ch = p.channels
        emb = 4 * ch
        self.ch = ch
        self.time = nn.Sequential(nn.Linear(ch, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.cond_in = nn.Conv2d(3, cond_channels, 3, padding=1)
        self.conv_in = nn.Conv2d(cond_channels, ch, 3, padding=1)
        attention_at = {p.image_size // r for r in p.attention}  # downsampling factors
        self.down = nn.ModuleList()
        skips, cur, ds = [ch], ch, 1
        for level, m in enumerate(p.mult):
            for _ in range(p.res_blocks):
                layers = [ResBlock(cur, m * ch, emb, dropout)]
                cur = m * ch
                if ds in attention_at:
                    layers.append(Attention(cur, p.head_channels))
                self.down.append(nn.ModuleList(layers))
                skips.append(cur)
            if level < len(p.mult) - 1:
                self.down.append(nn.ModuleList([ResBlock(cur, cur, emb, dropout, "down")]))
                skips.append(cur)
                ds *= 2
        self.middle = nn.ModuleList(
            [
                ResBlock(cur, cur, emb, dropout),
                Attention(cur, p.head_channels),
                ResBlock(cur, cur, emb, dropout),
            ]
        )
        self.up = nn.ModuleList()
        for level, m in reversed(list(enumerate(p.mult))):
            for i in range(p.res_blocks + 1):
                layers = [ResBlock(cur + skips.pop(), m * ch, emb, dropout)]
                cur = m * ch
                if ds in attention_at:
                    layers.append(Attention(cur, p.head_channels))
                if level and i == p.res_blocks:
                    layers.append(ResBlock(cur, cur, emb, dropout, "up"))
                    ds //= 2
                self.up.append(nn.ModuleList(layers))
        self.out = nn.Sequential(_norm(cur), nn.SiLU(), nn.Conv2d(cur, 3, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        emb = self.time(timestep_embedding(c_noise, self.ch))
        h = self.conv_in(self.cond_in(x) + cond)
        hs = [h]
        for layers in self.down:
            for layer in layers:
                h = layer(h, emb)
            hs.append(h)
        for layer in self.middle:
            h = layer(h, emb)
        for layers in self.up:
            h = torch.cat([h, hs.pop()], dim=1)
            for layer in layers:
                h = layer(h, emb)
        return self.out(h)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class FDAE(TrainableModel):
    """FDAE. Feature groups ``content_0..N-1`` (before the adjust layer) and ``mask_0..N-1``.

    Args:
        settings: `FDAESettings`. image_size: S, the preset's.
    """

    Settings = FDAESettings
    feature_groups = tuple(f"content_{i}" for i in range(6)) + tuple(f"mask_{i}" for i in range(6))

    def __init__(self, settings: FDAESettings, image_size: int) -> None:
        super().__init__()
        p = UNET_PRESETS[settings.preset]
        if image_size != p.image_size:
            raise ValueError(
                f"data.image_size {image_size} does not match model.preset '{settings.preset}' "
                f"({p.image_size} px); set data.image_size: {p.image_size}"
            )
        self.settings, self.image_size = settings, image_size
        n = settings.num_concepts
        self.feature_groups = tuple(f"content_{i}" for i in range(n)) + tuple(
            f"mask_{i}" for i in range(n)
        )
        self.encoder = ContentMaskEncoder(settings, p.mask_widths, image_size)
        self.unet = UNet(p, settings.adjust_dim, settings.dropout)

    def make_optimizer(self, trainer) -> torch.optim.Optimizer:
        """RAdam (the code's optimiser) with the trainer's lr, betas and weight decay."""
        return torch.optim.RAdam(
            self.parameters(),
            lr=trainer.lr,
            betas=tuple(trainer.betas),
            weight_decay=trainer.weight_decay,
        )

    def encode(self, images: torch.Tensor) -> tuple[Codes, torch.Tensor]:
        """(`Codes`, masks (B, N, S, S)) of images (B, 3, S, S) in [0, 1]."""
        self._check_images(images)
        codes = self.encoder(images * 2 - 1)
        return codes, self.encoder.mask_decoder(codes.mask_code)

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """D(x; sigma) = c_skip x + c_out F(c_in x, 250 log sigma, cond); sigma (B,)."""
        c_skip, c_out, c_in = (
            c[:, None, None, None] for c in edm_scalings(sigma, self.settings.sigma_data)
        )
        f = self.unet(c_in * x, 250 * torch.log(sigma + 1e-44), cond)
        return c_skip * x + c_out * f

    def _terms(
        self, images: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        st = self.settings
        codes, masks = self.encode(images)
        cond = condition_map(codes.adjusted, masks)
        x = images * 2 - 1
        kw = {"generator": generator, "device": x.device, "dtype": x.dtype}
        sigma = (st.p_mean + st.p_std * torch.randn(len(x), **kw)).exp()
        noise = torch.randn(x.shape, **kw)
        denoised = self.denoise(x + sigma[:, None, None, None] * noise, sigma, cond)
        err = (denoised - x) ** 2
        weight = edm_loss_weight(sigma, st.sigma_data)[:, None, None, None]
        recon = (weight * err).mean()
        cd = content_decorrelation_loss(codes.content)
        me = mask_entropy_loss(masks)
        total = recon + st.content_decorrelation_weight * cd + st.mask_entropy_weight * me
        terms = {
            "recon": recon,
            "mse": err.mean(),
            "content_decorrelation": cd,
            "mask_entropy": me,
            "total": total,
        }
        return total, {k: v.detach() for k, v in terms.items()}

    def training_terms(
        self, images: torch.Tensor, generator: torch.Generator, *, epoch: int, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._terms(images, generator)

    def validation_terms(
        self, images: torch.Tensor, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        return self._terms(images, generator)[1]

    @torch.no_grad()
    def sample(
        self, cond: torch.Tensor, generator: torch.Generator, steps: int | None = None
    ) -> torch.Tensor:
        """Deterministic Heun sampling (Karras et al. Alg. 1, no churn) given a condition map.

        Args:
            cond: (B, da, S, S). generator: the source of the initial noise. steps: Heun steps
                (default ``sample_steps``).

        Returns:
            (B, 3, S, S) images in [0, 1].
        """
        st = self.settings
        sigmas = karras_sigmas(
            steps or st.sample_steps, st.sigma_min, st.sigma_max, st.rho, cond.device
        )
        shape = (len(cond), 3, self.image_size, self.image_size)
        x = torch.randn(shape, generator=generator, device=cond.device, dtype=cond.dtype)
        x = x * sigmas[0]

        def slope(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            denoised = self.denoise(x, s.expand(len(x)), cond).clamp(-1, 1)
            return (x - denoised) / s

        for s, s_next in zip(sigmas[:-1], sigmas[1:]):
            d = slope(x, s)
            x_next = x + (s_next - s) * d
            if s_next > 0:
                x_next = x + (s_next - s) * (d + slope(x_next, s_next)) / 2
            x = x_next
        return (x.clamp(-1, 1) + 1) / 2

    def _generator(self, like: torch.Tensor) -> torch.Generator:
        return torch.Generator(device=like.device).manual_seed(0)

    def reconstruct(self, images: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """(B, 3, S, S) in [0, 1]: sampled from the images' condition maps, fixed noise."""
        codes, masks = self.encode(images)
        return self.sample(condition_map(codes.adjusted, masks), self._generator(images), steps)

    def swap(
        self, a: torch.Tensor, b: torch.Tensor, concept: int, part: Literal["content", "mask"]
    ) -> torch.Tensor:
        """Decode images ``a`` with concept ``concept``'s content (or mask) code taken from
        ``b`` (same batch size), the code's ``swap_info`` editing; (B, 3, S, S) in [0, 1]."""
        ca, _ = self.encode(a)
        cb, _ = self.encode(b)
        adjusted, mask_code = ca.adjusted.clone(), ca.mask_code.clone()
        if part == "content":
            adjusted[:, concept] = cb.adjusted[:, concept]
        else:
            mask_code[:, concept] = cb.mask_code[:, concept]
        masks = self.encoder.mask_decoder(mask_code)
        return self.sample(condition_map(adjusted, masks), self._generator(a))

    def get_features(
        self, images: torch.Tensor, groups: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        groups = self._check_groups(groups)
        if not groups:
            return {}
        self._check_images(images)
        codes = self.encoder(images * 2 - 1)
        out = {}
        for g in groups:
            kind, i = g.split("_")
            out[g] = (codes.content if kind == "content" else codes.mask_code)[:, int(i)]
        return out

    def image_grids(self, images: torch.Tensor) -> dict[str, Any]:
        codes, masks = self.encode(images)
        recon = self.sample(condition_map(codes.adjusted, masks), self._generator(images))
        grids = {"input": images, "recon": recon}
        for i in range(masks.shape[1]):
            grids[f"mask_{i}"] = masks[:, i : i + 1].expand(-1, 3, -1, -1)
        return {"images": grids, "histograms": {"content": codes.content.flatten()}}
