"""gdrae (baselines/gdrae.py): the injective flow decoder, the singular-value predictor, the
power-iteration spectral norm against the full Jacobian, the objective's switches and errors."""

from __future__ import annotations

import pytest
import torch

from baselines.gdrae import GDRAE, FlowDecoder, GDRAESettings, power_iteration_sn
from unsup3d.api import UserError, build_model, load_config

TINY = [
    "model.name=gdrae",
    "data.image_size=16",
    "model.nz=4",
    "model.ncs=[16, 8, 4]",
    "model.hidden_ncs=[16, 8, 4]",
    "model.middle_ns_flows=[1, 1]",
    "model.enc_ncs=[8, 8]",
    "model.enc_hidden=16",
]


def _scramble(module: torch.nn.Module, seed: int = 0, std: float = 0.3) -> None:
    """Large random trained weights, so no test passes because a coupling is near zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)


@pytest.mark.parametrize("preset", ["paper", "tiny"])
def test_flow_decoder_is_injective_in_float64(preset):
    torch.manual_seed(0)
    st = GDRAESettings() if preset == "paper" else load_config(None, TINY).model
    flow = FlowDecoder(st.nz, st.init_size, st.ncs, st.hidden_ncs, st.middle_ns_flows).double()
    _scramble(flow)
    z = torch.rand(6, st.nz, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    z = 1.7 * (2 * z - 1)
    y = flow(z)  # the full output, before the sigmoid and the channel cut
    assert y.shape == (6, st.ncs[-1], st.image_size, st.image_size)
    assert y.abs().max() > 0.1
    torch.testing.assert_close(flow.inverse(y), z, rtol=0, atol=1e-4)


def test_decoder_code_round_trip_with_capacity():
    torch.manual_seed(0)
    model = build_model(load_config(None, TINY)).double()
    _scramble(model)
    z = torch.randn(5, 4, dtype=torch.float64)
    y = model.flow(model.log_capacity.exp() * z)
    torch.testing.assert_close(
        model.flow.inverse(y) / model.log_capacity.exp(), z, rtol=0, atol=1e-4
    )
    torch.testing.assert_close(model.decode_logits(z), y[:, :3])


def test_fixed_orthogonal_convs_are_orthogonal_buffers_and_only_convts_train():
    model = build_model(load_config(None, TINY))
    trained = {n for n, _ in model.flow.named_parameters()}
    assert trained and all(".convt." in n for n in trained)
    for name, buf in model.flow.named_buffers():
        eye = torch.eye(len(buf))
        torch.testing.assert_close(buf @ buf.t(), eye, rtol=0, atol=1e-5, msg=name)


def test_predicted_singular_values_multiply_to_one():
    model = build_model(load_config(None, TINY))
    _scramble(model.sv_predictor, std=0.04)
    logsv = model.log_singular_values(torch.randn(16, 4) * 3)
    assert logsv.abs().max() > 0.2
    torch.testing.assert_close(logsv.exp().prod(1), torch.ones(16), rtol=1e-4, atol=0)


def test_power_iteration_matches_the_full_jacobian_top_singular_value():
    torch.manual_seed(0)
    st = load_config(None, TINY).model
    flow = FlowDecoder(st.nz, st.init_size, st.ncs, st.hidden_ncs, st.middle_ns_flows).double()
    _scramble(flow, seed=3)
    z = torch.rand(3, st.nz, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    gap = torch.tensor([4.0, 1.0, 0.7, 0.5], dtype=torch.float64)  # a clear spectral gap

    def fn(e):
        return flow(z + gap * (e - 1))

    def slope(y):
        return torch.sigmoid(y) * (1 - torch.sigmoid(y))

    g = torch.Generator().manual_seed(0)
    estimate = power_iteration_sn(fn, torch.ones_like(z), 50, g, slope=slope).sqrt()
    for i in range(3):
        jac = torch.autograd.functional.jacobian(
            lambda e, i=i: fn(e)[i].flatten(), torch.ones_like(z)
        )
        jac = jac[:, i] * slope(fn(torch.ones_like(z))[i].flatten())[:, None]  # (D, nz)
        svals = torch.linalg.svdvals(jac.detach())
        assert svals[0] > 1.5 * svals[1]
        assert abs(estimate[i].item() / svals[0].item() - 1) < 0.01


def test_jacobian_penalty_reaches_the_couplings_and_the_sv_predictor():
    torch.manual_seed(0)
    model = build_model(load_config(None, TINY))
    g = torch.Generator().manual_seed(0)
    jac = model.jacobian_terms(model.random_codes(4, g, torch.zeros(1)), g)
    torch.nanmean(jac["logsn"] ** 2).backward()
    assert model.flow.init_flow.coupling.convt.weight.grad.abs().sum() > 0
    assert model.sv_predictor.net[0].weight.grad.abs().sum() > 0
    assert model.encoder[0].weight.grad is None


def test_terms_weights_and_jacobian_every_k_steps():
    torch.manual_seed(0)
    model = build_model(load_config(None, [*TINY, "model.jacob_every=2"]))
    x = torch.rand(4, 3, 16, 16)
    g = torch.Generator().manual_seed(0)
    _, every = model.training_terms(x, g, epoch=0, step=0)
    assert {"recon", "kld", "jacob_sn", "jacob_sv", "norm_capacity", "norm_sv", "total"} <= set(
        every
    )
    _, skipped = model.training_terms(x, torch.Generator().manual_seed(0), epoch=0, step=1)
    assert "jacob_sn" not in skipped
    # BCE summed over pixels, averaged over the batch; the box hinge; the weighted total.
    st = model.settings
    torch.testing.assert_close(
        every["total"],
        st.lambda_recon * every["recon"]
        + st.lambda_kld * every["kld"]
        + st.lambda_jacob_sn * every["jacob_sn"]
        + st.lambda_jacob_sv * every["jacob_sv"]
        + st.lambda_norm_capacity * every["norm_capacity"]
        + st.lambda_norm_sv * every["norm_sv"],
    )
    assert every["recon"] > 0.5 * 3 * 16 * 16  # BCE of a near-0.5 output, summed over pixels
    # The validation terms are deterministic.
    a = model.validation_terms(x, torch.Generator().manual_seed(5))
    b = model.validation_terms(x, torch.Generator().manual_seed(5))
    assert a == b


def test_box_hinge_of_known_codes():
    model = build_model(load_config(None, TINY))
    with torch.no_grad():
        model.encoder[-1].bias.copy_(torch.tensor([1.5, -2.0, 0.5, 0.0]))
        model.encoder[-1].weight.zero_()
    _, terms = model.training_terms(torch.rand(2, 3, 16, 16), torch.Generator(), epoch=0, step=0)
    torch.testing.assert_close(terms["kld"], torch.tensor(0.5 + 1.0))


def test_readme_spelling_of_the_capacity_weight():
    model = build_model(load_config(None, [*TINY, "model.lambda_norm_logcap=3.0"]))
    assert model.settings.capacity_weight == 3.0
    assert build_model(load_config(None, TINY)).settings.capacity_weight == 10.0
    with pytest.raises(UserError, match="lambda_norm_logcap"):
        load_config(None, [*TINY, "model.lambda_norm_logcap=3.0", "model.lambda_norm_capacity=2.0"])


def test_traversal_grid_rows_sweep_one_dim():
    model = build_model(load_config(None, TINY)).eval()
    grid = model.traversal(torch.rand(2, 3, 16, 16), n_steps=5)
    assert grid.shape == (2, 4, 7, 3, 16, 16)
    assert 0 <= grid.min() and grid.max() <= 1


def test_bad_input_is_one_line():
    with pytest.raises(UserError, match=r"data.image_size 32 .* set data.image_size: 64"):
        build_model(load_config(None, ["model.name=gdrae", "data.image_size=32"]))
    with pytest.raises(UserError, match="'model.sigma'"):
        load_config(None, ["model.name=gdrae", "model.sigma=0"])
    with pytest.raises(UserError, match="'model.lambda_kld'"):
        load_config(None, ["model.name=gdrae", "model.lambda_kld=-1"])
    with pytest.raises(UserError, match="'model.ncs'"):
        load_config(None, ["model.name=gdrae", "model.nz=80"])
    with pytest.raises(UserError, match="'model.hidden_ncs'"):
        load_config(None, ["model.name=gdrae", "model.hidden_ncs=[8]"])
    with pytest.raises(ValueError, match=r"images must be \(B, 3, 16, 16\)"):
        build_model(load_config(None, TINY)).encode(torch.rand(1, 3, 32, 32))
    assert GDRAE.feature_groups == ("latent",)


def test_extracted_posterior_means_load_in_cluster_eval(tmp_path):
    import run
    from clustering import cluster_eval
    from unsup3d.api import load_features

    model_keys = "".join(f"  {o.split('=')[0][6:]}: {o.split('=')[1]}\n" for o in TINY[2:])
    cfg = tmp_path / "gdrae.yaml"
    cfg.write_text(
        f"run:\n  output_dir: {tmp_path / 'run'}\n  seed: 0\n"
        "data:\n  name: synthetic_faces\n  image_size: 16\n  num_train: 8\n  num_val: 4\n"
        f"  num_test: 24\nmodel:\n  name: gdrae\n{model_keys}"
        "trainer:\n  num_epochs: 1\n  batch_size: 4\n  checkpoint_every: 0\n  tensorboard: false\n"
    )
    assert run.main(["--config", str(cfg)]) == 0
    feats = tmp_path / "gdrae.npz"
    argv = ["extract", "--checkpoint", str(tmp_path / "run" / "best.pt"), "--split", "test"]
    assert run.main([*argv, "--output", str(feats)]) == 0
    fs = load_features(feats)
    assert fs.groups == ["latent"] and len(fs) == 24 and fs.meta["model"] == "gdrae"
    argv = [str(feats), "--groups", "latent", "--attributes", "identity"]
    assert cluster_eval.main([*argv, "--output_dir", str(tmp_path / "c")]) == 0


def test_sector2d_points_are_area_uniform_on_the_quarter_annulus():
    from baselines.gdrae import sector2d_points

    x = sector2d_points(20000, torch.Generator().manual_seed(0))
    r, angle = x.norm(dim=1), torch.atan2(x[:, 1], x[:, 0])
    assert r.min() >= 1 - 1e-6 and r.max() <= 2 + 1e-6
    assert angle.min() >= -1e-6 and angle.max() <= torch.pi / 2 + 1e-6
    # area fraction inside radius 1.5: (1.5^2 - 1) / (2^2 - 1) = 5/12
    assert abs((r < 1.5).float().mean().item() - 5 / 12) < 0.01


def test_sector2d_toy_trains_and_draws(tmp_path, capsys):
    from baselines.gdrae import Sector2DSettings, main, train_sector2d
    from unsup3d.cli import cli_main

    st = Sector2DSettings(input_nc=16, hidden_nc=32, num_points=256)
    model, history = train_sector2d(st, 120, lr=1e-3)
    assert history[-1]["recon"] < 0.5 * history[0]["recon"]
    z = torch.rand(5, 2) * 2 - 1
    y = model.flow(model.log_capacity.exp() * z)[:, :, None, None]
    for f in reversed(model.flows):
        y = f.inverse(model.final.transpose(y) if f is model.flows[-1] else y)
    torch.testing.assert_close(
        model.embed.transpose(y)[:, :, 0, 0] / model.log_capacity.exp(), z, atol=1e-4, rtol=0
    )
    out = tmp_path / "sector.png"
    argv = ["sector2d", "--steps", "2", "--input_nc", "16", "--hidden_nc", "8"]
    assert main([*argv, "--output", str(out)]) == 0 and out.stat().st_size > 1000
    assert cli_main(main, [*argv, "--output", str(out)]) == 2  # exists, no --overwrite
    assert (
        cli_main(main, ["sector2d", "--input_nc", "15", "--output", str(tmp_path / "b.png")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert "--overwrite" in err[0] and err[1].startswith("error: --input_nc: 15 must be even")
