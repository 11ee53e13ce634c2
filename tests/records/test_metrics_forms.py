"""metrics.json in both forms: a plain ``{name: number}`` map and the
versioned ``mlops-actions/metrics`` form, read by the one reader."""

from __future__ import annotations

import json

import pytest

from mlops_actions.errors import ExitCode
from mlops_actions.records.base import NotThisRecord
from mlops_actions.records.metrics import read_metrics


@pytest.fixture
def metrics(tmp_path):
    return tmp_path / "metrics.json"


def test_a_plain_map_is_read_as_metrics(metrics):
    metrics.write_text('{"rmse": 3.5, "mae": 2}')
    read = read_metrics(metrics)
    assert read.metrics == {"rmse": 3.5, "mae": 2}
    assert "metrics" in read.model_fields_set
    assert (read.task, read.rows, read.directions) == (None, None, {})


def test_a_plain_map_keeps_bad_values_for_the_gate_to_name(metrics):
    metrics.write_text('{"rmse": "3.5", "mae": null}')
    assert read_metrics(metrics).metrics == {"rmse": "3.5", "mae": None}


def test_the_versioned_form_without_schema_is_read_as_versioned(metrics):
    metrics.write_text('{"metrics": {"rmse": 3.5}, "rows": 10, "task": "regression"}')
    read = read_metrics(metrics)
    assert (read.metrics, read.rows, read.task) == ({"rmse": 3.5}, 10, "regression")


def test_the_versioned_form_carries_the_task(metrics):
    body = {"schema": "mlops-actions/metrics", "metrics": {"f1": 0.5}}
    metrics.write_text(json.dumps(body | {"task": "multiclass"}))
    assert read_metrics(metrics).task == "multiclass"


@pytest.mark.parametrize(
    "text, kind", [("[1, 2]", "array"), ("0.5", "number"), ('"x"', "string")]
)
def test_a_document_that_is_no_object_is_refused_naming_both_forms(metrics, text, kind):
    metrics.write_text(text)
    with pytest.raises(NotThisRecord) as caught:
        read_metrics(metrics)
    assert caught.value.message == (
        f"{metrics}: not a metrics file: write a {{name: number}} map or the "
        f"mlops-actions/metrics form, not a JSON {kind}"
    )
    assert caught.value.exit_code == ExitCode.USAGE


def test_another_schema_is_still_refused(metrics):
    metrics.write_text('{"schema": "mlops-actions/gate", "rmse": 1}')
    with pytest.raises(NotThisRecord, match="not a metrics file"):
        read_metrics(metrics)
