"""The validate use case: the report, and the error a broken file exits with."""

from __future__ import annotations

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.validate import validate_pipeline


def test_a_broken_pipeline_reports_every_problem_in_file_order(toy):
    text = toy.read_text()
    text = text.replace("${{parent.inputs.count}}", "${{parent.inputs.nope}}")
    text = text.replace("outputs.lines}}", "outputs.missing}}")
    toy.write_text(text)

    result = validate_pipeline(toy)

    assert not result.valid
    assert result.jobs == ["produce", "consume"]  # file order: not runnable
    report = result.to_json()
    assert (report["file"], report["valid"]) == (str(toy), False)
    assert [p["where"] for p in report["problems"]] == [
        "jobs.produce.inputs.count",
        "jobs.consume.inputs.lines",
    ]
    error = result.error()
    assert isinstance(error, UsageError)
    assert error.message == str(result.problems[0])
    assert error.detail == f"error: {result.problems[1]}"


def test_a_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        validate_pipeline(tmp_path / "nope.yml")
