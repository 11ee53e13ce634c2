"""The files the commands write fit the schemas users validate them with."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
GATE = ROOT / "tests" / "fixtures" / "gate"


def check(path: Path, name: str) -> dict:
    """``path`` validated against ``schemas/<name>.schema.json``."""
    schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    data = json.loads(path.read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    return data


def test_pipeline_run_writes_run_and_step_files_that_fit(mlops, toy):
    result = mlops("pipeline", "run", str(toy))
    assert result.code == 0, result
    [run] = Path(".mlops/runs").iterdir()
    record = check(run / "run.json", "run")
    assert record["status"] == "completed"
    for step in ("produce", "consume"):
        assert check(run / step / "step.json", "step")["status"] == "completed"


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)


def test_gate_and_register_write_files_that_fit(mlops, registry, tmp_path):
    rules = str(GATE / "gate.yml")
    first = mlops("gate", "--rules", rules, "--metrics", str(GATE / "champion"))
    assert first.code == 0, first
    assert check(tmp_path / "gate.json", "gate")["decision"] == "first"
    args = ("--model-dir", str(GATE / "model"), "--evaluation-dir")
    registered = mlops(
        "model", "register", "--name", "selftest-model", *args, str(GATE / "champion"),
        "--gate", "gate.json",
    )  # fmt: skip
    assert registered.code == 0, registered
    assert check(tmp_path / "model.json", "model")["promoted"] is True
    second = mlops("gate", "--rules", rules, "--metrics", str(GATE / "better"))
    assert check(tmp_path / "gate.json", "gate")["champion"]["version"] == "1"
    assert second.code in (0, 1), second


def test_a_gate_that_could_not_run_writes_an_error_record_that_fits(
    mlops, registry, tmp_path
):
    result = mlops("gate", "--rules", str(tmp_path / "absent.yml"))
    assert result.code == 2
    record = check(tmp_path / "gate.json", "gate")
    assert (record["decision"], record["rules"]) == ("error", [])
