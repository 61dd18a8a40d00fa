"""The CLI kit: shared flags, hyphenated aliases, output checks, results writer, main wrapper."""

from __future__ import annotations

import argparse
import json

import pytest

from unsup3d import cli
from unsup3d.errors import UserError


def _parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(
        prog="x",
        parents=[cli.shared_flags("output_dir", "overwrite", "seed", "batch_size", "verbose")],
    )
    parser.add_argument("--eval_features")
    parser.add_argument("--freeze_norm_stats", action=argparse.BooleanOptionalAction, default=True)
    return parser


def test_hyphenated_spellings_are_read_as_the_underscore_flags():
    args = _parser().parse_args(
        [
            "--eval-features",
            "a.npz",
            "--batch-size=8",
            "--output-dir",
            "out",
            "--no-freeze-norm-stats",
        ]
    )
    assert args.eval_features == "a.npz"
    assert args.batch_size == 8
    assert str(args.output_dir) == "out"
    assert args.freeze_norm_stats is False
    assert args.seed == 0 and not args.overwrite


def test_tokens_after_a_bare_double_dash_are_left_alone():
    parser = cli.ArgumentParser(prog="x")
    parser.add_argument("rest", nargs="*")
    assert parser.parse_args(["--", "--eval-features"]).rest == ["--eval-features"]


def test_help_shows_each_shared_flag_once_with_underscores():
    text = _parser().format_help()
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  -")]
    assert listed.count("--output_dir") == 1 and listed.count("--batch_size") == 1
    assert "--output-dir" not in text and "--batch-size" not in text
    assert "shared options" in text


def test_names_may_come_in_one_string():
    spaced = cli.shared_flags("output_dir overwrite", "seed")
    listed = [a.dest for a in spaced._actions]
    assert listed == ["output_dir", "overwrite", "seed"]


def test_per_cli_defaults_and_unknown_names():
    parser = cli.ArgumentParser(
        parents=[cli.shared_flags("num_workers", defaults={"num_workers": 4})]
    )
    assert parser.parse_args([]).num_workers == 4
    with pytest.raises(ValueError, match="unknown shared flags"):
        cli.shared_flags("output_folder")


def test_prepare_output_dir(tmp_path):
    out = cli.prepare_output_dir(tmp_path / "a" / "b", overwrite=False)
    assert out.is_dir()
    (out / "x.json").write_text("{}")
    with pytest.raises(UserError, match="not empty; pass --overwrite"):
        cli.prepare_output_dir(out, overwrite=False)
    assert cli.prepare_output_dir(out, overwrite=True) == out
    with pytest.raises(UserError, match="is not a folder"):
        cli.prepare_output_dir(out / "x.json", overwrite=True)


def test_check_output_file(tmp_path):
    path = tmp_path / "sub" / "r.json"
    assert cli.check_output_file(path, overwrite=False) == path and path.parent.is_dir()
    path.write_text("{}")
    with pytest.raises(UserError, match="exists; pass --overwrite"):
        cli.check_output_file(path, overwrite=False)
    assert cli.check_output_file(path, overwrite=True) == path
    with pytest.raises(UserError, match="is a folder"):
        cli.check_output_file(tmp_path, overwrite=True)


def test_write_results_records_hashes_options_and_command(tmp_path):
    import hashlib

    import numpy as np

    src = tmp_path / "in.bin"
    src.write_bytes(b"abc")
    record = cli.write_results(
        tmp_path / "r.json",
        {"a": np.float32(0.5), "b": np.arange(2)},
        [src],
        ["prog", "--x"],
        {"p": tmp_path},
    )
    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert on_disk == record
    assert on_disk["metrics"] == {"a": 0.5, "b": [0, 1]}
    assert on_disk["inputs"] == [{"path": str(src), "sha256": hashlib.sha256(b"abc").hexdigest()}]
    assert on_disk["options"] == {"p": str(tmp_path)} and on_disk["command"] == ["prog", "--x"]
    assert "git_sha" in on_disk


def test_command_line_is_sys_argv_for_the_script_else_prog_and_argv(monkeypatch):
    monkeypatch.setattr("sys.argv", ["clustering/cluster_eval.py", "f.npz", "--overwrite"])
    assert cli.command_line("x/y.py") == ["clustering/cluster_eval.py", "f.npz", "--overwrite"]
    assert cli.command_line("x/y.py", ["a.npz", 3]) == ["x/y.py", "a.npz", "3"]
    assert cli.command_line("x/y.py", []) == ["x/y.py"]


def test_from_flags_fills_a_dataclass_from_the_flags_of_the_same_names():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Options:
        runs: int
        seed: int = 0
        limit_bytes: int | None = None

    args = argparse.Namespace(runs=3, seed=7, limit_gb=2.0, verbose=True)
    assert cli.from_flags(Options, args, limit_bytes=2 * 10**9) == Options(3, 7, 2 * 10**9)
    with pytest.raises(AttributeError, match="limit_bytes"):
        cli.from_flags(Options, args)


def test_cli_main_prints_a_user_error_as_one_line(capsys):
    def main(argv):
        raise UserError("f.npz: broken; fix it")

    assert cli.cli_main(main, []) == 2
    assert capsys.readouterr().err == "error: f.npz: broken; fix it\n"
