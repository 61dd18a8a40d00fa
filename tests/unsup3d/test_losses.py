import math

import pytest
import torch

from unsup3d.errors import UserError
from unsup3d.losses import (
    EPS,
    LossWeights,
    PerceptualNet,
    default_vgg_path,
    depth_smoothness,
    load_perceptual_net,
    perceptual_loss,
    photometric_l1,
    reconstruction_loss,
)


def test_photometric_l1_masked_known_value():
    recon = torch.zeros(1, 3, 2, 2)
    target = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    mask = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])  # keeps pixels with |diff| 1 and 3
    assert photometric_l1(recon, target, mask).item() == pytest.approx(2.0)
    assert photometric_l1(recon, target).item() == pytest.approx(2.5)


def test_photometric_l1_with_confidence_is_laplacian_nll():
    recon = torch.zeros(1, 3, 1, 2)
    target = torch.full((1, 3, 1, 2), 0.5)
    sigma = torch.tensor([0.25, 2.0]).reshape(1, 1, 1, 2)
    expected = [0.5 * math.sqrt(2) / (s + EPS) + math.log(s + EPS) for s in (0.25, 2.0)]
    got = photometric_l1(recon, target, torch.ones(1, 1, 2), sigma)
    assert got.item() == pytest.approx(sum(expected) / 2, rel=1e-6)


def test_perceptual_loss_pools_mask_to_feature_resolution():
    f1 = torch.zeros(1, 2, 2, 2)
    f2 = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).expand(1, 2, 2, 2)
    mask = torch.zeros(1, 8, 8)
    mask[:, :4, :4] = 1  # covers feature cell (0, 0) fully
    mask[:, :4, 4:6] = 1  # half of cell (0, 1)
    # weights 1, 0.5, 0, 0 on squared errors 1, 4, 9, 16
    assert perceptual_loss(f1, f2, mask).item() == pytest.approx((1 + 0.5 * 4) / 1.5)
    sigma = torch.full((1, 1, 2, 2), 0.5)
    nll = [(e / (2 * 0.25 + EPS) + math.log(0.5 + EPS)) for e in (1.0, 4.0)]
    got = perceptual_loss(f1, f2, mask, sigma).item()
    assert got == pytest.approx((nll[0] + 0.5 * nll[1]) / 1.5, rel=1e-6)


def test_depth_smoothness_of_a_ramp():
    depth = torch.linspace(0.9, 1.1, 5).expand(2, 4, 5)  # horizontal steps of 0.05
    assert depth_smoothness(depth, 0.9, 1.1).item() == pytest.approx(0.05 / 0.2)
    assert depth_smoothness(torch.ones(1, 3, 3), 0.9, 1.1).item() == 0


def test_loss_weights_validation_and_flip_schedule():
    with pytest.raises(ValueError, match="'lam_perc': -1.0 is out of range; must be >= 0"):
        LossWeights(lam_perc=-1)
    w = LossWeights(lam_flip=0.5, lam_flip_start_epoch=2)
    assert [w.flip_weight(e) for e in range(4)] == [1.0, 1.0, 0.5, 0.5]


def test_reconstruction_loss_combines_terms():
    gen = torch.Generator().manual_seed(0)
    image, recon, recon_flip = (torch.rand(2, 3, 16, 16, generator=gen) for _ in range(3))
    depth = 0.9 + 0.2 * torch.rand(2, 16, 16, generator=gen)
    mask = (torch.rand(2, 16, 16, generator=gen) > 0.3).float()
    sigma = 0.5 + torch.rand(2, 2, 16, 16, generator=gen)
    scene = {
        "image": image,
        "recon": recon,
        "recon_flip": recon_flip,
        "mask": mask,
        "canon_depth": depth,
        "depth_range": (0.9, 1.1),
    }
    weights = LossWeights(lam_perc=0, lam_flip=0.3, lam_depth_sm=0.1)
    total, terms = reconstruction_loss(**scene, weights=weights, sigma_pixel=sigma)
    # The L1 is taken in the release's [-1, 1] units.
    l1 = photometric_l1(recon * 2 - 1, image * 2 - 1, mask, sigma[:, :1])
    l1f = photometric_l1(recon_flip * 2 - 1, image * 2 - 1, mask, sigma[:, 1:])
    dsm = depth_smoothness(depth, 0.9, 1.1)
    torch.testing.assert_close(total, l1 + 0.3 * l1f + 0.1 * dsm)
    assert set(terms) == {"l1", "l1_flip", "depth_sm"}
    with pytest.raises(ValueError, match="lam_perc > 0 needs a PerceptualNet"):
        reconstruction_loss(**scene, weights=LossWeights(lam_perc=1))


