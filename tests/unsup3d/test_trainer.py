"""`unsup3d.trainer.Trainer` through run.py: exact resume after SIGKILL, refusing a truncated
checkpoint, DDP with torchrun, output-dir and config checks, missing VGG weights, a non-finite loss."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import run
from unsup3d.checkpoint import load_checkpoint
from unsup3d.cli import cli_main
from unsup3d.schema import SettingError
from unsup3d.trainer import TrainerSettings, learning_rate

ROOT = Path(__file__).resolve().parents[2]


def _train_cmd(cfg):
    return [sys.executable, str(ROOT / "run.py"), "--config", str(cfg), "--num_workers", "0"]


@pytest.mark.slow  # three training processes: ~20 s on an idle 2-core machine, minutes under load
def test_sigkill_then_resume_gives_the_same_weights(tiny_config, kill_and_resume):
    cfg_a, out_a = tiny_config("a.yaml", out=None, epochs=3, num_train=16)
    cfg_a.write_text(cfg_a.read_text().replace(str(out_a), str(out_a) + "_a"))
    cfg_b = cfg_a.with_name("b.yaml")
    cfg_b.write_text(cfg_a.read_text().replace(str(out_a) + "_a", str(out_a) + "_b"))
    out_a, out_b = Path(str(out_a) + "_a"), Path(str(out_a) + "_b")
    kill_and_resume(cfg_a, out_a, cfg_b, out_b, epochs=3, timeout_s=60)


def test_truncated_last_checkpoint_is_refused(tiny_config, capsys):
    cfg, out = tiny_config()
    assert (
        run.main(["--config", str(cfg), "--num_workers", "0", "--set", "trainer.max_steps=1"]) == 0
    )
    data = (out / "last.pt").read_bytes()
    (out / "last.pt").write_bytes(data[: len(data) // 3])

    assert (
        cli_main(
            run.main, ["--config", str(cfg), "--num_workers", "0", "--set", "trainer.max_steps=1"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "last.pt: truncated or corrupt checkpoint" in err and "best.pt" in err
    assert load_checkpoint(out / "best.pt")["step"] == 1  # the previous good one still loads


def test_torchrun_two_processes_match_one(tiny_config, tmp_path):
    # One step on the same global batch of 8 (the whole train set), once in one process and once
    # split over two gloo ranks. The losses agree up to the masked-mean normalisation (per rank
    # instead of global). Weights are compared through the update directions: Adam's first step
    # moves every weight by about +-lr (m / sqrt(v) = g / |g|), so near-zero gradients may flip.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    cfg1, out1 = tiny_config("one.yaml", out=tmp_path / "one", variant="none", batch=8, num_train=8)
    cfg2, out2 = tiny_config("two.yaml", out=tmp_path / "two", variant="none", batch=8, num_train=8)
    subprocess.run(_train_cmd(cfg1), check=True, env=env, capture_output=True)
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29517",
    ]
    result = subprocess.run(
        launcher + [str(ROOT / "run.py"), "--config", str(cfg2), "--num_workers", "0"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = load_checkpoint(out1 / "last.pt"), load_checkpoint(out2 / "last.pt")
    assert a["step"] == b["step"] == 1
    ma = json.loads((out1 / "metrics.jsonl").read_text().splitlines()[-1])
    mb = json.loads((out2 / "metrics.jsonl").read_text().splitlines()[-1])
    assert mb["train/recon"] == pytest.approx(ma["train/recon"], rel=1e-2)
    assert mb["val/recon"] == pytest.approx(ma["val/recon"], rel=1e-2)
    # Both runs start from the same seeded weights; lr = 1e-3 per Adam step.
    agree = total = 0
    for key, wa in a["model"].items():
        total += wa.numel()
        agree += int((wa - b["model"][key]).abs().le(5e-5).sum())
    # Most weights took the same step (the rest are the near-zero-gradient sign flips)...
    assert agree / total > 0.9
    # ...and that step was real: the weights left their (seeded) initialisation by ~lr.
    from unsup3d.config import load_config
    from unsup3d.models import build_model
    from unsup3d.utils import seed_everything

    seed_everything(3)
    init = build_model(load_config(cfg1)).state_dict()
    moved = sum(int((a["model"][k] - v).abs().gt(5e-4).sum()) for k, v in init.items())
    assert moved / total > 0.5


def test_nonempty_output_dir_and_config_change(tiny_config, capsys):

    cfg, out = tiny_config()
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert cli_main(run.main, ["--config", str(cfg), "--num_workers", "0"]) == 2
    assert "output dir is not empty and has no last.pt" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"  # nothing the user made is touched
    assert (
        run.main(
            [
                "--config",
                str(cfg),
                "--num_workers",
                "0",
                "--overwrite",
                "--set",
                "trainer.max_steps=1",
            ]
        )
        == 0
    )
    assert (
        cli_main(run.main, ["--config", str(cfg), "--num_workers", "0", "--set", "trainer.lr=0.5"])
        == 2
    )
    assert "different config.yaml" in capsys.readouterr().err


def test_missing_vgg_weights_stop_at_start(tiny_config, tmp_path, capsys):

    cfg, out = tiny_config()
    vgg = tmp_path / "vgg16.pth"
    assert (
        cli_main(
            run.main,
            [
                "--config",
                str(cfg),
                "--num_workers",
                "0",
                "--set",
                "loss.lam_perc=1",
                "--set",
                f"loss.vgg_weights={vgg}",
            ],
        )
        == 2
    )
    err = capsys.readouterr().err
    assert str(vgg) in err and "lam_perc" in err


def test_non_finite_loss_stops_naming_step_and_term(tiny_config, monkeypatch, capsys):
    from unsup3d import objective

    real = objective.compute_objective

    def poisoned(*args, **kwargs):
        result = real(*args, **kwargs)
        result.terms["l1"] = torch.tensor(float("nan"))
        result.total = result.total * float("nan")
        return result

    monkeypatch.setattr(objective, "compute_objective", poisoned)
    cfg, out = tiny_config()
    assert cli_main(run.main, ["--config", str(cfg), "--num_workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "loss term 'l1' is nan at step 1" in err and "lower trainer.lr" in err


def test_learning_rate_schedules():
    constant = TrainerSettings(lr=1e-3)
    assert [learning_rate(constant, s, 10) for s in (0, 5, 9)] == [1e-3] * 3
    cosine = TrainerSettings(lr=1e-3, lr_schedule="cosine", warmup_steps=4)
    lrs = [learning_rate(cosine, s, 104) for s in range(104)]
    assert lrs[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])  # linear warm-up
    assert lrs[4] == pytest.approx(1e-3) and lrs[54] == pytest.approx(5e-4)  # half-way: half
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))  # then decays monotonically
    assert 0 < lrs[-1] < 1e-6
    assert learning_rate(cosine, 500, 104) == 0.0  # past the end (e.g. num_epochs raised)
    with pytest.raises(SettingError):
        TrainerSettings(lr_schedule="step")


def test_trainer_follows_the_schedule(tiny_config):
    # 8 images, batch 4: 2 steps per epoch, 3 epochs = 6 steps; the checkpoint's Adam holds
    # the learning rate of the last step taken, the schedule's value at that step.
    cfg, out = tiny_config(epochs=3)
    sets = ["--set", "trainer.lr_schedule=cosine", "--set", "trainer.lr=0.001"]
    args = ["--config", str(cfg), "--num_workers", "0", *sets]
    assert run.main([*args, "--set", "trainer.max_steps=3"]) == 0
    ckpt = load_checkpoint(out / "last.pt")
    settings = TrainerSettings(lr=1e-3, lr_schedule="cosine", num_epochs=3, batch_size=4)
    lr = ckpt["optimizers"]["adam"]["param_groups"][0]["lr"]
    assert lr == pytest.approx(learning_rate(settings, 2, 3))  # max_steps bounds the schedule
