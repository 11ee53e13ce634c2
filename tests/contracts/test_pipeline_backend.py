"""The PipelineBackend contract, run against every implementation."""

from __future__ import annotations

import pytest

from mlops_actions.errors import BackendError, UsageError
from mlops_actions.pipeline.backend import RUN_STATUSES

WAIT_S = 300


def test_completed_run_reports_its_status_and_outputs(pipelines):
    run = pipelines.backend.submit(pipelines.pipeline, {"count": "4"})
    assert run.status() in RUN_STATUSES
    assert run.wait(timeout=WAIT_S) == "completed"
    assert run.status() == "completed"
    outputs = run.outputs()
    assert set(outputs) == {"result"}
    assert pipelines.exists(outputs["result"])
    record = run.record()
    assert (record.run_id, record.status) == (run.run_id, "completed")
    assert record.inputs["count"] == 4
    assert [s.name for s in record.steps] == ["produce", "consume"]
    assert record.metrics["metrics"]["lines"] == 4


def test_cancel_of_a_finished_run_changes_nothing(pipelines):
    run = pipelines.backend.submit(pipelines.pipeline, {})
    run.wait(timeout=WAIT_S)
    outputs = run.outputs()
    run.cancel()
    assert run.status() == "completed"
    assert run.wait(timeout=0) == "completed"  # an ended run answers at once
    assert run.outputs() == outputs


def test_failed_step_is_a_backend_error_naming_it(pipelines):
    handed_back = []  # empty for a backend whose submit ran the whole pipeline
    with pytest.raises(BackendError) as failed:
        handed_back.append(
            pipelines.backend.submit(pipelines.pipeline, {"fail_with": "1"})
        )
        handed_back[0].wait(timeout=WAIT_S)
    assert failed.value.exit_code == 3
    assert "step consume failed" in failed.value.message
    assert [run.status() for run in handed_back] in ([], ["failed"])


def test_step_refusing_its_input_is_a_usage_error(pipelines):
    with pytest.raises(UsageError) as refused:
        pipelines.backend.submit(pipelines.pipeline, {"fail_with": "2"}).wait(
            timeout=WAIT_S
        )
    assert refused.value.exit_code == 2
    assert "--lines folder is empty" in refused.value.message


def test_undeclared_input_is_refused_at_submit(pipelines):
    with pytest.raises(UsageError, match="nope"):
        pipelines.backend.submit(pipelines.pipeline, {"nope": "1"})
