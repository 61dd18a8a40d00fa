"""analysis/records.py: typed JSON records write the results file and read it back."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass

import pytest

from analysis.records import (
    ClusterScores,
    FeatureInvariance,
    GroupInvariance,
    ProbeShift,
    RecordError,
    RobustnessMetrics,
    from_json,
    read,
    to_json,
    write,
)
from unsup3d.api import UserError


@dataclass
class Inner:
    value: float
    label: int | str


@dataclass
class Outer:
    name: str
    rows: dict[str, Inner]
    items: list[int]
    best: str | None
    extra: Inner | None = None
    added_later: int = 7


def test_round_trip_and_optional_sections():
    obj = Outer("x", {"a": Inner(0.5, 3), "b": Inner(math.nan, "s")}, [1, 2], None)
    data = to_json(obj)
    assert "extra" not in data and data["best"] is None  # optional section left out
    assert list(data) == ["name", "rows", "items", "best", "added_later"]
    back = from_json(Outer, json.loads(json.dumps(data)))
    assert back.rows["a"] == Inner(0.5, 3) and back.rows["b"].label == "s"
    assert math.isnan(back.rows["b"].value) and back.extra is None
    del data["added_later"]  # an older file: the later field gets its default
    assert from_json(Outer, data).added_later == 7


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (lambda d: d["rows"]["a"].pop("value"), "rows.a.value", "missing"),
        (lambda d: d["rows"]["a"].update(value="high"), "rows.a.value", "not a number"),
        (lambda d: d["rows"]["a"].update(value=True), "rows.a.value", "not a number"),
        (lambda d: d["rows"]["b"].update(label=1.5), "rows.b.label", "not int or str"),
        (lambda d: d.update(items=[1, "2"]), "items[1]", "not int"),
        (lambda d: d.update(rows=[]), "rows", "not an object"),
    ],
)
def test_errors_name_the_dotted_key(change, key, problem):
    data = to_json(Outer("x", {"a": Inner(0.5, 3), "b": Inner(1.0, "s")}, [1], "y"))
    change(data)
    with pytest.raises(RecordError) as err:
        from_json(Outer, data)
    assert err.value.key == key and problem in err.value.problem


def _metrics() -> RobustnessMetrics:
    probe = ProbeShift(0.9, 0.8, 0.1, 0.7, 0.7, 0.6, 0, "no")
    inv = FeatureInvariance("light", {"depth": GroupInvariance(0.1, 0.2, 5)})
    return RobustnessMetrics(label="smile", probe={"all": probe}, invariance=inv)


def test_results_write_read_and_option(tmp_path):
    inp = tmp_path / "in.npz"
    inp.write_bytes(b"data")
    args = argparse.Namespace(train=str(inp), seed=3, verbose=True, output_dir=tmp_path / "o")
    path = write(tmp_path / "o", _metrics(), inputs=[inp], args=args, argv=["--train", str(inp)])
    raw = json.loads(path.read_text())
    assert (
        "cluster" not in raw["metrics"] and raw["metrics"]["probe"]["all"]["majority_ood"] == "no"
    )
    assert raw["options"] == {"train": str(inp), "seed": 3, "output_dir": str(tmp_path / "o")}
    assert raw["command"] == ["analysis/robustness.py", "--train", str(inp)]
    rec = read(RobustnessMetrics, tmp_path / "o")
    assert rec.metrics == _metrics() and rec.path == path
    assert rec.inputs[0].path == str(inp) and len(rec.inputs[0].sha256) == 64
    assert rec.option("seed", int) == 3
    with pytest.raises(UserError, match=r"robustness.json: no key 'options.label'; re-run `py"):
        rec.option("label", str)
    with pytest.raises(UserError, match="'options.seed' is 3, not str"):
        rec.option("seed", str)


def test_read_errors_name_the_file_the_key_and_the_command(tmp_path):
    with pytest.raises(UserError, match=r"--robustness LV=.*nowhere: no such folder; pass the"):
        read(RobustnessMetrics, tmp_path / "nowhere", "--robustness LV")
    with pytest.raises(UserError, match="no robustness.json in it"):
        read(RobustnessMetrics, tmp_path)
    (tmp_path / "robustness.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot read it as JSON"):
        read(RobustnessMetrics, tmp_path)
    record = {"metrics": to_json(_metrics()), "inputs": [], "options": {}, "command": []}
    del record["metrics"]["probe"]["all"]["chance_ood"]
    (tmp_path / "robustness.json").write_text(json.dumps(record))
    with pytest.raises(UserError) as err:
        read(RobustnessMetrics, tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path}/robustness.json: no key 'metrics.probe.all.chance_ood'")
    assert "re-run `python analysis/robustness.py --train" in message
    assert f"--output_dir {tmp_path} --overwrite` with the current code" in message
    record["metrics"]["probe"]["all"]["chance_ood"] = "high"
    (tmp_path / "robustness.json").write_text(json.dumps(record))
    with pytest.raises(UserError, match="'metrics.probe.all.chance_ood' is 'high', not a number"):
        read(RobustnessMetrics, tmp_path)


def test_cluster_scores_are_a_plain_record():
    assert to_json(ClusterScores(0.5, 1.0)) == {"nmi": 0.5, "hungarian_accuracy": 1.0}
