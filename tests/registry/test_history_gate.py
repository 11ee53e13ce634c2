"""`mlops model history` shows the gate's decision for every registration."""

from __future__ import annotations

import json

import pytest

from tests.registry.tiny import save_model, write_evaluation

SHA = "c0ffee" * 6 + "abcd"


@pytest.fixture
def cli(mlops, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / ".mlops"))
    (tmp_path / ".mlops").mkdir()
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    for name in ("GITHUB_RUN_ID", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    return mlops


def _gate(tmp_path, name: str, **fields) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"schema": "mlops-actions/gate", **fields}))
    return str(path)


def test_rejected_registration_shows_the_gate_decision_in_history(cli, tmp_path):
    """The fault: a registration the gate rejected showed "-" under gate."""
    metrics = write_evaluation(tmp_path / "metrics", {"rmse": 3.5})
    gates = [
        _gate(tmp_path, "first", decision="first"),
        _gate(tmp_path, "reject", decision="reject", champion={"version": "1"}),
        _gate(
            tmp_path,
            "dry",
            decision="promote",
            mode="dry-run",
            champion={"version": "1"},
        ),
    ]
    for k, gate in enumerate(gates, 1):
        result = cli(
            "model", "register", "--name", "house",
            "--model-dir", str(save_model(tmp_path / f"m{k}", k)),
            "--evaluation-dir", str(metrics), "--gate", gate,
            "--out", str(tmp_path / f"model{k}.json"),
        )  # fmt: skip
        assert result.code == 0, result.err
    entries = json.loads(cli("model", "history", "house", "--json").out)
    assert [
        (e["action"], e["version"], e["audit"]["gate_decision"]) for e in entries
    ] == [
        ("register", "1", "first"),
        ("promote", "1", "first"),
        ("register", "2", "reject"),
        ("register", "3", "promote (dry-run)"),
    ]
    table = cli("model", "history", "house").out.splitlines()
    assert [line.split("  ")[-1] for line in table] == [
        "gate",
        "first",
        "first",
        "reject",
        "promote (dry-run)",
    ]


def test_registration_without_a_gate_still_shows_a_dash(cli, tmp_path):
    result = cli(
        "model", "register", "--name", "plain",
        "--model-dir", str(save_model(tmp_path / "m", 1)),
        "--out", str(tmp_path / "model.json"),
    )  # fmt: skip
    assert result.code == 0, result.err
    table = cli("model", "history", "plain").out.splitlines()
    assert table[1].endswith("alice  c0ffeec0ffee  -")
