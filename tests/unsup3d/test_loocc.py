import math

import pytest
import torch

from unsup3d.loocc import (
    GROUPS,
    PERTURBABLE,
    LooccSettings,
    direction_angles,
    loocc_contrastive,
    loocc_loss,
    nt_xent,
    perturb,
    render_perturbed,
    sample_choice,
    supcon_release,
)
from unsup3d.model import InverseRenderer, ModelSettings
from unsup3d.renderer import Geometry, Renderer, light_direction

LIGHT, VIEW = PERTURBABLE.index("light"), PERTURBABLE.index("view")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _features(batch, dim, seed, requires_grad=False):
    g = _gen(seed)
    return {
        k: torch.randn(batch, dim, generator=g, dtype=torch.float64).requires_grad_(requires_grad)
        for k in GROUPS
    }


def _naive_loocc(features, features_aug, choice, temperature):
    """Per-pair NT-Xent with Python loops, per perturbed-parameter subset, size-weighted."""
    batch = len(choice)
    total = 0.0
    for index, param in enumerate(PERTURBABLE):
        rows = [i for i in range(batch) if int(choice[i]) == index]
        if not rows:
            continue
        kept = [g for g in GROUPS if g != param]
        items = [torch.cat([features[g][i] for g in kept]).tolist() for i in rows]
        items += [torch.cat([features_aug[g][i] for g in kept]).tolist() for i in rows]
        items = [[v / math.sqrt(sum(x * x for x in it)) for v in it] for it in items]
        n = len(rows)

        def sim(a, b, items=items):
            return sum(x * y for x, y in zip(items[a], items[b])) / temperature

        losses = []
        for a in range(2 * n):
            positive = (a + n) % (2 * n)
            den = sum(math.exp(sim(a, k)) for k in range(2 * n) if k != a)
            losses.append(-math.log(math.exp(sim(a, positive)) / den))
        total += sum(losses) / len(losses) * n / batch
    return total


def test_settings_validation():
    assert LooccSettings().params == () and not LooccSettings().active
    assert LooccSettings(variant="L").params == ("light",)
    assert LooccSettings(variant="LV").params == ("light", "view")
    assert not LooccSettings(variant="LV", weight=0).active
    with pytest.raises(ValueError, match="'variant': 'LOOCC' is not one of 'none', 'L', 'LV'"):
        LooccSettings(variant="LOOCC")
    with pytest.raises(ValueError, match="'compat': 'paper' is not one of 'clean', 'release'"):
        LooccSettings(compat="paper")
    with pytest.raises(ValueError, match="'temperature': 0.0 is out of range; must be > 0"):
        LooccSettings(temperature=0)
    with pytest.raises(ValueError, match="view_yaw_deg cannot be changed with compat 'release'"):
        LooccSettings(variant="LV", compat="release", view_yaw_deg=10)


def test_choice_per_sample_and_per_batch():
    lv = LooccSettings(variant="LV")
    choice = sample_choice(64, lv, _gen())
    assert choice.shape == (64,) and set(choice.tolist()) == {LIGHT, VIEW}
    assert torch.equal(choice, sample_choice(64, lv, _gen()))
    assert set(sample_choice(16, LooccSettings(variant="L"), _gen()).tolist()) == {LIGHT}
    release = LooccSettings(variant="LV", compat="release")
    draws = [sample_choice(8, release, _gen(s)) for s in range(10)]
    assert all(len(set(d.tolist())) == 1 for d in draws)  # one choice per batch
    assert {d[0].item() for d in draws} == {LIGHT, VIEW}


def _scene(batch, seed=0):
    g = _gen(seed)
    u = torch.rand(batch, 10, generator=g)
    light = torch.stack([u[:, 0] * 0.3, u[:, 1], u[:, 2] * 2 - 1, u[:, 3] * 2 - 1], dim=1)
    view = torch.cat([(u[:, 4:7] * 2 - 1) * 1.0, (u[:, 7:10] * 2 - 1) * 0.1], dim=1)
    return light, view


