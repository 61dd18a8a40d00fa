"""FDAE (baselines/fdae.py): masks, the condition map, EDM preconditioning, the regularisers,
the sampler, the presets' sizes and errors."""

from __future__ import annotations

import pytest
import torch

from baselines.fdae import (
    condition_map,
    content_decorrelation_loss,
    edm_loss_weight,
    edm_scalings,
    karras_sigmas,
    mask_entropy_loss,
)
from unsup3d.api import UserError, build_model, count_parameters, load_config

TINY = ["model.name=fdae", "model.preset=tiny", "data.image_size=16", "model.num_concepts=3"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(load_config(None, TINY)).eval()


def test_masks_sum_to_one_per_pixel(model):
    _, masks = model.encode(torch.rand(4, 3, 16, 16))
    assert masks.shape == (4, 3, 16, 16) and masks.min() >= 0
    torch.testing.assert_close(masks.sum(1), torch.ones(4, 16, 16))


def test_changing_one_content_code_changes_the_condition_map_by_its_mask(model):
    codes, masks = model.encode(torch.rand(2, 3, 16, 16))
    n = 1
    delta = torch.randn(2, codes.adjusted.shape[2])
    changed = codes.adjusted.clone()
    changed[:, n] += delta
    diff = condition_map(changed, masks) - condition_map(codes.adjusted, masks)
    expected = masks[:, n, None] * delta[:, :, None, None]  # (B, da, S, S)
    torch.testing.assert_close(diff, expected, rtol=1e-5, atol=1e-6)
    # ... and through the model: changing content code n (before the adjust layer) moves the
    # map by mask_n x (adjust_n(c + d) - adjust_n(c)).
    c2 = codes.content.clone()
    c2[:, n] += 0.5
    adj2 = model.encoder.adjust[n](c2[:, n])
    diff = condition_map(
        torch.stack([codes.adjusted[:, 0], adj2, codes.adjusted[:, 2]], 1), masks
    ) - condition_map(codes.adjusted, masks)
    expected = masks[:, n, None] * (adj2 - codes.adjusted[:, n])[:, :, None, None]
    torch.testing.assert_close(diff, expected, rtol=1e-5, atol=1e-6)


def test_edm_preconditioning_matches_the_paper_and_is_the_identity_at_sigma_0(model):
    sd = 0.5
    c_skip, c_out, c_in = edm_scalings(torch.tensor(sd), sd)
    torch.testing.assert_close(c_skip, torch.tensor(0.5))
    torch.testing.assert_close(c_out, torch.tensor(sd / 2**0.5))
    torch.testing.assert_close(c_in, torch.tensor(1 / (sd * 2**0.5)))
    s = torch.tensor([0.1, 1.0, 3.0])
    # lambda = (s^2 + sd^2) / (s sd)^2 = 1 / c_out^2: unit-weighted effective target.
    torch.testing.assert_close(edm_loss_weight(s, sd), (s**2 + sd**2) / (s * sd) ** 2)
    torch.testing.assert_close(edm_loss_weight(s, sd) * edm_scalings(s, sd)[1] ** 2, torch.ones(3))
    # D(x; sigma) -> x as sigma -> 0 whatever the network outputs.
    with torch.no_grad():
        for p in model.unet.out.parameters():
            p.normal_()
        x = torch.rand(2, 3, 16, 16) * 2 - 1
        cond = torch.randn(2, model.settings.adjust_dim, 16, 16)
        out = model.denoise(x, torch.full((2,), 1e-7), cond)
        assert (model.denoise(x, torch.full((2,), 1.0), cond) - x).abs().max() > 1e-2
    torch.testing.assert_close(out, x, rtol=0, atol=1e-5)


def test_karras_schedule_ends():
    s = karras_sigmas(40, 0.002, 80.0, 7.0)
    assert len(s) == 41 and s[-1] == 0
    torch.testing.assert_close(s[[0, 39]], torch.tensor([80.0, 0.002]))
    assert (s[:-1] > s[1:]).all()


def test_content_decorrelation_known_answers():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(64, 1, 8, generator=g)
    same = base.repeat(1, 2, 1)  # two identical concepts: |<.,.>| = B / N^2 per pair
    torch.testing.assert_close(content_decorrelation_loss(same), torch.tensor(64 / 4.0))
    ortho = torch.zeros(64, 2, 8)
    ortho[:, 0, :4] = torch.randn(64, 4, generator=g)
    ortho[:, 1, 4:] = torch.randn(64, 4, generator=g)
    torch.testing.assert_close(content_decorrelation_loss(ortho), torch.tensor(0.0))
    perm = torch.randperm(64, generator=g)
    x = torch.randn(64, 3, 8, generator=g)
    torch.testing.assert_close(content_decorrelation_loss(x), content_decorrelation_loss(x[perm]))


def test_mask_entropy_known_answers():
    uniform = torch.full((2, 4, 3, 3), 0.25)
    torch.testing.assert_close(mask_entropy_loss(uniform), torch.log(torch.tensor(4.0)))
    onehot = torch.zeros(2, 4, 3, 3)
    onehot[:, 2] = 1
    torch.testing.assert_close(mask_entropy_loss(onehot), torch.tensor(0.0))


def test_terms_and_weights(model):
    x = torch.rand(4, 3, 16, 16)
    total, terms = model.training_terms(x, torch.Generator().manual_seed(0), epoch=0, step=0)
    st = model.settings
    torch.testing.assert_close(
        terms["total"],
        terms["recon"]
        + st.content_decorrelation_weight * terms["content_decorrelation"]
        + st.mask_entropy_weight * terms["mask_entropy"],
    )
    a = model.validation_terms(x, torch.Generator().manual_seed(3))
    assert a == model.validation_terms(x, torch.Generator().manual_seed(3))


def test_sampler_is_deterministic_and_swaps_decode(model):
    x = torch.rand(2, 3, 16, 16)
    a = model.reconstruct(x, steps=3)
    torch.testing.assert_close(a, model.reconstruct(x, steps=3), rtol=0, atol=0)
    assert a.shape == (2, 3, 16, 16) and 0 <= a.min() and a.max() <= 1
    assert model.swap(x, x.flip(0), 0, "mask").shape == (2, 3, 16, 16)


def test_feature_groups_are_the_content_and_mask_codes(model):
    f = model.get_features(torch.rand(3, 3, 16, 16))
    assert list(f) == ["content_0", "content_1", "content_2", "mask_0", "mask_1", "mask_2"]
    assert all(v.shape == (3, 80) for v in f.values())
    assert list(model.get_features(torch.rand(1, 3, 16, 16), ["mask_1"])) == ["mask_1"]


def test_paper_preset_sizes_of_the_facts():
    cfg = load_config(None, ["model.name=fdae", "model.preset=paper", "data.image_size=64"])
    m = build_model(cfg)
    assert count_parameters(m.encoder) == 14_790_561  # facts: CMFNet ~14.8M
    assert count_parameters(m.encoder.mask_decoder) == 3_082_689  # facts: 3.08M
    assert 2.5e8 < count_parameters(m.unet) < 3.2e8  # facts: ~0.3B
    assert isinstance(m.make_optimizer(cfg.trainer), torch.optim.RAdam)


def test_bad_input_is_one_line():
    with pytest.raises(
        UserError, match=r"data.image_size 32 .*'cpu' \(64 px\); set data.image_size: 64"
    ):
        build_model(load_config(None, ["model.name=fdae", "data.image_size=32"]))
    with pytest.raises(UserError, match="'model.num_concepts'"):
        load_config(None, ["model.name=fdae", "model.num_concepts=1"])
    with pytest.raises(UserError, match="'model.mask_entropy_weight'"):
        load_config(None, ["model.name=fdae", "model.mask_entropy_weight=-1"])
    with pytest.raises(UserError, match="'model.sigma_min'"):
        load_config(None, ["model.name=fdae", "model.sigma_min=100"])


def test_extracted_codes_load_in_cluster_eval(tmp_path):
    import run
    from clustering import cluster_eval
    from unsup3d.api import load_features

    cfg = tmp_path / "fdae.yaml"
    cfg.write_text(
        f"run:\n  output_dir: {tmp_path / 'run'}\n  seed: 0\n"
        "data:\n  name: synthetic_faces\n  image_size: 16\n  num_train: 8\n  num_val: 4\n"
        "  num_test: 24\nmodel:\n  name: fdae\n  preset: tiny\n  num_concepts: 2\n"
        "  sample_steps: 2\ntrainer:\n  num_epochs: 1\n  batch_size: 4\n  checkpoint_every: 0\n"
        "  tensorboard: false\n"
    )
    assert run.main(["--config", str(cfg)]) == 0
    feats = tmp_path / "fdae.npz"
    argv = ["extract", "--checkpoint", str(tmp_path / "run" / "best.pt"), "--split", "test"]
    assert run.main([*argv, "--output", str(feats)]) == 0
    fs = load_features(feats)
    assert fs.groups == ["content_0", "content_1", "mask_0", "mask_1"] and len(fs) == 24
    argv = [str(feats), "--groups", "content_0,mask_1", "--attributes", "identity"]
    assert cluster_eval.main([*argv, "--output_dir", str(tmp_path / "c")]) == 0


@pytest.mark.parametrize(
    "name",
    [
        "fdae_synthetic_faces",
        "fdae_shapes3d",
        "gdrae_synthetic_faces",
        "gdrae_dsprites",
        "gdrae_shapes3d",
    ],
)
def test_peer_configs_load_and_build(name):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "baselines" / "configs" / f"{name}.yaml"
    cfg = load_config(path)
    assert cfg.model.name == name.split("_")[0] and cfg.data.image_size == 64
    if name != "fdae_shapes3d":  # the paper U-Net: 0.3B parameters, sizes tested above
        build_model(cfg)
