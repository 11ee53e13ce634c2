"""``mlops --backend azure pipeline submit / wait / cancel`` end to end: the
CLI signs in with GitHub OIDC, the real azure-ai-ml submits the toy pipeline
to the fake Azure ML service, streams it, and downloads its outputs from
Azurite."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
METRICS = json.dumps(
    {"schema": "mlops-actions/metrics", "version": 1, "metrics": {"lines": 2}}
).encode()


@pytest.fixture
def toy(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "toy", tmp_path / "toy")
    monkeypatch.chdir(tmp_path)
    outputs, summary = tmp_path / "outputs.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return tmp_path / "toy" / "pipeline.yml"


def _actions(mlops, monkeypatch, *args):
    """``mlops ARGS`` as a workflow step runs it (GITHUB_ACTIONS set)."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    return mlops(*args)


def _outputs(path: Path) -> dict[str, str]:
    found, text = {}, path.read_text() if path.exists() else ""
    for name, delimiter in re.findall(r"^([\w-]+)<<(\S+)$", text, re.M):
        body = text.split(f"{name}<<{delimiter}\n", 1)[1]
        found[name] = body.split(f"\n{delimiter}\n", 1)[0]
    return found


def _job_puts(azureml):
    return [r for r in azureml.calls("PUT", r"/jobs/[^/]+$")]


