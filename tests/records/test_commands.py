"""What a user sees when a command is handed a record it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SMOKE = {
    "schema": "mlops-actions/smoke",
    "request": {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}},
    "expected": {"label": ["a"], "probability": [0.5]},
}


@pytest.fixture(autouse=True)
def elsewhere(tmp_path, monkeypatch):
    """Any state a command keeps goes under tmp_path, not the checkout."""
    monkeypatch.chdir(tmp_path)


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


def test_deploy_json_carries_the_format_version_and_the_models(mlops, monkeypatch):
    from mlops_actions.deploy import target
    from mlops_actions.deploy.base import Deployed
    from mlops_actions.deploy.local import LocalDeployment
    from mlops_actions.deploy.smoke import SmokeResult

    deployment = LocalDeployment(
        url="http://127.0.0.1:8080",
        pid=42,
        model="models:/m/7",
        version="7",
        log="/tmp/scorer.log",
        started=1.5,
        process_started="123",
        instance="abc",
    )
    smoke = SmokeResult(ok=True, rows=2, seconds=0.1, status=200)
    done = Deployed("local", deployment, smoke, "m")
    monkeypatch.setattr(target, "deploy_model", lambda *_, **__: done)
    result = mlops("deploy", "--model", "models:/m/7", "--json")
    assert result.code == 0, result
    record = json.loads(result.out)
    assert (record["schema"], record["version"]) == ("mlops-actions/deploy", 1)
    assert (record["model"], record["model_version"]) == ("models:/m/7", "7")
    assert record["smoke"] == {
        "ok": True,
        "rows": 2,
        "seconds": 0.1,
        "status": 200,
        "mismatches": [],
        "shape_only": False,
    }


def test_gate_decides_error_for_metrics_of_another_version(
    mlops, tmp_path, monkeypatch
):
    rules = Path(__file__).resolve().parents[1] / "fixtures" / "gate" / "gate.yml"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    metrics = tmp_path / "metrics.json"
    body = {"schema": "mlops-actions/metrics", "version": 2, "metrics": {"acc": 1}}
    metrics.write_text(json.dumps(body))
    result = mlops("gate", "--rules", str(rules), "--metrics", str(metrics))
    assert result.code == 1
    record = json.loads((tmp_path / "gate.json").read_text())
    assert record["decision"] == "error"
    assert record["reasons"] == [
        f"{metrics}: mlops-actions/metrics version 2, but this mlops-actions reads "
        "version 1: write it again with this mlops-actions, or install the one "
        "that wrote it"
    ]
