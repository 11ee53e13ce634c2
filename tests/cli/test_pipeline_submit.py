"""``mlops pipeline submit`` on the local backend, and what needs Azure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _toy(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "toy", tmp_path / "toy")
    return tmp_path / "toy" / "pipeline.yml"


def test_local_submit_runs_the_pipeline_and_writes_the_outputs(
    mlops, tmp_path, monkeypatch
):
    pipeline = _toy(tmp_path)
    monkeypatch.chdir(tmp_path)
    outputs, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = mlops("pipeline", "submit", str(pipeline), "--set", "count=2", "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    run = body["job-name"]
    assert (body["backend"], body["status"], body["job-url"]) == (
        "local",
        "completed",
        "",
    )
    metrics = Path(body["metrics-path"]) / "metrics.json"
    assert json.loads(metrics.read_text())["metrics"]["lines"] == 2
    assert (tmp_path / ".mlops" / "runs" / run / "run.json").is_file()
    written = outputs.read_text()
    for name in ("job-name", "job-url", "status", "metrics-path"):
        assert f"{name}<<" in written
    assert f"### Pipeline job `{run}`: completed" in summary.read_text()


def test_local_no_wait_is_refused(mlops, tmp_path, monkeypatch):
    pipeline = _toy(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "submit", str(pipeline), "--no-wait")
    assert result.code == 2
    assert result.err == (
        "error: --no-wait: a local run ends before submit returns; use --wait "
        "(the default) with --backend local\n"
    )


def test_a_failed_local_step_exits_3_and_still_reports_the_status(
    mlops, tmp_path, monkeypatch
):
    pipeline = _toy(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "submit", str(pipeline), "--set", "fail_with=1")
    assert result.code == 3
    assert "status failed" in result.out
    assert "step consume failed" in result.err


def test_wait_and_cancel_are_for_azure_jobs(mlops, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ("wait", "cancel"):
        result = mlops("pipeline", command, "some-job")
        assert result.code == 2
        assert result.err == (
            f"error: mlops pipeline {command} is for Azure ML jobs (--backend "
            "azure): a local run ends before `mlops pipeline submit` returns\n"
        )