def test_submit_streams_waits_and_downloads_the_metrics(
    mlops, azureml, signed_in, toy, tmp_path, monkeypatch
):
    _, oidc = signed_in
    azureml.script(
        None,
        statuses=["Queued", "Running", "Running", "Completed"],
        logs=["reading 2 lines", "wrote result"],
        outputs={"result": {"metrics.json": METRICS}},
    )
    result = _actions(
        mlops,
        monkeypatch,
        "--backend",
        "azure",
        "pipeline",
        "submit",
        str(toy),
        "--set",
        "count=2",
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    job = lines[0].removeprefix("job ")
    assert re.fullmatch(r"toy-4242-1-[0-9a-f]{10}", job)
    assert lines[1] == (
        f"url https://ml.azure.com/runs/{job}?wsid={azureml.arm_id}"
        f"&tid={azureml.tenant_id}"
    )
    assert lines[2] == "status completed"
    metrics = Path(lines[3].removeprefix("metrics ")) / "metrics.json"
    assert metrics.read_bytes() == METRICS
    assert metrics.parent == tmp_path / ".mlops" / "runs" / job / "outputs" / "result"
    assert "wrote result" in result.err  # the job's log, streamed to stderr
    assert "\x1b[" not in result.err  # no progress bars or colour codes

    [put] = _job_puts(azureml)
    body = put["body"]["properties"]
    assert body["inputs"]["count"]["value"] == "2"
    assert {n: j["limits"]["timeout"] for n, j in body["jobs"].items()} == {
        "produce": "PT4H",
        "consume": "PT4H",
    }
    assert body["tags"]["mlops.run_url"].endswith("/octo/shop/actions/runs/4242")
    assert [r["method"] for r in azureml.calls("POST", r"/cancel$")] == []
    outputs = _outputs(tmp_path / "outputs.txt")
    assert (outputs["job-name"], outputs["status"]) == (job, "completed")
    assert outputs["metrics-path"] == str(metrics.parent)
    assert outputs["job-url"].startswith(f"https://ml.azure.com/runs/{job}?")
    summary = (tmp_path / "summary.md").read_text()
    assert f"### Pipeline job [{job}](https://ml.azure.com/runs/{job}?" in summary
    assert "| consume | completed |" in summary
    saved = json.loads((tmp_path / ".mlops" / "azure" / "submitted.json").read_text())
    assert (saved["name"], saved["attached"]) == (job, False)
    record = json.loads((tmp_path / ".mlops" / "runs" / job / "run.json").read_text())
    assert (record["status"], record["url"]) == ("completed", outputs["job-url"])
    # every token request asked GitHub for a fresh OIDC token (they live 60 s)
    assert oidc.calls >= 2 and len(set(oidc.issued)) == oidc.calls


def test_a_retried_step_attaches_to_the_job_it_started(
    mlops, azureml, signed_in, toy, monkeypatch
):
    first = mlops("--backend", "azure", "pipeline", "submit", str(toy), "--no-wait")
    again = mlops("--backend", "azure", "pipeline", "submit", str(toy), "--no-wait")
    assert (first.code, again.code) == (0, 0), first.err + again.err
    assert first.out.splitlines()[0] == again.out.splitlines()[0]
    assert "attached to job" in again.err
    assert len(_job_puts(azureml)) == 1  # one job, whatever the retries
    assert again.out.splitlines()[-1] == "status submitted"


def test_a_new_attempt_of_the_workflow_is_a_new_job(
    mlops, azureml, signed_in, toy, monkeypatch
):
    mlops("--backend", "azure", "pipeline", "submit", str(toy), "--no-wait")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    second = mlops("--backend", "azure", "pipeline", "submit", str(toy), "--no-wait")
    assert second.out.startswith("job toy-4242-2-")
    assert len(_job_puts(azureml)) == 2


def test_a_failed_job_exits_3_naming_the_step_and_reports_failed(
    mlops, azureml, signed_in, toy, tmp_path, monkeypatch
):
    azureml.script(
        None,
        statuses=["Running", "Failed"],
        error={"message": "consume.py: no lines to read", "step": "consume"},
    )
    result = _actions(
        mlops, monkeypatch, "--backend", "azure", "pipeline", "submit", str(toy)
    )
    assert result.code == 3
    assert re.search(
        r"^error: job toy-4242-1-\w+ ended Failed: step consume failed: "
        r"consume.py: no lines to read$",
        result.err,
        re.M,
    ), result.err
    outputs = _outputs(tmp_path / "outputs.txt")
    assert outputs["status"] == "failed" and outputs["job-name"]
    assert outputs["metrics-path"] == ""


def test_the_cancel_step_cancels_the_submitted_job(
    mlops, azureml, signed_in, toy, monkeypatch
):
    azureml.script(None, statuses=["Running"])
    submitted = mlops("--backend", "azure", "pipeline", "submit", str(toy), "--no-wait")
    job = submitted.out.splitlines()[0].removeprefix("job ")
    cancelled = mlops("--backend", "azure", "pipeline", "cancel")
    assert cancelled.code == 0, cancelled.err
    assert cancelled.out == f"cancel requested: {job}\n"
    assert len(azureml.calls("POST", rf"/jobs/{job}/cancel$")) == 1
    waited = mlops("--backend", "azure", "pipeline", "wait", job)
    assert waited.code == 3
    assert f"job {job} ended Canceled" in waited.err


def test_cancel_of_a_finished_job_changes_nothing(mlops, azureml, signed_in, toy):
    azureml.script(None, statuses=["Completed"])
    job = mlops("--backend", "azure", "pipeline", "submit", str(toy), "--no-wait")
    name = job.out.splitlines()[0].removeprefix("job ")
    mlops("--backend", "azure", "pipeline", "wait", name)
    cancelled = mlops("--backend", "azure", "pipeline", "cancel", name)
    assert cancelled.code == 0
    assert azureml.calls("POST", r"/cancel$") == []


def test_cancel_with_nothing_submitted_says_what_to_give(mlops, azureml, toy):
    result = mlops("--backend", "azure", "pipeline", "cancel")
    assert result.code == 2
    assert result.err == (
        "error: no job named and none submitted from here "
        "(.mlops/azure/submitted.json is missing): give the job name\n"
    )


def test_a_missing_cluster_is_named_before_anything_is_created(
    mlops, azureml, signed_in, toy
):
    text = (toy.parent / "pipeline.yml").read_text()
    toy.write_text(text.replace("azureml:cpu-cluster", "azureml:big-cpu"))
    result = mlops("--backend", "azure", "pipeline", "submit", str(toy))
    assert result.code == 2
    assert "big-cpu" in result.err and "--create-compute" in result.err
    assert _job_puts(azureml) == []


def test_a_failed_environment_build_says_so_with_the_build_log(
    mlops, azureml, signed_in, toy
):
    log = "https://example.invalid/builds/42/image_build.log"
    azureml.environment_build("AzureML-sklearn-1.5", "1", state="Failed", log_url=log)
    result = mlops("--backend", "azure", "pipeline", "submit", str(toy))
    assert result.code == 3
    assert re.search(
        r"^error: job toy-4242-1-\w+ ended Failed: environment image build failed "
        rf"for step produce: .*; build log: {re.escape(log)}$",
        result.err,
        re.M,
    ), result.err