def test_clean_perturbations_stay_in_their_ranges():
    settings = LooccSettings(variant="LV")
    light, view = _scene(512)
    choice = sample_choice(512, settings, _gen(1))
    p = perturb(light, view, choice, settings, _gen(2))
    is_light, is_view = choice == LIGHT, choice == VIEW
    # Light rows: intensities offset by at most 0.5, then clamped to >= 0.
    for new, old in ((p.ambient, light[:, 0]), (p.diffuse, light[:, 1])):
        assert (new >= 0).all()
        unclamped, clamped = is_light & (new > 0), is_light & (new == 0)
        assert (new - old)[unclamped].abs().max() <= 0.5 + 1e-6
        assert (new - old)[unclamped].abs().max() > 0.4
        assert (old[clamped] <= 0.5 + 1e-6).all()  # old + offset <= 0 needs old <= 0.5
        assert torch.equal(new[is_view], old[is_view])
    # Direction: unit, yaw and pitch each moved by at most 45 degrees, and by more than 30 for some.
    old_dir = light_direction(light[:, 2:])
    torch.testing.assert_close(p.light_dir.norm(dim=1), torch.ones(512))
    (yaw0, pitch0), (yaw1, pitch1) = direction_angles(old_dir), direction_angles(p.light_dir)
    for d in (yaw1 - yaw0, pitch1 - pitch0):
        d = d[is_light]
        assert d.abs().max() <= math.radians(45) + 1e-5
        assert d.abs().max() > math.radians(30)
    assert ((p.ambient == 0) & is_light).any()  # small ambients (< 0.3 here) do get clamped
    assert torch.equal(p.light_dir[is_view], old_dir[is_view])
    # View rows: pitch within 22.5 degrees, yaw within 45, the rest unchanged; light rows untouched.
    dv = p.view - view
    assert dv[is_view, 0].abs().max() <= math.radians(22.5) + 1e-6
    assert dv[is_view, 0].abs().max() > math.radians(15)
    assert dv[is_view, 1].abs().max() <= math.radians(45) + 1e-6
    assert dv[is_view, 1].abs().max() > math.radians(30)
    assert (dv[:, 2:] == 0).all() and (dv[is_light] == 0).all()


def test_release_perturbations():
    settings = LooccSettings(variant="LV", compat="release")
    light, view = _scene(256)
    light_rows = torch.full((256,), LIGHT)
    p = perturb(light, view, light_rows, settings, _gen(3))
    old_dir = light_direction(light[:, 2:])
    # Additive noise on each of x, y, z of the unit direction, not renormalised; no clamp.
    assert (p.light_dir - old_dir).abs().max() <= math.pi / 8 + 1e-6
    assert (p.light_dir.norm(dim=1) - 1).abs().max() > 0.05
    assert (p.ambient - light[:, 0]).abs().max() <= 0.5 + 1e-6
    assert (p.ambient < 0).any()
    q = perturb(light, view, torch.full((256,), VIEW), settings, _gen(3))
    dv = q.view - view
    assert dv[:, 0].abs().max() <= math.pi / 16 + 1e-6
    assert dv[:, 1].abs().max() <= math.pi / 8 + 1e-6
    assert dv[:, 1].abs().max() > math.pi / 16


def test_nt_xent_matches_naive_per_pair_implementation():
    feats, feats_aug = _features(5, 4, 0), _features(5, 4, 1)
    choice = torch.tensor([LIGHT, VIEW, VIEW, LIGHT, VIEW])
    got = loocc_contrastive(feats, feats_aug, choice, 0.5, "clean")
    assert got.item() == pytest.approx(_naive_loocc(feats, feats_aug, choice, 0.5), rel=1e-10)
    one_subset = torch.full((5,), VIEW)
    got = loocc_contrastive(feats, feats_aug, one_subset, 0.2, "clean")
    assert got.item() == pytest.approx(_naive_loocc(feats, feats_aug, one_subset, 0.2), rel=1e-10)


