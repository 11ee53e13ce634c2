"""gate.json is written whatever happens, as an error record when the gate
cannot run; the error travels with the record instead of being lost."""

from __future__ import annotations

import json

from mlops_actions.errors import UsageError
from mlops_actions.gate.run import record_gate


def test_missing_rules_still_write_an_error_record(tmp_path):
    out = tmp_path / "gate.json"
    recorded = record_gate(
        tmp_path / "gate.yml",
        metrics=None,
        run=None,
        model="churn",
        mode="dry-run",
        out=out,
        backend="local",
    )
    assert (recorded.outcome, recorded.champion, recorded.gate) == ("error", None, None)
    assert isinstance(recorded.error, UsageError)
    assert recorded.refusal() is None  # the error itself is what fails the step
    written = json.loads(out.read_text())
    assert (written["decision"], written["model"], written["mode"]) == (
        "error",
        "churn",
        "dry-run",
    )
    assert written["reasons"] == [recorded.error.message]


def test_a_backend_that_cannot_connect_is_recorded_too(tmp_path):
    (tmp_path / "gate.yml").write_text(
        "version: 1\nmodel: churn\nprimary: accuracy\n"
        "metrics:\n  accuracy: {direction: maximize, floor: 0.5}\n"
    )
    (tmp_path / "metrics.json").write_text('{"metrics": {"accuracy": 0.9}}')
    out = tmp_path / "gate.json"
    recorded = record_gate(
        tmp_path / "gate.yml",
        metrics=tmp_path / "metrics.json",
        run=None,
        model=None,
        mode=None,
        out=out,
        backend="azure",
    )
    assert recorded.outcome == "error"
    assert recorded.error.message.startswith("no Azure ML workspace: give the")
    assert json.loads(out.read_text())["reasons"] == [recorded.error.message]
