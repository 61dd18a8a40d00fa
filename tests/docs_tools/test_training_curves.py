"""docs/tools/training_curves.py on two tiny runs: the step-0 validation and the table."""

from __future__ import annotations

import json

import pytest

import run
from unsup3d.api import UserError

CONFIG = """
run:
  output_dir: {out}
  seed: {seed}
data:
  name: synthetic_faces
  image_size: 16
  num_train: 8
  num_val: 4
model:
  name: vqvae
  embedding_dim: 8
  num_embeddings: 16
trainer:
  num_epochs: 2
  batch_size: 4
  lr: 1.0e-3
  checkpoint_every: 0
  tensorboard: false
"""


def test_curves_from_step_zero(load_tool, tmp_path, capsys):
    tool = load_tool("training_curves")
    runs = []
    for seed in (0, 1):
        out = tmp_path / f"vq_s{seed}"
        cfg = tmp_path / f"vq_s{seed}.yaml"
        cfg.write_text(CONFIG.format(out=out, seed=seed))
        assert run.main(["--config", str(cfg), "--num_workers", "0"]) == 0
        runs.append(out)
    capsys.readouterr()
    png, record = tmp_path / "curves.png", tmp_path / "curves.json"
    argv = [f"VQ-VAE={runs[0]},{runs[1]}", "--output", str(png), "--json", str(record)]
    assert tool.main(argv) == 0
    table = capsys.readouterr().out
    assert table.count("| VQ-VAE |") == 2 and png.is_file()
    results = json.loads(record.read_text())["VQ-VAE"]
    for r, out in zip(results, runs):
        assert r["steps"] == [0, 2, 4] and len(r["val_recon"]) == 3
        logged = [
            json.loads(x)["val/recon"] for x in (out / "metrics.jsonl").read_text().splitlines()
        ]
        assert r["val_recon"][1:] == pytest.approx(logged)
        # The step-0 value is the run's own initial model: measuring it twice agrees.
        assert tool.initial_validation(out) == pytest.approx(r["initial"], rel=0, abs=0)
        assert r["reduction"] == pytest.approx(1 - min(logged) / r["initial"])
    assert results[0]["initial"] != results[1]["initial"]  # another seed, other weights
    with pytest.raises(UserError, match=r"methods .runs/x.: expected VARIANT=DIR\[,DIR...\]"):
        tool.main(["runs/x"])