def test_nt_xent_single_pair_has_no_negatives():
    z = torch.randn(1, 8)
    assert nt_xent(z, torch.randn(1, 8), 0.5).item() == 0


def test_left_out_group_gets_no_gradient_from_the_contrastive_term():
    feats, feats_aug = _features(6, 3, 0, True), _features(6, 3, 1, True)
    choice = torch.tensor([LIGHT, LIGHT, VIEW, LIGHT, VIEW, VIEW])
    loocc_contrastive(feats, feats_aug, choice, 0.5, "clean").backward()
    for d in (feats, feats_aug):
        for group in GROUPS:
            grad = d[group].grad.abs().sum(dim=1)
            left_out = choice == PERTURBABLE.index(group) if group in PERTURBABLE else None
            if left_out is not None:
                assert (grad[left_out] == 0).all(), group
                assert (grad[~left_out] > 0).all(), group
            else:
                assert (grad > 0).all(), group


def test_release_loss_matches_hand_computed_values():
    # Orthonormal twins: each anchor has logits 2 (positive) and 0, 0 (negatives) at T = 0.5.
    e = torch.eye(3)[:2].double()  # (2, 3)
    expected = (0.5 / 0.07) * (math.log(math.exp(2) + 2) - 2)  # = 1.711034...
    assert supcon_release(e, e, 0.5).item() == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(1.711034, abs=1e-6)
    # Through loocc_contrastive with 1-d groups: light perturbed, kept (depth, albedo, view).
    feats = {
        "depth": torch.tensor([[2.0], [0.0]]),
        "albedo": torch.tensor([[0.0], [1.0]]),
        "light": torch.tensor([[5.0], [7.0]]),  # left out
        "view": torch.tensor([[0.0], [0.0]]),
    }
    aug = {
        "depth": torch.tensor([[1.0], [0.0]]),
        "albedo": torch.tensor([[0.0], [0.0]]),
        "light": torch.tensor([[-3.0], [9.0]]),  # left out
        "view": torch.tensor([[0.0], [1.0]]),
    }
    # Items (2,0,0), (0,1,0) and twins (1,0,0), (0,0,1): dot products / 0.5 are 4 for the first
    # pair, 0 otherwise. Anchors 1 and 3: -log(e^4 / (e^4 + 2)); anchors 2 and 4: log 3.
    hand = (0.5 / 0.07) * (math.log(1 + 2 * math.exp(-4)) + math.log(3)) / 2
    assert hand == pytest.approx(4.052102, abs=1e-6)
    choice = torch.full((2,), LIGHT)
    got = loocc_contrastive(feats, aug, choice, 0.5, compat="release")
    assert got.item() == pytest.approx(hand, rel=1e-6)
    # The clean loss normalises: the first pair becomes parallel (logit 2).
    clean = (math.log(1 + 2 * math.exp(-2)) + math.log(3)) / 2
    assert loocc_contrastive(feats, aug, choice, 0.5, "clean").item() == pytest.approx(
        clean, rel=1e-6
    )


def _model_and_output(variant="LV", compat="clean", size=32, batch=6, seed=0):
    torch.manual_seed(seed)
    model = InverseRenderer(ModelSettings(preset="small"), Renderer(size))
    images = torch.rand(batch, 3, size, size, generator=_gen(seed))
    return model, model(images), LooccSettings(variant=variant, compat=compat, weight=1.0)


def test_same_generator_same_loss():
    model, out, settings = _model_and_output()
    a = loocc_loss(out, model.renderer, model.encode, settings, _gen(5)).loss
    b = loocc_loss(out, model.renderer, model.encode, settings, _gen(5)).loss
    c = loocc_loss(out, model.renderer, model.encode, settings, _gen(6)).loss
    assert torch.equal(a, b)
    assert a.item() != c.item()


