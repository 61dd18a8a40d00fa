"""`unsup3d.objective`: the training objective (reconstruction losses + w * LOOCC), the
deterministic validation terms and the perceptual net."""

import pytest
import torch

from unsup3d.errors import UserError
from unsup3d.loocc import LooccSettings
from unsup3d.losses import LossWeights, PerceptualNet
from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.objective import compute_objective, perceptual_net, validation_terms
from unsup3d.renderer import Renderer

NO_PERC = LossWeights(lam_perc=0.0)


def _model(size=32, **kw):
    torch.manual_seed(0)
    return InverseRenderer(ModelSettings(preset="small", **kw), Renderer(size))


def test_one_optimisation_step_lowers_the_loss(scenes):
    batch = scenes(4, 32, seed=1).images
    model = _model(32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    before, _, _ = compute_objective(model, batch, NO_PERC, LooccSettings())
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after, _, _ = compute_objective(model, batch, NO_PERC, LooccSettings())
    assert after.item() < before.item()


def test_gradients_are_finite_through_the_renderer(scenes):
    batch = scenes(4, 32, seed=2).images
    model = _model(32)
    loocc = LooccSettings(variant="LV", weight=1.0)
    total, terms, _ = compute_objective(
        model,
        batch,
        LossWeights(lam_perc=1.0, lam_depth_sm=0.1),
        loocc,
        torch.Generator().manual_seed(0),
        perceptual=PerceptualNet(),  # random weights: only the gradient path matters here
    )
    assert set(terms) == {
        "l1",
        "l1_flip",
        "perc",
        "perc_flip",
        "depth_sm",
        "recon",
        "loocc",
        "total",
    }
    total.backward()
    for name, net in model.nets().items():
        grads = [p.grad for p in net.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert sum(g.abs().sum() for g in grads) > 0, name


def test_recon_term_excludes_loocc():
    model = _model(32)
    images = torch.rand(4, 3, 32, 32)
    _, plain, _ = compute_objective(model, images, NO_PERC, LooccSettings())
    total, terms, _ = compute_objective(
        model,
        images,
        NO_PERC,
        LooccSettings(variant="LV", weight=0.5),
        torch.Generator().manual_seed(3),
    )
    assert torch.equal(plain["recon"], terms["recon"])
    torch.testing.assert_close(total.detach(), terms["recon"] + 0.5 * terms["loocc"])
    assert "loocc" not in plain
    with pytest.raises(ValueError, match="pass an explicit torch.Generator"):
        compute_objective(model, images, NO_PERC, LooccSettings(variant="L"))


def _cpu_cuda_step(device):
    model = _model(32).to(device)
    images = torch.rand(2, 3, 32, 32, device=device)
    total, _, out = compute_objective(
        model, images, NO_PERC, LooccSettings(variant="LV"), torch.Generator().manual_seed(0)
    )
    total.backward()
    assert out.recon_image.device.type == torch.device(device).type
    return total.detach().cpu()


def test_runs_on_cpu():
    assert torch.isfinite(_cpu_cuda_step("cpu"))


@pytest.mark.cuda
def test_runs_on_cuda_and_matches_cpu():
    cpu = _cpu_cuda_step("cpu")
    cuda = _cpu_cuda_step("cuda")
    torch.testing.assert_close(cuda, cpu, rtol=1e-2, atol=1e-2)


def test_validation_terms_are_the_objective_without_loocc_and_deterministic():
    model = _model(32).eval()
    images = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        a = validation_terms(model, images, NO_PERC)
        b = validation_terms(model, images, NO_PERC)
        _, plain, _ = compute_objective(model, images, NO_PERC, LooccSettings())
    assert "loocc" not in a and a.keys() == plain.keys()
    for key in a:
        assert torch.equal(a[key], b[key]) and torch.equal(a[key], plain[key]), key


def test_perceptual_net_only_when_weighted_and_never_downloaded(tmp_path):
    assert perceptual_net(NO_PERC, torch.device("cpu")) is None
    missing = tmp_path / "vgg16.pth"
    with pytest.raises(UserError, match=r"vgg16.pth: VGG16 weights not found.*lam_perc: 0"):
        perceptual_net(LossWeights(lam_perc=1.0, vgg_weights=str(missing)), torch.device("cpu"))