def test_missing_vgg_weights_is_a_user_error(tmp_path):
    path = tmp_path / "nowhere" / "vgg16.pth"
    with pytest.raises(UserError) as err:
        load_perceptual_net(path)
    assert str(err.value) == (
        f"{path}: VGG16 weights not found; put torchvision's vgg16-397923af.pth there "
        "or set loss.lam_perc: 0"
    )
    # Default: torchvision's cache file under $TORCH_HOME (tests point it at an empty folder).
    with pytest.raises(UserError, match="vgg16-397923af.pth: VGG16 weights not found"):
        load_perceptual_net("")
    assert default_vgg_path().name == "vgg16-397923af.pth"


def test_wrong_state_dict_is_a_user_error(tmp_path):
    path = tmp_path / "not_vgg.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, path)
    with pytest.raises(UserError, match="not torchvision's VGG16 state dict"):
        load_perceptual_net(path)
    path.write_bytes(b"garbage")
    with pytest.raises(UserError, match="cannot read VGG16 weights"):
        load_perceptual_net(path)


def test_perceptual_net_loads_torchvision_vgg16_state_dict(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    vgg = torchvision.models.vgg16(weights=None)
    # Save the layers up to relu3_3 with torchvision's key names (the whole file would be 528 MB).
    state = {k: v for k, v in vgg.state_dict().items() if k.startswith("features.")}
    path = tmp_path / "vgg16-397923af.pth"
    torch.save(state, path)
    net = load_perceptual_net(path)
    assert all(not p.requires_grad for p in net.parameters())
    x = torch.rand(2, 3, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406])[None, :, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[None, :, None, None]
    with torch.no_grad():
        expected = vgg.features[:16]((x - mean) / std)
        got = net(x)
    assert got.shape == (2, 256, 8, 8)
    torch.testing.assert_close(got, expected)
    net.train()
    assert not net.training  # always a fixed feature extractor


def test_perceptual_net_passes_gradient_to_input():
    net = PerceptualNet()
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_reconstruction_loss_perceptual_terms():
    gen = torch.Generator().manual_seed(1)
    image, recon, recon_flip = (torch.rand(2, 3, 16, 16, generator=gen) for _ in range(3))
    mask = torch.ones(2, 16, 16)
    sigma_perc = 0.5 + torch.rand(2, 2, 4, 4, generator=gen)
    net = PerceptualNet()
    total, terms = reconstruction_loss(
        image=image,
        recon=recon,
        recon_flip=recon_flip,
        mask=mask,
        canon_depth=torch.ones(2, 16, 16),
        depth_range=(0.9, 1.1),
        weights=LossWeights(lam_perc=2.0, lam_flip=0.5),
        sigma_perc=sigma_perc,
        perceptual=net,
    )
    with torch.no_grad():
        perc = perceptual_loss(net(recon), net(image), mask, sigma_perc[:, :1])
        perc_flip = perceptual_loss(net(recon_flip), net(image), mask, sigma_perc[:, 1:])
    torch.testing.assert_close(terms["perc"], perc)
    torch.testing.assert_close(terms["perc_flip"], perc_flip)
    expected = terms["l1"] + 0.5 * terms["l1_flip"] + 2.0 * (perc + 0.5 * perc_flip)
    torch.testing.assert_close(total, expected)
