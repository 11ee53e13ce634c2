"""What a user sees when a command is handed a record it cannot read."""

from __future__ import annotations

import json

SMOKE = {
    "schema": "mlops-actions/smoke",
    "request": {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}},
    "expected": {"label": ["a"], "probability": [0.5]},
}


def test_deploy_refuses_a_smoke_file_of_a_newer_version(mlops, tmp_path):
    smoke = tmp_path / "smoke.json"
    smoke.write_text(json.dumps(SMOKE | {"version": 2}))
    result = mlops("deploy", "--model", str(tmp_path), "--smoke", str(smoke))
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"error: {smoke}: mlops-actions/smoke version 2, but this mlops-actions "
        "reads version 1: write it again with this mlops-actions, or install the "
        "one that wrote it\n"
    )


def test_deploy_names_the_field_a_smoke_file_lacks(mlops, tmp_path):
    smoke = tmp_path / "smoke.json"
    smoke.write_text(json.dumps({"schema": "mlops-actions/smoke", "version": 1}))
    result = mlops("deploy", "--model", str(tmp_path), "--smoke", str(smoke))
    assert result.code == 2
    assert result.err == (
        f"error: {smoke}: not a valid smoke test file: request: Field required\n"
    )


def test_promote_refuses_a_gate_file_of_a_newer_version(mlops, tmp_path):
    gate = tmp_path / "gate.json"
    body = {"schema": "mlops-actions/gate", "version": 2, "decision": "promote"}
    gate.write_text(json.dumps(body))
    result = mlops(
        "model", "promote", "m", "1", "--expect-champion", "none", "--gate", str(gate)
    )
    assert result.code == 2
    assert result.err.startswith(
        f"error: --gate {gate}: mlops-actions/gate version 2, but this "
    )
