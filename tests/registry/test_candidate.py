"""Which folders a registration takes from a pipeline run, and which metrics."""

from __future__ import annotations

import json

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.registry.candidate import Candidate, from_run, read_metrics

from .tiny import write_run


def test_latest_is_the_newest_completed_run(tmp_path):
    write_run(tmp_path, "20260101-000000-aaaaaa", tmp_path / "m1", tmp_path / "e1")
    write_run(tmp_path, "20260102-000000-bbbbbb", tmp_path / "m2", tmp_path / "e2")
    write_run(tmp_path, "20260103-000000-cccccc", tmp_path / "m3", None, "failed")
    assert from_run(tmp_path, "latest") == Candidate(
        tmp_path / "m2", tmp_path / "e2", "20260102-000000-bbbbbb"
    )
    assert from_run(tmp_path, "20260101-000000-aaaaaa").model_dir == tmp_path / "m1"


def test_a_run_without_metrics_output_uses_its_metrics_file(tmp_path):
    run = "20260101-000000-abcdef"
    record = write_run(tmp_path, run, tmp_path / "model", None)
    data = json.loads(record.read_text())
    data["metrics"] = {"path": str(tmp_path / "eval" / "metrics.json")}
    record.write_text(json.dumps(data))
    assert from_run(tmp_path, run).evaluation_dir == tmp_path / "eval"


def test_missing_runs_are_usage_errors(tmp_path):
    with pytest.raises(
        UsageError, match=r"^--run 20260101-000000-abcdef: no pipeline run record"
    ):
        from_run(tmp_path, "20260101-000000-abcdef")
    with pytest.raises(UsageError, match=r"^--run latest: no completed pipeline run"):
        from_run(tmp_path, "latest")


@pytest.mark.parametrize("run", ["../outside", "r1/..", ".hidden", "a.b", "-x", ""])
def test_a_run_that_is_not_a_run_id_is_refused_before_any_file_is_read(tmp_path, run):
    state = tmp_path / "state"
    write_run(tmp_path, "outside", tmp_path / "model", None)  # state/../outside
    with pytest.raises(UsageError) as caught:
        from_run(state, run)
    assert caught.value.message.startswith(f"--run {run}: not a run id: ")


def test_a_running_record_whose_cli_is_gone_is_reported_interrupted(tmp_path):
    import socket

    run = "20260101-000000-abcdef"
    record = write_run(tmp_path, run, tmp_path / "model", None, "running")
    data = json.loads(record.read_text())
    # A pid beyond the kernel's limit (2**22) names no process.
    data["runner"] = {"pid": 2**22 + 1, "host": socket.gethostname(), "started": "x"}
    record.write_text(json.dumps(data))
    with pytest.raises(UsageError) as caught:
        from_run(tmp_path, run)
    assert "(status interrupted: its CLI ended without finishing the record)" in (
        caught.value.message
    )
    with pytest.raises(UsageError, match=r"^--run latest: no completed"):
        from_run(tmp_path, "latest")


def test_only_finite_numbers_become_metrics(tmp_path):
    report = {
        "schema": "mlops-actions/metrics",
        "metrics": {"a": 1, "b": 0.5, "nan": float("nan"), "none": None, "t": True},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(report))
    assert read_metrics(tmp_path) == {"a": 1.0, "b": 0.5}
    assert read_metrics(None) == {}
    assert read_metrics(tmp_path / "absent") == {}


def test_a_plain_metrics_map_is_read_as_the_gate_reads_it(tmp_path):
    (tmp_path / "metrics.json").write_text('{"accuracy": 0.9, "note": "x"}')
    assert read_metrics(tmp_path) == {"accuracy": 0.9}


def test_a_foreign_metrics_file_is_refused(tmp_path):
    (tmp_path / "metrics.json").write_text('{"schema": "theirs", "accuracy": 0.9}')
    with pytest.raises(UsageError, match="not a metrics file"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.json").write_text("[0.9]")
    with pytest.raises(UsageError, match="not a metrics file"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.json").write_text("{")
    with pytest.raises(UsageError, match="not valid JSON"):
        read_metrics(tmp_path)
