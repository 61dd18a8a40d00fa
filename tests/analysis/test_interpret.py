"""analysis/interpret.py end to end on tiny feature files."""

from __future__ import annotations

import pytest

from analysis import interpret
from analysis.records import InterpretabilityMetrics
from unsup3d.errors import UserError


def test_interpret_shares_point_at_the_right_group(splits, tmp_path, capsys, read_back):
    out = tmp_path / "interp"
    assert interpret.main([str(splits["train"]), "--output_dir", str(out), "--n_steps", "16"]) == 0
    assert "wide_face" in capsys.readouterr().out
    m = read_back(InterpretabilityMetrics, out).metrics.labels
    wide, bright = m["wide_face"].shares, m["bright_light"].shares
    assert max(wide, key=wide.get) == "depth"
    assert max(bright, key=bright.get) == "light"
    assert sum(wide.values()) == pytest.approx(1.0)
    assert m["wide_face"].max_abs_delta < 1e-6  # linear probe: IG is exact
    assert (out / "attribution.png").read_bytes()[:4] == b"\x89PNG"


def test_interpret_mean_baseline_and_one_label(splits, tmp_path, read_back):
    out = tmp_path / "interp"
    args = [str(splits["test"]), "--labels", "bright_light", "--baseline", "mean"]
    assert interpret.main([*args, "--n-steps", "8", "--output-dir", str(out), "--no_figures"]) == 0
    rec = read_back(InterpretabilityMetrics, out)
    assert list(rec.metrics.labels) == ["bright_light"] and rec.metrics.figures == []
    assert rec.option("baseline", str) == "mean" and rec.option("n_steps", int) == 8
    shares = rec.metrics.labels["bright_light"].shares
    assert max(shares, key=shares.get) == "light"


def test_interpret_unknown_label(splits, tmp_path):
    with pytest.raises(UserError, match="unknown"):
        interpret.main(
            [str(splits["train"]), "--labels", "nope", "--output_dir", str(tmp_path / "i")]
        )