def test_pipeline_leaves_the_perturbed_feature_out_but_encoders_get_render_gradient():
    model, out, settings = _model_and_output(variant="L")
    # Route the contrastive term's use of the features through leaf copies.
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in out.features.items()}
    out.features = leaves
    result = loocc_loss(out, model.renderer, model.encode, settings, _gen(0))
    assert "light" not in result.features  # the light encoder never runs on re-rendered images
    result.loss.backward()
    assert leaves["light"].grad is None or (leaves["light"].grad == 0).all()
    for group in ("depth", "albedo", "view"):
        assert leaves[group].grad.abs().sum(dim=1).min() > 0, group
    # The light network still gets gradient: its prediction shapes the re-rendered image.
    light_grad = sum(p.grad.abs().sum() for p in model.light_net.parameters() if p.grad is not None)
    assert light_grad > 0


def test_pipeline_matches_contrastive_on_returned_features():
    model, out, settings = _model_and_output(variant="LV", batch=8)
    result = loocc_loss(out, model.renderer, model.encode, settings, _gen(1))
    choice = result.perturbation.choice
    torch.testing.assert_close(
        result.loss, loocc_contrastive(out.features, result.features, choice, 0.5, "clean")
    )
    # The re-rendered images' features are the encoders' on those images.
    with torch.no_grad():
        direct = model.encode(result.image * 2 - 1, ["depth"])["depth"]
    torch.testing.assert_close(result.features["depth"], direct, rtol=1e-4, atol=1e-5)


def test_zero_perturbation_re_renders_the_reconstruction():
    model, out, _ = _model_and_output(variant="LV")
    still = LooccSettings(
        variant="LV",
        light_intensity_delta=0,
        light_direction_deg=0,
        view_pitch_deg=0,
        view_yaw_deg=0,
    )
    result = loocc_loss(out, model.renderer, model.encode, still, _gen(0))
    m = out.mask[:, None].bool().expand_as(out.recon_image)
    torch.testing.assert_close(result.image[m], out.recon_image[m], rtol=1e-5, atol=1e-5)


def test_release_pipeline_one_choice_and_both_halves():
    model, out, settings = _model_and_output(variant="LV", compat="release", batch=4)
    result = loocc_loss(out, model.renderer, model.encode, settings, _gen(2))
    assert result.perturbation.view.shape == (8, 6)  # both halves of the flipped batch
    assert len(set(result.perturbation.choice.tolist())) == 1
    assert torch.isfinite(result.loss) and result.loss > 0


def test_loocc_needs_a_generator_and_a_variant():
    model, out, settings = _model_and_output()
    with pytest.raises(ValueError, match="explicit torch.Generator"):
        loocc_loss(out, model.renderer, model.encode, settings, None)
    with pytest.raises(ValueError, match="variant 'none' has no LOOCC term"):
        loocc_loss(out, model.renderer, model.encode, LooccSettings(), _gen())


def test_light_rows_reuse_the_geometry_exactly_like_a_full_re_render():
    model, out, settings = _model_and_output(variant="LV", batch=6)
    choice = torch.tensor([LIGHT, VIEW, LIGHT, LIGHT, VIEW, LIGHT])
    pert = perturb(out.light, out.view, choice, settings, _gen(4))
    args = (model.renderer, out.canon_depth, out.albedo, pert, out.canon_normal)
    geometry = Geometry(out.recon_depth, out.recon_covered, out.recon_grid)
    fast_image, fast_mask = render_perturbed(*args, geometry)
    full_image, full_mask = render_perturbed(*args)
    assert torch.equal(fast_mask, full_mask)
    torch.testing.assert_close(fast_image, full_image, rtol=1e-5, atol=1e-5)
    # Same gradients as well (the geometry's graph is the main pass's).
    g1 = torch.autograd.grad((fast_image * fast_mask[:, None]).sum(), out.albedo, retain_graph=True)
    g2 = torch.autograd.grad((full_image * full_mask[:, None]).sum(), out.albedo)
    torch.testing.assert_close(g1[0], g2[0], rtol=1e-5, atol=1e-5)
