"""pipeline.py end to end on a slice of pipeline_tiny.yaml: the report's cells, a failing stage,
the cache (a second run recomputes nothing, a changed section recomputes only its stages), the
atomic stage folders; the whole tiny config and two worker processes (slow)."""

from __future__ import annotations

import json

import pytest


def _statuses(results):
    return {s["name"]: s["status"] for s in results["stages"]}


def _finished_folders(out):
    return sorted(p for p in (out / "stages").rglob("*-*") if (p / "stage.json").is_file())


def test_runs_reports_and_second_run_recomputes_nothing(tmp_path, run_pipeline, check_cells):
    out = tmp_path / "p"
    status, results = run_pipeline(out)
    assert status == 0
    assert check_cells(results) == []
    first = _statuses(results)
    assert first["train/pdr_LV/s0"] == "done" and first["probe/pdr_LV/s0/Smiling"] == "done"
    cell = results["tables"]["probe"]["rows"]["pdr_LV"]["Smiling N=16"]
    assert cell["n"] == 1 and cell["std"] is None and 0.0 <= cell["mean"] <= 1.0
    (source,) = cell["sources"]
    assert source["stage"] == "probe/pdr_LV/s0/Smiling" and source["key"] in source["file"]
    assert source["commands"][0][0] == "classification/run_trainer.py"
    assert ".partial" not in json.dumps(source["commands"])  # the finished folder's paths
    record = json.loads(
        (out / "report" / "results.json").read_text()
    )  # the same file, rewritten each run
    assert record["header"]["scale"] == "tiny"
    assert "PDR pipeline report" in (out / "report" / "README.md").read_text()
    folders = {p: p.stat().st_mtime_ns for p in _finished_folders(out)}
    assert not list((out / "stages").rglob("*.partial"))

    status, results = run_pipeline(out)
    assert status == 0
    again = _statuses(results)
    assert {s for s in again.values()} <= {"cached", "not run"}
    assert {n for n, s in again.items() if s == "cached"} == {
        n for n, s in first.items() if s == "done"
    }
    assert {p: p.stat().st_mtime_ns for p in _finished_folders(out)} == folders

    # A changed section recomputes its stages only.
    status, results = run_pipeline(out, "probe.epochs=3")
    changed = {n for n, s in _statuses(results).items() if s == "done"}
    assert changed == {"probe/pdr_LV/s0/Smiling"}


def test_a_failing_stage_is_recorded_and_the_rest_completes(tmp_path, run_pipeline, check_cells):
    out = tmp_path / "p"
    status, results = run_pipeline(out, "robustness.labels=[No_Such_Label]")
    assert status == 1
    st = _statuses(results)
    assert st["robustness/pdr_LV/s0/No_Such_Label"] == "failed"
    assert st["probe/pdr_LV/s0/Smiling"] == "done" and st["emotion/pdr_LV/s0"] == "done"
    (failed,) = [s for s in results["stages"] if s["status"] == "failed"]
    assert "No_Such_Label" in failed["reason"] and "\n" not in failed["reason"]
    assert check_cells(results) == []
    cell = results["tables"]["ood"]["rows"]["pdr_LV"]["No_Such_Label test"]
    assert cell.startswith("failed: robustness/pdr_LV/s0/No_Such_Label: ")
    # no finished folder for it, and its log holds the error
    assert not list((out / "stages" / "robustness").rglob("s0-*/stage.json"))
    log = (out / "logs" / "robustness" / "pdr_LV" / "s0" / "No_Such_Label.log").read_text()
    assert "failed: " in log
    # a re-run retries only the failed stage
    status, results = run_pipeline(out, "robustness.labels=[No_Such_Label]")
    assert status == 1
    assert {n for n, s in _statuses(results).items() if s not in ("cached", "not run")} == {
        "robustness/pdr_LV/s0/No_Such_Label"
    }


def test_an_interrupted_stage_folder_is_not_taken_as_finished(tmp_path, run_pipeline):
    out = tmp_path / "p"
    status, results = run_pipeline(out)
    assert status == 0
    (folder,) = [p for p in _finished_folders(out) if "emotion" in str(p)]
    # as if killed before the rename: the work is only in <folder>.partial
    folder.rename(folder.with_name(folder.name + ".partial"))
    status, results = run_pipeline(out)
    st = _statuses(results)
    assert st["emotion/pdr_LV/s0"] == "done"
    assert {n for n, s in st.items() if s == "done"} == {"emotion/pdr_LV/s0"}
    assert (folder / "stage.json").is_file() and not folder.with_name(
        folder.name + ".partial"
    ).exists()


@pytest.mark.slow
def test_tiny_config_end_to_end(tmp_path, run_pipeline, check_cells):
    out = tmp_path / "tiny"
    status, results = run_pipeline(out, mini=False)
    assert status == 0, [s for s in results["stages"] if s["status"] == "failed"]
    assert check_cells(results) == []
    rows = results["tables"]["clustering"]["rows"]
    for method in ("pdr_none", "pdr_L", "pdr_LV", "vqvae", "betavae", "ae", "gdrae", "fdae"):
        assert isinstance(rows[method]["identity NMI"], dict), method
    matrix = results["tables"]["disentanglement"]["rows"]["fdae"]["matrix diag"]
    assert matrix.startswith("not run: no feature group named like a factor group")
    assert set(results["tables"]["loocc_ablation"]["rows"]) == {"pdr_none", "pdr_L", "pdr_LV"}
    seg = results["tables"]["segmentation"]["rows"]["pdr_LV"]["mIoU"]
    assert seg.startswith("not run: ")


@pytest.mark.slow
def test_two_worker_processes(tmp_path, run_pipeline, check_cells):
    out = tmp_path / "p"
    status, results = run_pipeline(out, extra=["--jobs", "2"])
    assert status == 0
    assert check_cells(results) == []
    assert _statuses(results)["probe/pdr_LV/s0/Smiling"] == "done"
