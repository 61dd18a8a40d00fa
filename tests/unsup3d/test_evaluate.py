"""`unsup3d.evaluate` through run.py test / extract: a checkpoint's config with only its data changed."""

from pathlib import Path

import run
from unsup3d.cli import cli_main
from unsup3d.features import load_features

ROOT = Path(__file__).resolve().parents[2]


def test_test_and_extract_overrides_start_from_the_checkpoint(tiny_config, tmp_path, capsys):

    cfg, out = tiny_config()  # 16 px, not the default 64
    assert (
        run.main(["--config", str(cfg), "--num_workers", "0", "--set", "trainer.max_steps=1"]) == 0
    )
    extract = ["extract", "--checkpoint", str(out / "last.pt"), "--num_workers", "0"]
    feats = tmp_path / "f.npz"
    # --set alone changes one data key of the checkpoint's config, nothing else.
    assert run.main(extract + ["--output", str(feats), "--set", "data.num_test=2"]) == 0
    assert len(load_features(feats)) == 2
    # An existing feature file is replaced only with --overwrite.
    assert cli_main(run.main, extract + ["--output", str(feats), "--config", str(cfg)]) == 2
    assert "f.npz: exists; pass --overwrite" in capsys.readouterr().err
    # The training YAML itself is accepted (same model), its data section used.
    again = extract + ["--output", str(feats), "--config", str(cfg), "--overwrite"]
    assert run.main(again) == 0
    assert len(load_features(feats)) == 4
    for setting, message in [
        ("model.preset=paper", "['model'] differ from the checkpoint's"),
        ("data.image_size=32", "the checkpoint was trained at 16"),
    ]:
        assert cli_main(run.main, extract + ["--set", setting]) == 2
        assert message in capsys.readouterr().err
