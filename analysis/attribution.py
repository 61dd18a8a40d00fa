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

import numpy as np
import torch
from torch import nn

from analysis.records import IGSummary, LabelAttribution

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


class StandardizedLinear(nn.Module):
    """``Linear((x - mean) / std)``: a probe on raw features whose weights came from a model
    fitted on standardised features (so IG baselines stay in raw feature space)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, weight: np.ndarray, bias: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float64))
        self.linear = nn.Linear(weight.shape[1], weight.shape[0]).double()
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float64))
            self.linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear((x.double() - self.mean) / self.std)  # (B, C)
        return out[:, 0] if out.shape[1] == 1 else out

    @property
    def binary(self) -> bool:
        """One logit (of the positive class) instead of one per class."""
        return self.linear.out_features == 1

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
        """The predicted classes (``classes_`` of the fitted probe) and their column index
        (binary heads: 1 where the logit is positive)."""
        logits = self(x)
        index = (logits > 0).long() if logits.ndim == 1 else logits.argmax(1)
        return self.classes_[index.cpu().numpy()], index


def fit_probe_head(
    features: np.ndarray, labels: np.ndarray, *, random_state: int, c: float = 1.0
) -> StandardizedLinear:
    """Fit an L2 logistic-regression probe (scikit-learn, standardised features) and return it
    as a frozen torch head on raw features: (B, F) -> (B,) logit of the positive class for
    binary labels, (B, C) class logits otherwise.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(features, dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    clf = LogisticRegression(C=c, max_iter=2000, random_state=random_state)
    clf.fit((x - mean) / std, labels)
    head = StandardizedLinear(mean, std, clf.coef_, clf.intercept_)
    head.classes_ = clf.classes_  # type: ignore[attr-defined]
    for p in head.parameters():
        p.requires_grad_(False)
    return head.eval()


def explain_labels(
    x: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str],
    chosen: Sequence[str],
    slices: Mapping[str, slice],
    *,
    random_state: int,
    test_fraction: float = 0.25,
    max_explain: int = 256,
    n_steps: int = 64,
    baseline: str = "zero",
    c: float = 1.0,
) -> dict[str, LabelAttribution]:
    """IG shares of a probe per label (``interpret.py``): a `fit_probe_head` on a random
    ``1 - test_fraction`` of the rows, its held-out accuracy, and `integrated_gradients_shares`
    of its logit (binary: the positive class; multi-class: each row's predicted class) on the
    first ``max_explain`` held-out rows.

    Args:
        x: (N, F) concatenated features (groups at ``slices``). labels: (N, A), columns ``names``.
        chosen: the labels to explain; one with a single class in the training rows is skipped.
        random_state: the row split and the probe's solver.
        baseline: ``zero`` features or the training ``mean``.

    Returns:
        label -> `LabelAttribution`.
    """
    perm = np.random.RandomState(random_state).permutation(len(x))
    n_test = max(1, int(round(test_fraction * len(x))))
    te, tr = perm[:n_test], perm[n_test:]
    explain = te[:max_explain]
    base = torch.as_tensor(x[tr].mean(axis=0)) if baseline == "mean" else 0.0
    out = {}
    for name in chosen:
        y = labels[:, list(names).index(name)]
        if len(np.unique(y[tr])) < 2:
            log.info("label %s has one class in the training rows: skipped", name)
            continue
        head = fit_probe_head(x[tr], y[tr], random_state=random_state, c=c)
        pred, index = head.predict(torch.as_tensor(x[te]))
        ig = integrated_gradients_shares(
            head,
            torch.as_tensor(x[explain]),
            slices,
            target=None if head.binary else index[: len(explain)],
            baseline=base,
            n_steps=n_steps,
        )
        accuracy = float(np.mean(pred == y[te]))
        out[name] = LabelAttribution(**vars(ig.summary()), probe_test_accuracy=accuracy)
    return out
