"""Reading an exchanged file: each kind of damage gets its own clear message."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlops_actions.errors import ExitCode
from mlops_actions.records.base import (
    InvalidRecord,
    NotThisRecord,
    RecordUnreadable,
    WrongVersion,
    read_record,
    write_record,
)
from mlops_actions.records.export import RECORDS
from mlops_actions.records.gate import GateRecord
from mlops_actions.records.metrics import MetricsRecord, read_metrics


@pytest.fixture
def metrics(tmp_path):
    return tmp_path / "metrics.json"


def test_a_file_of_another_schema_is_refused_naming_the_expected_one(metrics):
    metrics.write_text('{"schema": "mlops-actions/gate", "version": 1}')
    with pytest.raises(NotThisRecord) as caught:
        read_metrics(metrics)
    assert caught.value.message == (
        f"{metrics}: not a metrics file (schema mlops-actions/metrics)"
    )
    assert caught.value.exit_code == ExitCode.USAGE


def test_a_version_this_release_does_not_read_is_refused(metrics):
    metrics.write_text('{"schema": "mlops-actions/metrics", "version": 2}')
    with pytest.raises(WrongVersion) as caught:
        read_metrics(metrics)
    assert caught.value.message == (
        f"{metrics}: mlops-actions/metrics version 2, but this mlops-actions reads "
        "version 1: write it again with this mlops-actions, or install the one "
        "that wrote it"
    )


def test_a_file_without_a_version_is_read_as_version_1(metrics):
    metrics.write_text('{"schema": "mlops-actions/metrics", "metrics": {"a": 1}}')
    assert read_metrics(metrics).metrics == {"a": 1}
    assert read_metrics(metrics).version == 1


@pytest.mark.parametrize("text", ["", '{"schema": "mlops-actions/metrics", "met'])
def test_an_empty_or_truncated_file_is_unreadable(metrics, text):
    metrics.write_text(text)
    with pytest.raises(RecordUnreadable) as caught:
        read_metrics(metrics, where=f"--metrics {metrics}")
    assert caught.value.message.startswith(f"--metrics {metrics}: not valid JSON (")
    assert isinstance(caught.value.error, ValueError)


def test_a_missing_file_is_unreadable_and_says_so(metrics):
    with pytest.raises(RecordUnreadable) as caught:
        read_metrics(metrics)
    assert caught.value.message == f"{metrics}: No such file or directory"
    assert isinstance(caught.value.error, FileNotFoundError)


def test_a_field_of_the_wrong_shape_is_named(tmp_path):
    path = tmp_path / "gate.json"
    path.write_text('{"schema": "mlops-actions/gate", "decision": "maybe"}')
    with pytest.raises(InvalidRecord) as caught:
        read_record(path, GateRecord)
    assert caught.value.field == "decision"
    assert caught.value.message.startswith(
        f"{path}: not a valid gate decision: decision: Input should be 'promote', "
    )


def test_values_are_read_as_written_so_the_gate_can_say_what_is_wrong(metrics):
    values = {"acc": "0.9", "f1": True, "auc": None}
    metrics.write_text(
        json.dumps({"schema": "mlops-actions/metrics", "metrics": values})
    )
    assert read_metrics(metrics).metrics == values


def test_fields_this_release_does_not_know_are_kept(metrics):
    body = {"schema": "mlops-actions/metrics", "metrics": {}, "later": [1]}
    metrics.write_text(json.dumps(body))
    assert read_metrics(metrics).to_json()["later"] == [1]


def test_written_records_are_read_back_equal(tmp_path):
    record = MetricsRecord(metrics={"acc": 0.5}, rows=3, directions={"acc": "maximize"})
    write_record(tmp_path / "m.json", record)
    assert read_metrics(tmp_path / "m.json") == record
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "m.json"
    write_record(path, MetricsRecord(metrics={"acc": 0.5}))
    before = path.read_text()

    class Unwritable(MetricsRecord):
        def to_json(self):
            # "a" is written before the bad key fails: a half-written temporary
            return {"a": 1, "b": {object(): 1}}

    with pytest.raises(TypeError):
        write_record(path, Unwritable())
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_every_record_carries_its_schema_name_and_version():
    for model in RECORDS:
        assert model.schema_name().startswith("mlops-actions/")
        assert model.schema_version() == 1
        fields = model.model_json_schema(mode="serialization", by_alias=True)
        assert {"schema", "version"} <= set(fields["required"])


def test_help_imports_no_record_model():
    probe = (
        "import json, sys\n"
        "from mlops_actions.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    modules = json.loads(proc.stdout.splitlines()[-1])
    loaded = [m for m in modules if m.startswith(("pydantic", "mlops_actions.records"))]
    assert loaded == []
