"""Interpretability: which scene parameter's features a prediction rests on (paper §5, Fig. 4).

- `integrated_gradients_shares`: Integrated Gradients (Sundararajan et al., 2017, via captum) of a
  probe head's output w.r.t. the concatenated features, split into one share per feature group
  with the paper's Fig. 4 formula: for sample x and group j with features z^j (N_j dims),

      share_j(x) = sum_i |IG(z^j_i)| / sum_{j'} sum_i |IG(z^{j'}_i)|.

  Over a batch we report the mean of the per-sample shares (each sample weighs the same) and, as
  a second number, the pooled shares (sums of |IG| over the batch, then normalised).
  IG is complete: sum_i IG_i(x) = F(x) - F(baseline) up to the integral's quadrature error,
  which is returned per sample as ``delta``.
- `grad_cam_maps`: Grad-CAM (Selvaraju et al., 2017, captum's ``LayerGradCam``) for a target
  layer inside each encoder, through the whole image -> encoders -> probe pipeline, upsampled to
  the image size. Written against any ``nn.Module``/callable and layer, so the real encoders plug
  in unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from analysis.records import IGSummary, LabelAttribution
from evalkit import StandardizedLinear, fit_linear_probe

log = logging.getLogger(__name__)


def group_slices(widths: Mapping[str, int]) -> dict[str, slice]:
    """Consecutive column slices for groups concatenated in the given order.

    Example: ``{"depth": 256, "albedo": 256}`` -> ``{"depth": slice(0, 256), "albedo":
    slice(256, 512)}``.
    """
    out: dict[str, slice] = {}
    start = 0
    for name, width in widths.items():
        if width <= 0:
            raise ValueError(f"group {name!r} has width {width}")
        out[name] = slice(start, start + int(width))
        start += int(width)
    return out


def _check_slices(slices: Mapping[str, slice], width: int) -> None:
    covered = np.zeros(width, dtype=np.int64)
    for name, s in slices.items():
        idx = np.arange(width)[s]
        if len(idx) == 0:
            raise ValueError(f"group {name!r}: slice {s} is empty for {width} features")
        covered[idx] += 1
    if (covered != 1).any():
        raise ValueError(
            f"group slices must cover each of the {width} feature columns exactly once "
            f"(uncovered or overlapping columns: {np.flatnonzero(covered != 1)[:10].tolist()})"
        )


@dataclass
class IGShares:
    """Integrated-gradients attributions split by feature group.

    Attributes:
        groups: group names, in slice order.
        shares: group -> mean over samples of the per-sample share (sums to 1).
        pooled_shares: group -> share of the batch's total |IG| (sums to 1).
        per_sample: (B, G) per-sample shares (rows sum to 1; a row of zero attribution is 0).
        attributions: (B, F) IG per input feature.
        delta: (B,) completeness error sum_i IG_i - (F(x) - F(baseline)).
        output_difference: (B,) F(x) - F(baseline).
    """

    groups: list[str]
    shares: dict[str, float]
    pooled_shares: dict[str, float]
    per_sample: np.ndarray
    attributions: np.ndarray
    delta: np.ndarray
    output_difference: np.ndarray

    def summary(self) -> IGSummary:
        """The numbers of the JSON record: shares, pooled shares, largest completeness error."""
        return IGSummary(
            shares=self.shares,
            pooled_shares=self.pooled_shares,
            max_abs_delta=float(np.max(np.abs(self.delta))),
            mean_abs_output_difference=float(np.mean(np.abs(self.output_difference))),
            num_samples=int(self.per_sample.shape[0]),
        )


def _select(output: torch.Tensor, target: int | torch.Tensor | None) -> torch.Tensor:
    if isinstance(target, torch.Tensor):
        if output.ndim != 2 or target.shape != (output.shape[0],):
            raise ValueError(
                f"per-sample target {tuple(target.shape)} needs a (B, C) output, got {tuple(output.shape)}"
            )
        return output.gather(1, target.to(output.device).long()[:, None])[:, 0]
    if target is None:
        if output.ndim == 2 and output.shape[1] == 1:
            return output[:, 0]
        if output.ndim != 1:
            raise ValueError(f"the head returns {tuple(output.shape)}; pass target=<output index>")
        return output
    return output[:, target]


def integrated_gradients_shares(
    head: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    slices: Mapping[str, slice],
    *,
    target: int | torch.Tensor | None = None,
    baseline: torch.Tensor | float = 0.0,
    n_steps: int = 64,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
) -> IGShares:
    """Integrated Gradients of ``head(inputs)[:, target]`` split into per-group shares (Fig. 4).

    Args:
        head: a probe on the concatenated features, (B, F) -> (B, C) or (B,). Put it in
            ``eval()`` first if it has dropout/norm layers; it is not modified.
        inputs: (B, F) concatenated features (the groups' columns given by ``slices``).
        slices: group -> column slice; together they cover every column exactly once.
        target: output column to explain: an int, a (B,) tensor of one column per sample (e.g.
            the predicted class), or None for a scalar head.
        baseline: (B, F), (F,) or a constant; 0 = the all-zero feature vector (the usual choice
            for ReLU features).
        n_steps: quadrature points along the path.
        method: captum's integral rule (``gausslegendre``, ``riemann_trapezoid``, ...).
        internal_batch_size: chunk size for the n_steps * B forward passes.

    Returns:
        `IGShares`.
    """
    from captum.attr import IntegratedGradients

    if inputs.ndim != 2:
        raise ValueError(f"inputs must be (B, F) concatenated features, got {tuple(inputs.shape)}")
    _check_slices(slices, inputs.shape[1])
    x = inputs.detach()
    if isinstance(baseline, torch.Tensor):
        base = baseline.to(device=x.device, dtype=x.dtype).expand_as(x).contiguous()
    else:
        base = torch.full_like(x, float(baseline))

    def forward(z: torch.Tensor) -> torch.Tensor:
        # captum expands a per-sample target over the n_steps path points itself.
        return _select(head(z), None) if target is None else head(z)

    ig = IntegratedGradients(forward)
    attr, delta = ig.attribute(
        x,
        baselines=base,
        target=target,
        n_steps=n_steps,
        method=method,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    with torch.no_grad():
        diff = _select(head(x), target) - _select(head(base), target)
    a = attr.detach().double().cpu().numpy()
    names = list(slices)
    mags = np.stack([np.abs(a[:, slices[g]]).sum(axis=1) for g in names], axis=1)  # (B, G)
    totals = mags.sum(axis=1, keepdims=True)
    per_sample = np.divide(mags, totals, out=np.zeros_like(mags), where=totals > 0)
    pooled = mags.sum(axis=0) / max(float(mags.sum()), np.finfo(np.float64).tiny)
    return IGShares(
        groups=names,
        shares={g: float(v) for g, v in zip(names, per_sample.mean(axis=0), strict=True)},
        pooled_shares={g: float(v) for g, v in zip(names, pooled, strict=True)},
        per_sample=per_sample,
        attributions=a,
        delta=delta.detach().double().cpu().numpy().reshape(-1),
        output_difference=diff.detach().double().cpu().numpy().reshape(-1),
    )


def grad_cam_maps(
    forward_fn: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    layers: Mapping[str, nn.Module],
    images: torch.Tensor,
    *,
    target: int | None = None,
    relu: bool = True,
    upsample: bool = True,
) -> dict[str, torch.Tensor]:
    """Grad-CAM map of one output for a target layer in each encoder.

    For each layer: weights = spatial mean of d output / d activation per channel; map =
    ReLU(sum_c weight_c * activation_c), bilinearly upsampled to the image size.

    Args:
        forward_fn: images (B, C, H, W) -> outputs (B, K) or (B,) through the whole pipeline
            (encoders -> concatenated features -> probe).
        layers: encoder name -> a module inside ``forward_fn`` whose output is (B, C', h, w)
            (e.g. the last conv of each encoder's down path).
        images: (B, C, H, W).
        target: output column to explain (None for a scalar output).
        relu: keep only positive evidence (standard Grad-CAM).
        upsample: resize each map to (H, W).

    Returns:
        encoder name -> (B, H, W) map (or (B, h, w) without upsampling), detached, float32.
    """
    from captum.attr import LayerAttribution, LayerGradCam

    if images.ndim != 4:
        raise ValueError(f"images must be (B, C, H, W), got {tuple(images.shape)}")

    def forward(x: torch.Tensor) -> torch.Tensor:
        return _select(forward_fn(x), target)

    out: dict[str, torch.Tensor] = {}
    for name, layer in layers.items():
        cam = LayerGradCam(forward, layer).attribute(images, relu_attributions=relu)
        if cam.ndim != 4:
            raise ValueError(
                f"layer {name!r} output has shape {tuple(cam.shape)}; Grad-CAM needs a conv "
                "layer with (B, C, h, w) output"
            )
        if upsample:
            cam = LayerAttribution.interpolate(cam, tuple(images.shape[-2:]), "bilinear")
        out[name] = cam[:, 0].detach().float()  # (B, H, W)
    return out


@torch.no_grad()
def predicted_index(head: StandardizedLinear, x: torch.Tensor) -> torch.Tensor:
    """(B,) the output column a probe head predicts per row of x (B, F): the argmax of its class
    logits, or, for a binary head's single logit, 1 where it is positive."""
    logits = head(x)
    return (logits > 0).long() if logits.ndim == 1 else logits.argmax(1)


@dataclass(frozen=True)
class ExplainSettings:
    """How `explain_labels` fits and explains the probes (``interpret.py``'s flags)."""

    # IG baseline: zero features (ReLU off) or the training mean
    baseline: Literal["zero", "mean"] = "zero"
    # IG quadrature points
    n_steps: int = 64
    # fraction of the rows held out (and explained)
    test_fraction: float = 0.25
    # held-out rows explained per label
    max_explain: int = 256
    # inverse L2 strength of the probe
    c: float = 1.0


def explain_labels(
    x: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str],
    chosen: Sequence[str],
    slices: Mapping[str, slice],
    settings: ExplainSettings,
    *,
    random_state: int,
) -> dict[str, LabelAttribution]:
    """IG shares of a probe per label (``interpret.py``): the kit's linear probe
    (`evalkit.fit_linear_probe`) on a random ``1 - test_fraction`` of the rows, its held-out
    accuracy, and `integrated_gradients_shares` of its torch head's logit (binary: the positive
    class; multi-class: each row's predicted class) on the first ``max_explain`` held-out rows.

    Args:
        x: (N, F) concatenated features (groups at ``slices``). labels: (N, A), columns ``names``.
        chosen: the labels to explain; one with a single class in the training rows is skipped.
        settings: split, probe and IG settings. random_state: the row split and the solver.

    Returns:
        label -> `LabelAttribution`.
    """
    s = settings
    perm = np.random.RandomState(random_state).permutation(len(x))
    n_test = max(1, int(round(s.test_fraction * len(x))))
    te, tr = perm[:n_test], perm[n_test:]
    explain = te[: s.max_explain]
    base = torch.as_tensor(x[tr].mean(axis=0)) if s.baseline == "mean" else 0.0
    out = {}
    for name in chosen:
        y = labels[:, list(names).index(name)]
        if len(np.unique(y[tr])) < 2:
            log.info("label %s has one class in the training rows: skipped", name)
            continue
        probe = fit_linear_probe(x[tr], y[tr], c=s.c, random_state=random_state)
        head, rows = probe.torch_head(), torch.as_tensor(x[explain])
        target = None if len(probe.classes) == 2 else predicted_index(head, rows)
        ig = integrated_gradients_shares(
            head, rows, slices, target=target, baseline=base, n_steps=s.n_steps
        )
        accuracy = probe.accuracy(x[te], y[te])
        out[name] = LabelAttribution(**vars(ig.summary()), probe_test_accuracy=accuracy)
    return out
