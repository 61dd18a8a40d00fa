"""gdrae: geometric inductive biases with an injective flow decoder (``model.name: gdrae``).

Pan et al., AAAI'23 (PanZiqiAI/gdrae @22bcdd4, ``gdrae-images/``; facts in
``shared/design/peers_gdrae_fdae.md`` §1), rewritten on our interface:

- Encoder: stride-2 4x4 convolutions (``enc_ncs``: 32, 32, 64, 64 at 64 px), a 4x4 valid
  convolution to ``enc_hidden`` (256: the code's ``Encoder64x64x3`` / ``...Complex``; 128 its
  ``...Simple``) and a 1x1 convolution to ``nz``, ReLU between. The posterior std is fixed at
  ``sigma``: z = mu + sigma * eps; the representation is mu.
- Decoder: a learnable scalar log-capacity c, the flow decoder on e^c * z, a sigmoid; the first
  3 (``grayscale``: 1) of its 4 output channels are the image. The flow decoder is injective:
  a fixed orthogonal 1x1 convolution embeds the code into ``ncs[0]/2 x init_size^2`` values and
  an all-zero half is appended; then per resolution a fixed orthogonal 1x1 "dimension increase"
  and a 2x unsqueeze, and ``middle_ns_flows`` flows (a fixed orthogonal 1x1 convolution and an
  additive coupling); a last fixed orthogonal 1x1 convolution. Every 1x1 matrix is a random
  orthogonal buffer (QR), never trained; the only trained weights are one transposed
  convolution per coupling. `FlowDecoder.inverse` recovers the code from the full output.
- Singular-value predictor: MLP nz -> 1024 -> 1024 -> nz - 1 on e^c * z; the last log singular
  value is minus the sum of the others, so the predicted singular values multiply to 1.

Objective (the code's ``_train_step``; every term times its ``lambda_*``):

- ``recon``: BCE with logits, summed over pixels, averaged over the batch;
- ``kld``: the "uni" prior, mean over the batch of sum_d relu(|mu_d| - ``random_uni_radius``), a
  hinge keeping mu in the box (not a Gaussian KL);
- ``jacob_sn``: at codes z ~ U[-r, r]^nz, power iteration (``sn_power`` rounds) on
  J diag(1/s), J the Jacobian of sigmoid(flow(e^c z)) with respect to e^c z and s the predicted
  singular values; the estimate is <J v_k, J v_{k-1}> (~ sigma_max^2, as the code) and the term
  nanmean(log(estimate)^2), pushing J towards orthogonal columns of norms s. The sigmoid's
  derivative is held constant in the penalty's gradient, as the code's linearised transpose;
- ``jacob_sv``: the entropy of softmax(log s) over the latent dims, batch mean;
- ``norm_capacity``: c itself (linear; the README's ``lambda_norm_logcap`` spells its weight);
- ``norm_sv``: mean(s^2) at the random codes.

Cost: the Jacobian term takes ``sn_power`` vector-Jacobian products and as many double
backwards through the decoder, about 3 + 4 x ``sn_power`` decoder passes per random code
against 3 for the reconstruction; ``jacob_every`` k > 1 computes it (and the singular-value
terms) on every k-th training step only and ``jacob_batch`` on fewer random codes, each cutting
that part of the step time in proportion.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from unsup3d.api import SettingError, Settings, TrainableModel, UserError, setting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GDRAESettings(Settings):
    """Settings of the gdrae baseline (``model.*`` with ``model.name: gdrae``)."""

    name: str = setting("gdrae", "model registry name")
    nz: int = setting(10, "latent dims (code 10)", lo=2)
    grayscale: bool = setting(
        False, "model the luminance only (the code's dSprites / faces / NORB runs are 1-channel)"
    )
    enc_ncs: list[int] = setting(
        [32, 32, 64, 64], "encoder widths, one 4x4 stride-2 conv each (code 32, 32, 64, 64)"
    )
    enc_hidden: int = setting(
        256, "width of the encoder's 4x4 valid conv (code 256 RGB / faces, 128 dSprites)", lo=1
    )
    init_size: int = setting(4, "flow decoder's first resolution, px (code 4)", lo=1)
    ncs: list[int] = setting(
        [128, 64, 32, 16, 4], "flow decoder channels per resolution (code 128, 64, 32, 16, 4)"
    )
    hidden_ncs: list[int] = setting(
        [256, 128, 64, 32, 16], "coupling widths per resolution (code 256, 128, 64, 32, 16)"
    )
    middle_ns_flows: list[int] = setting(
        [1, 1, 1, 1], "flows per upsampled resolution (code 1, 1, 1, 1)"
    )
    sigma: float = setting(
        0.01, "fixed posterior std (README image command 0.01)", lo=0.0, lo_open=True
    )
    random_uni_radius: float = setting(
        1.0,
        "half-width r of the code box [-r, r]^nz of the prior hinge and the random codes",
        lo=0.0,
        lo_open=True,
    )
    lambda_recon: float = setting(1.0, "weight of the BCE reconstruction (code 1)", lo=0.0)
    lambda_kld: float = setting(1000.0, "weight of the uniform-box hinge (code 1000)", lo=0.0)
    lambda_jacob_sn: float = setting(
        1000.0, "weight of the Jacobian spectral-norm penalty (code 1000)", lo=0.0
    )
    lambda_jacob_sv: float = setting(
        0.01, "weight of the singular-value entropy (README 0.01)", lo=0.0
    )
    lambda_norm_capacity: float = setting(10.0, "weight of the log-capacity (code 10)", lo=0.0)
    lambda_norm_logcap: float | None = setting(
        None,
        "the README's spelling of lambda_norm_capacity (the original ignored it); wins when set",
        lo=0.0,
    )
    lambda_norm_sv: float = setting(0.01, "weight of mean(s^2) (README 0.01)", lo=0.0)
    sn_power: int = setting(5, "power-iteration rounds of the Jacobian term (code 5)", lo=1, hi=100)
    jacob_every: int = setting(
        1, "compute the Jacobian and singular-value terms every k training steps (1: always)", lo=1
    )
    jacob_batch: int = setting(
        0, "random codes per Jacobian term (0: the batch size, as the code)", lo=0
    )

    def validate(self) -> None:
        for key in ("enc_ncs", "ncs", "hidden_ncs", "middle_ns_flows"):
            if not getattr(self, key) or min(getattr(self, key)) < 1:
                raise SettingError(
                    key, f"{getattr(self, key)} must be a non-empty list of positive ints"
                )
        if len(self.hidden_ncs) != len(self.ncs) or len(self.middle_ns_flows) != len(self.ncs) - 1:
            raise SettingError(
                "hidden_ncs",
                f"needs one entry per 'ncs' entry ({len(self.ncs)}) and 'middle_ns_flows' one "
                f"fewer, got {len(self.hidden_ncs)} and {len(self.middle_ns_flows)}",
                related=("ncs", "middle_ns_flows"),
            )
        if self.ncs[0] % 2 or self.ncs[0] <= 2 * self.nz:
            raise SettingError(
                "ncs",
                f"ncs[0] = {self.ncs[0]} must be even and > 2 * 'nz' = {2 * self.nz}",
                related=("nz",),
            )
        for a, b in zip(self.ncs, self.ncs[1:]):
            if 4 * b < a or b % 2:
                raise SettingError(
                    "ncs", f"each next entry must be even and >= 1/4 of the last, got {a} -> {b}"
                )
        if self.ncs[-1] < self.channels:
            raise SettingError(
                "ncs", f"ncs[-1] = {self.ncs[-1]} must hold the {self.channels} image channels"
            )
        if (
            self.lambda_norm_logcap is not None
            and self.lambda_norm_capacity != 10.0
            and self.lambda_norm_logcap != self.lambda_norm_capacity
        ):
            raise SettingError(
                "lambda_norm_logcap",
                f"{self.lambda_norm_logcap} contradicts 'lambda_norm_capacity' = "
                f"{self.lambda_norm_capacity}; set only one (they are the same weight)",
                related=("lambda_norm_capacity",),
            )

    @property
    def channels(self) -> int:
        return 1 if self.grayscale else 3

    @property
    def capacity_weight(self) -> float:
        """The log-capacity weight: ``lambda_norm_logcap`` when given, else ``lambda_norm_capacity``."""
        return (
            self.lambda_norm_capacity
            if self.lambda_norm_logcap is None
            else self.lambda_norm_logcap
        )

    @property
    def image_size(self) -> int:
        """The image side the flow decoder produces: init_size x 2^(len(ncs) - 1)."""
        return self.init_size * 2 ** (len(self.ncs) - 1)


# --------------------------------------------------------------------------------------------
# The injective flow decoder
# --------------------------------------------------------------------------------------------


def squeeze(x: torch.Tensor, s: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, C s^2, H/s, W/s), the code's ``squeeze_nc`` order."""
    b, c, h, w = x.shape
    x = x.view(b, c, h // s, s, w // s, s).permute(0, 1, 3, 5, 2, 4)  # (B, C, s, s, H/s, W/s)
    return x.reshape(b, c * s * s, h // s, w // s)


def unsqueeze(x: torch.Tensor, s: int) -> torch.Tensor:
    """(B, C s^2, H, W) -> (B, C, H s, W s); the inverse of `squeeze`."""
    b, c, h, w = x.shape
    x = x.view(b, c // (s * s), s, s, h, w).permute(0, 1, 4, 2, 5, 3)  # (B, C, H, s, W, s)
    return x.reshape(b, c // (s * s), h * s, w * s)


def random_orthogonal(n: int) -> torch.Tensor:
    """An (n, n) random orthogonal matrix (QR of a Gaussian, float64), from torch's global RNG."""
    q, r = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))[None, :]


class FixedOrthogonal1x1(nn.Module):
    """A 1x1 convolution by a fixed orthogonal matrix (a buffer, not trained).

    With cout > cin the weight is the first cin columns (an isometric embedding), with cout < cin
    the first cout rows; ``matrix`` (n, n), n = max(cin, cout), may be given (the init layer's
    down-projection is the transpose of its up-projection).
    """

    def __init__(self, cin: int, cout: int, matrix: torch.Tensor | None = None) -> None:
        super().__init__()
        n = max(cin, cout)
        self.cin, self.cout = cin, cout
        self.register_buffer("matrix", (random_orthogonal(n) if matrix is None else matrix).float())

    def weight(self) -> torch.Tensor:
        return self.matrix[: self.cout, : self.cin, None, None]  # (cout, cin, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight())

    def transpose(self, y: torch.Tensor) -> torch.Tensor:
        """W^T y: the exact inverse when cout == cin, the left inverse when cout > cin."""
        return F.conv_transpose2d(y, self.weight())


class Coupling(nn.Module):
    """Additive coupling on (B, nc, size, size): (a, b) -> (a, b + net(a)).

    net: squeeze, fixed 1x1 (or the init layer's ``down``), a trained transposed convolution
    (4x4 stride 2; ``size`` x ``size`` from 1x1 for the init layer), ReLU, fixed 1x1 to nc/2.
    """

    def __init__(
        self, nc: int, size: int, hidden1: int, hidden2: int, down: FixedOrthogonal1x1 | None = None
    ) -> None:
        super().__init__()
        self.squeeze_by = size if down is not None else 2
        self.down = down if down is not None else FixedOrthogonal1x1(nc * 2, hidden1)
        if down is not None:
            self.convt = nn.ConvTranspose2d(hidden1, hidden2, size)
        else:
            self.convt = nn.ConvTranspose2d(hidden1, hidden2, 4, stride=2, padding=1)
        self.out = FixedOrthogonal1x1(hidden2, nc // 2)

    def net(self, a: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.convt(self.down(squeeze(a, self.squeeze_by)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.cat([a, b + self.net(a)], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        a, b = y.chunk(2, dim=1)
        return torch.cat([a, b - self.net(a)], dim=1)


class VectorCoupling(Coupling):
    """Additive coupling on vectors (B, nc, 1, 1), the Sector2D toy's: net = 1x1 conv nc/2 ->
    hidden, ReLU, 1x1 conv hidden -> nc/2 (both trained)."""

    def __init__(self, nc: int, hidden: int) -> None:
        nn.Module.__init__(self)
        self.fc1, self.fc2 = nn.Conv2d(nc // 2, hidden, 1), nn.Conv2d(hidden, nc // 2, 1)

    def net(self, a: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(a)))


class Flow(nn.Module):
    """A fixed orthogonal 1x1 convolution (``mix``; none in the init layer), then ``coupling``."""

    def __init__(self, nc: int, coupling: Coupling, mix: bool = True) -> None:
        super().__init__()
        self.mix = FixedOrthogonal1x1(nc, nc) if mix else None
        self.coupling = coupling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.coupling(self.mix(x) if self.mix is not None else x)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        x = self.coupling.inverse(y)
        return self.mix.transpose(x) if self.mix is not None else x


class FlowDecoder(nn.Module):
    """The code's injective ``FlowDecoder``: (B, nz) -> (B, ncs[-1], S, S), S = init_size 2^L.

    Args:
        nz, init_size, ncs, hidden_ncs, middle_ns_flows: as `GDRAESettings`.
    """

    def __init__(
        self,
        nz: int,
        init_size: int,
        ncs: list[int],
        hidden_ncs: list[int],
        middle_ns_flows: list[int],
    ) -> None:
        super().__init__()
        self.init_size = init_size
        half = (ncs[0] // 2) * init_size**2
        self.embed = FixedOrthogonal1x1(nz, half)
        down = FixedOrthogonal1x1(half, nz, matrix=self.embed.matrix.t().contiguous())
        coupling = Coupling(ncs[0], init_size, nz, hidden_ncs[0], down=down)
        self.init_flow = Flow(ncs[0], coupling, mix=False)
        self.dims, self.blocks = nn.ModuleList(), nn.ModuleList()
        for i, n_flows in enumerate(middle_ns_flows):
            size = init_size * 2 ** (i + 1)
            self.dims.append(FixedOrthogonal1x1(ncs[i], ncs[i + 1] * 4))
            self.blocks.append(
                nn.ModuleList(
                    Flow(ncs[i + 1], Coupling(ncs[i + 1], size, hidden_ncs[i], hidden_ncs[i + 1]))
                    for _ in range(n_flows)
                )
            )
        self.final = FixedOrthogonal1x1(ncs[-1], ncs[-1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = unsqueeze(self.embed(z[:, :, None, None]), self.init_size)  # (B, ncs[0]/2, s0, s0)
        x = self.init_flow(torch.cat([x, torch.zeros_like(x)], dim=1))
        for dim, flows in zip(self.dims, self.blocks):
            x = unsqueeze(dim(x), 2)  # (B, ncs[i+1], 2 h, 2 w)
            for flow in flows:
                x = flow(x)
        return self.final(x)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """The code z of a full output y = forward(z) (exact up to rounding): (B, nz)."""
        x = self.final.transpose(y)
        for dim, flows in zip(reversed(self.dims), reversed(self.blocks)):
            for flow in reversed(flows):
                x = flow.inverse(x)
            x = dim.transpose(squeeze(x, 2))
        x = self.init_flow.inverse(x).chunk(2, dim=1)[0]
        return self.embed.transpose(squeeze(x, self.init_size))[:, :, 0, 0]


class SVPredictor(nn.Module):
    """log singular values (B, nz) of the decoder at e^c z; they sum to 0 (product 1)."""

    def __init__(self, nz: int, width: int = 1024) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(nz, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Linear(width, nz - 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logs = self.net(z)
        return torch.cat([logs, -logs.sum(dim=1, keepdim=True)], dim=1)


# --------------------------------------------------------------------------------------------
# The spectral-norm estimate
# --------------------------------------------------------------------------------------------


def _normalise(x: torch.Tensor) -> torch.Tensor:
    flat = x.flatten(1)
    return (flat / (flat.norm(dim=1, keepdim=True) + 1e-8)).view_as(x)


def power_iteration_sn(
    fn: Callable[[torch.Tensor], torch.Tensor],
    e: torch.Tensor,
    n_iter: int,
    generator: torch.Generator,
    slope: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Per-sample power-iteration estimate of sigma_max^2 of the Jacobian of ``fn`` at ``e``.

    The code's estimate: u_0 random, v_k = J^T u_{k-1} / |.|, u_k = J v_k / |v_k|, returns
    <u_n, u_{n-1}> (-> sigma_max^2); only u_n keeps its graph, so the result is differentiable
    in the parameters of ``fn`` through the last Jacobian-vector product.

    Args:
        fn: (B, n) -> (B, ...), each sample depending on its own row only.
        e: (B, n), the point. n_iter: rounds (>= 1). generator: source of u_0.
        slope: optional map of the (detached) output of ``fn`` to the diagonal of an elementwise
            function applied after it, held constant in the gradient (the code's linearised
            sigmoid): J is then diag(slope(fn(e))) J_fn.

    Returns:
        (B,) estimates.
    """
    e = e.detach().requires_grad_(True)
    out = fn(e)
    scale = torch.ones_like(out) if slope is None else slope(out.detach())
    # J^T w as a function of a dummy w: its gradient in w along v is J v (double backward).
    w = torch.zeros_like(out, requires_grad=True)
    jt_w = torch.autograd.grad(out, e, grad_outputs=w * scale, create_graph=True)[0]
    u = torch.randn(out.shape, generator=generator, device=out.device, dtype=out.dtype)
    last_u = u
    for k in range(n_iter):
        v = torch.autograd.grad(out, e, grad_outputs=_normalise(u) * scale, retain_graph=True)[0]
        last = k == n_iter - 1
        ju = torch.autograd.grad(
            jt_w, w, grad_outputs=_normalise(v), create_graph=last, retain_graph=True
        )[0]
        last_u, u = u.detach(), ju if last else ju.detach()
    return (u.flatten(1) * last_u.flatten(1)).sum(1)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


def _init_normal(m: nn.Module) -> None:
    # The code's init_normal: N(0, 0.02) for Linear / Conv2d (transposed convs keep torch's).
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class GDRAE(TrainableModel):
    """gdrae. Feature group ``latent``: the posterior mean mu (B, nz).

    Args:
        settings: `GDRAESettings`. image_size: S, must be settings.image_size.
    """

    Settings = GDRAESettings
    feature_groups = ("latent",)

    def __init__(self, settings: GDRAESettings, image_size: int) -> None:
        super().__init__()
        st = settings
        if image_size != st.image_size:
            raise ValueError(
                f"data.image_size {image_size} does not match the flow decoder "
                f"(model.init_size {st.init_size} x 2^{len(st.ncs) - 1} = {st.image_size} px); "
                f"set data.image_size: {st.image_size} or change model.ncs / init_size"
            )
        if 4 * 2 ** len(st.enc_ncs) != image_size:
            raise ValueError(
                f"model.enc_ncs has {len(st.enc_ncs)} stride-2 convs: {4 * 2 ** len(st.enc_ncs)} px "
                f"to 4x4, but data.image_size is {image_size}; give log2(S/4) = "
                f"{int(math.log2(max(image_size, 4) / 4))} entries"
            )
        self.settings, self.image_size = st, image_size
        layers: list[nn.Module] = []
        for cin, cout in zip([st.channels, *st.enc_ncs[:-1]], st.enc_ncs):
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.ReLU()]
        layers += [
            nn.Conv2d(st.enc_ncs[-1], st.enc_hidden, 4),
            nn.ReLU(),
            nn.Conv2d(st.enc_hidden, st.nz, 1),
        ]
        self.encoder = nn.Sequential(*layers)
        self.log_capacity = nn.Parameter(torch.zeros(1))
        self.flow = FlowDecoder(st.nz, st.init_size, st.ncs, st.hidden_ncs, st.middle_ns_flows)
        self.sv_predictor = SVPredictor(st.nz)
        self.apply(_init_normal)

    # -- encoding and decoding ----------------------------------------------------------------

    def _inputs(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) in [0, 1] of (B, 3, S, S) images, C = 1 (luminance) or 3."""
        self._check_images(images)
        if self.settings.grayscale:
            return (images * images.new_tensor([0.299, 0.587, 0.114])[None, :, None, None]).sum(
                1, keepdim=True
            )
        return images

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The posterior mean mu (B, nz) of images (B, 3, S, S) in [0, 1]."""
        return self.encoder(self._inputs(images))[:, :, 0, 0]

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) logits of codes (B, nz): the first C channels of flow(e^c z)."""
        return self.flow(self.log_capacity.exp() * z)[:, : self.settings.channels]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) images in [0, 1] of codes (B, nz)."""
        x = torch.sigmoid(self.decode_logits(z))
        return x.expand(-1, 3, -1, -1) if self.settings.grayscale else x

    def log_singular_values(self, z: torch.Tensor) -> torch.Tensor:
        """Predicted log singular values (B, nz) of the decoder at codes z (they sum to 0)."""
        return self.sv_predictor(self.log_capacity.exp() * z)

    def jacobian_terms(
        self, z: torch.Tensor, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """{"logsn": (B,), "logsv": (B, nz)} at codes z, as the code's ``calc_logsn``."""
        with torch.enable_grad():
            cz = self.log_capacity.exp() * z
            logsv = self.sv_predictor(cz)
            s_inv = (-logsv).exp()
            base = (cz - s_inv).detach()
            # J of sigmoid(flow(.)) diag(1/s): the sigmoid's slope enters as a constant.
            sn = power_iteration_sn(
                lambda e: self.flow(base + s_inv * e),
                torch.ones_like(cz),
                self.settings.sn_power,
                generator,
                slope=lambda y: torch.sigmoid(y) * (1 - torch.sigmoid(y)),
            )
        return {"logsn": sn.log(), "logsv": logsv}

    def random_codes(self, n: int, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
        """(n, nz) codes ~ U[-r, r]^nz."""
        u = torch.rand(
            (n, self.settings.nz), generator=generator, device=like.device, dtype=like.dtype
        )
        return (2 * u - 1) * self.settings.random_uni_radius

    # -- objective ------------------------------------------------------------------------------

    def _terms(
        self, images: torch.Tensor, generator: torch.Generator, with_jacobian: bool
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        st = self.settings
        x = self._inputs(images)
        mu = self.encoder(x)[:, :, 0, 0]
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        logits = self.decode_logits(mu + st.sigma * eps)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kld = torch.relu(mu.abs() - st.random_uni_radius).sum(1).mean()
        capacity = self.log_capacity.sum()
        terms = {"recon": recon, "kld": kld, "norm_capacity": capacity}
        total = st.lambda_recon * recon + st.lambda_kld * kld + st.capacity_weight * capacity
        if with_jacobian:
            z = self.random_codes(st.jacob_batch or len(images), generator, mu)
            jac = self.jacobian_terms(z, generator)
            sn = torch.nanmean(jac["logsn"] ** 2)
            p = torch.softmax(jac["logsv"], dim=1)
            sv_entropy = (-p * torch.log(p + 1e-8)).sum(1).mean()
            norm_sv = jac["logsv"].exp().pow(2).mean()
            total = (
                total
                + st.lambda_jacob_sn * sn
                + st.lambda_jacob_sv * sv_entropy
                + st.lambda_norm_sv * norm_sv
            )
            terms |= {"jacob_sn": sn, "jacob_sv": sv_entropy, "norm_sv": norm_sv}
        with torch.no_grad():
            terms["l1"] = (torch.sigmoid(logits) - x).abs().mean()
            terms["mu_abs"] = mu.abs().mean()
        terms["total"] = total
        return total, {k: v.detach() for k, v in terms.items()}

    def training_terms(
        self, images: torch.Tensor, generator: torch.Generator, *, epoch: int, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._terms(images, generator, step % self.settings.jacob_every == 0)

    def validation_terms(
        self, images: torch.Tensor, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        return self._terms(images, generator, True)[1]

    # -- features and pictures ----------------------------------------------------------------

    def get_features(
        self, images: torch.Tensor, groups: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        groups = self._check_groups(groups)
        return {"latent": self.encode(images)} if groups else {}

    def traversal(self, images: torch.Tensor, n_steps: int = 10) -> torch.Tensor:
        """Latent traversal grid of each image: (B, nz, 2 + n_steps, 3, S, S) in [0, 1].

        Per latent dim (one row), the input, its reconstruction, then mu with that dim swept
        over [-r, r] in ``n_steps`` steps (the code's ``vis_latent_traversal_given_x``).
        """
        mu = self.encode(images)
        b, nz = mu.shape
        r = self.settings.random_uni_radius
        sweep = torch.linspace(-r, r, n_steps, device=mu.device, dtype=mu.dtype)
        codes = mu[:, None, None, :].repeat(1, nz, n_steps, 1)  # (B, nz, n_steps, nz)
        idx = torch.arange(nz, device=mu.device)
        codes[:, idx, :, idx] = sweep
        swept = self.decode(codes.reshape(-1, nz)).view(b, nz, n_steps, 3, *images.shape[2:])
        recon = self.decode(mu)[:, None, None].expand(-1, nz, 1, -1, -1, -1)
        inp = images[:, None, None].expand(-1, nz, 1, -1, -1, -1)
        return torch.cat([inp, recon, swept], dim=2)

    def image_grids(self, images: torch.Tensor) -> dict[str, Any]:
        mu = self.encode(images)
        z = self.random_codes(len(images), torch.Generator(device=mu.device).manual_seed(0), mu)
        return {
            "images": {"input": images, "recon": self.decode(mu), "sample": self.decode(z)},
            "histograms": {
                "posterior_mean": mu.flatten(),
                "singular_values": self.log_singular_values(z).exp().flatten(),
            },
        }


# --------------------------------------------------------------------------------------------
# The Sector2D toy (the code's gdrae-sector-manifold/)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sector2DSettings(Settings):
    """Settings of the Sector2D toy (``python baselines/gdrae.py sector2d``): its README's weights."""

    input_nc: int = setting(1024, "flow width: the 2-d code is embedded in it (code 1024)", lo=4)
    hidden_nc: int = setting(1024, "coupling hidden width (code 1024)", lo=1)
    n_flows: int = setting(3, "flows (code 3)", lo=1)
    random_uni_radius: float = setting(1.0, "code box half-width r", lo=0.0, lo_open=True)
    lambda_recon: float = setting(1000.0, "weight of the L2 reconstruction (README 1000)", lo=0.0)
    lambda_kld: float = setting(1000.0, "weight of the box hinge (README 1000)", lo=0.0)
    lambda_jacob_sn: float = setting(
        1000.0, "weight of the spectral-norm term (README 1000)", lo=0.0
    )
    lambda_jacob_sv: float = setting(1.0, "weight of the singular-value entropy (README 1)", lo=0.0)
    lambda_capacity: float = setting(10.0, "weight of the log-capacity (README 10)", lo=0.0)
    sn_power: int = setting(5, "power-iteration rounds (code 5)", lo=1, hi=100)
    num_points: int = setting(10000, "training points on the sector (code 10,000)", lo=64)

    def validate(self) -> None:
        if self.input_nc % 2:
            raise SettingError("input_nc", f"{self.input_nc} must be even (couplings split it)")


def sector2d_points(n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 2) points uniform (by area) on the quarter annulus 1 <= radius <= 2, 0 <= angle <= pi/2."""
    u = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    radius, angle = (1 + 3 * u[:, 0]).sqrt(), u[:, 1] * math.pi / 2
    return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1).float()


class Sector2DModel(nn.Module):
    """The toy: MLP encoder 2 -> 1024 -> 1024 -> 2 (no noise), the decoder e^c z -> fixed orthogonal
    embedding into ``input_nc`` -> ``n_flows`` flows -> fixed orthogonal mix; the first 2 outputs
    are the point. The Jacobian term is taken on the full output of J diag(s) (the toy scales by
    s, the image model by 1/s, as the code)."""

    def __init__(self, st: Sector2DSettings) -> None:
        super().__init__()
        self.settings = st
        self.encoder = nn.Sequential(
            nn.Linear(2, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 2)
        )
        self.log_capacity = nn.Parameter(torch.zeros(1))
        self.embed = FixedOrthogonal1x1(2, st.input_nc)
        self.flows = nn.ModuleList(
            Flow(st.input_nc, VectorCoupling(st.input_nc, st.hidden_nc)) for _ in range(st.n_flows)
        )
        self.final = FixedOrthogonal1x1(st.input_nc, st.input_nc)
        self.sv_predictor = SVPredictor(2)
        self.apply(_init_normal)

    def flow(self, cz: torch.Tensor) -> torch.Tensor:
        """(B, 2) -> (B, input_nc): the decoder after the capacity scale."""
        x = self.embed(cz[:, :, None, None])
        for f in self.flows:
            x = f(x)
        return self.final(x)[:, :, 0, 0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.flow(self.log_capacity.exp() * z)[:, :2]

    def terms(
        self, x: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        st = self.settings
        mu = self.encoder(x)
        recon = (x - self.decode(mu)).pow(2).sum(1).mean()
        kld = torch.relu(mu.abs() - st.random_uni_radius).sum(1).mean()
        u = torch.rand(len(x), 2, generator=generator, dtype=x.dtype)
        cz = self.log_capacity.exp() * (2 * u - 1) * st.random_uni_radius
        logsv = self.sv_predictor(cz)
        s = logsv.exp()
        base = (cz - s).detach()
        sn = power_iteration_sn(
            lambda e: self.flow(base + s * e), torch.ones_like(cz), st.sn_power, generator
        )
        jacob_sn = torch.nanmean(sn.log() ** 2)
        p = torch.softmax(logsv, dim=1)
        jacob_sv = (-p * torch.log(p + 1e-8)).sum(1).mean()
        capacity = self.log_capacity.sum()
        total = (
            st.lambda_recon * recon
            + st.lambda_kld * kld
            + st.lambda_jacob_sn * jacob_sn
            + st.lambda_jacob_sv * jacob_sv
            + st.lambda_capacity * capacity
        )
        terms = {"recon": recon, "kld": kld, "jacob_sn": jacob_sn, "jacob_sv": jacob_sv}
        terms |= {"capacity": capacity, "total": total}
        return total, {k: v.detach() for k, v in terms.items()}


def train_sector2d(
    st: Sector2DSettings, steps: int, seed: int = 0, batch_size: int = 64, lr: float = 1e-4
) -> tuple[Sector2DModel, list[dict[str, float]]]:
    """Train the toy (Adam, the code's lr and batch) for ``steps``; returns the model and the
    terms every 100 steps (and the last)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    points = sector2d_points(st.num_points, g)
    model = Sector2DModel(st)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    history = []
    for step in range(steps):
        x = points[torch.randint(len(points), (batch_size,), generator=g)]
        total, terms = model.terms(x, g)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            history.append({"step": step, **{k: float(v) for k, v in terms.items()}})
    return model, history


@torch.no_grad()
def sector2d_figure(model: Sector2DModel, path: str, grid: int = 11) -> None:
    """The latent grid [-r, r]^2 (``grid`` lines each way) mapped onto the plane over the data,
    as the code's ``vis_correspondence``; written to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = model.settings.random_uni_radius
    t = torch.linspace(-r, r, 101)
    lines = torch.linspace(-r, r, grid)
    pts = sector2d_points(2000, torch.Generator().manual_seed(1))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    axes[0].scatter(pts[:, 0], pts[:, 1], s=1, c="0.7")
    mu = model.encoder(pts)
    axes[1].scatter(mu[:, 0], mu[:, 1], s=1, c="0.7")
    for i, v in enumerate(lines):
        for along, colour in ((0, "tab:blue"), (1, "tab:red")):
            z = (
                torch.stack([t, v.expand_as(t)], 1)
                if along == 0
                else torch.stack([v.expand_as(t), t], 1)
            )
            x = model.decode(z)
            axes[0].plot(x[:, 0], x[:, 1], c=colour, lw=0.8, alpha=0.9 if i % 5 == 0 else 0.5)
    axes[0].set_title("decoded latent grid (blue: z1 varies, red: z2 varies)")
    axes[1].set_title("encoded data points (mu)")
    for ax in axes:
        ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """``python baselines/gdrae.py sector2d --steps N --output FIG.png``: train the toy, draw it."""
    from unsup3d.cli import ArgumentParser, check_output_file, setup_logging

    p = ArgumentParser(description="gdrae's Sector2D toy: train, then draw the latent grid")
    p.add_argument("toy", choices=["sector2d"], help="the toy to run (sector2d)")
    p.add_argument("--steps", type=int, default=3000, help="training steps (3000: minutes on CPU)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data, weights and draws (0)")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (code 1e-4)")
    p.add_argument("--input_nc", type=int, default=1024, help="flow width (code 1024; 128 on CPU)")
    p.add_argument(
        "--hidden_nc", type=int, default=1024, help="coupling width (code 1024; 256 on CPU)"
    )
    p.add_argument("--output", required=True, help="PNG of the decoded latent grid")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = p.parse_args(argv)
    out = check_output_file(args.output, args.overwrite)
    setup_logging()
    try:
        st = Sector2DSettings(input_nc=args.input_nc, hidden_nc=args.hidden_nc)
    except SettingError as exc:
        raise UserError(f"--{exc.key}: {exc.problem}") from None
    model, history = train_sector2d(st, args.steps, args.seed, lr=args.lr)
    for h in history[:: max(1, len(history) // 10)] + history[-1:]:
        log.info(" ".join(f"{k} {v:.4g}" for k, v in h.items()))
    sector2d_figure(model, str(out))
    return 0


if __name__ == "__main__":
    from unsup3d.cli import run

    run(main)
