"""actions/submit-pipeline under act with the local backend, on the toy
pipeline: outputs, the summary, `set` lines arriving whole, a failing run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from .act import run_act
from .test_injection import CHECKOUT, SETUP_PYTHON, repo_copy

pytestmark = pytest.mark.e2e

MARKER = Path("/tmp") / f"mlops-pwned-{uuid.uuid4().hex}"
SETUP_UV = "astral-sh/setup-uv@e92bafb6253dcd438e0484186d7669ea7a8ca1cc"
TOY = "tests/fixtures/toy/pipeline.yml"
#: One step that prints the workspace variables it was given.
ECHO_PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
jobs:
  echo:
    type: command
    command: >-
      echo "workspace=[$MLOPS_AZURE_WORKSPACE] group=[$MLOPS_AZURE_RESOURCE_GROUP]"
    environment: azureml:AzureML-sklearn-1.5@latest
"""


def _submit(step_id: str, overrides: str, **more) -> dict:
    return {
        "id": step_id,
        "uses": "./actions/submit-pipeline",
        "with": {
            "pipeline": TOY,
            "metrics-output": "result",
            "set": overrides,
            **more,
        },
    }


@pytest.fixture(scope="module")
def submitted(act_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("submit-pipeline")
    check = {
        "name": "the produce step saw the words with their space",
        "env": {"METRICS_PATH": "${{ steps.toy.outputs.metrics-path }}"},
        "run": "set -euo pipefail\n"
        'test -s "$METRICS_PATH/metrics.json"\n'
        "grep -qx 'two words 3' .mlops/runs/*/produce/outputs/lines/lines.txt\n",
    }
    steps = [
        {"uses": CHECKOUT.split(" #")[0], "with": {"persist-credentials": False}},
        {"uses": SETUP_PYTHON.split(" #")[0], "with": {"python-version": "3.11"}},
        {"uses": SETUP_UV},
        _submit("toy", "word=two words\n\ncount=4\n"),
        check,
        {
            **_submit("broken", "fail_with=1", timeout="600"),
            "continue-on-error": True,
        },
        {
            "id": "echo",
            "uses": "./actions/submit-pipeline",
            "with": {"pipeline": "echo-env.yml", "resource-group": "from-input"},
        },
        {
            "name": "an empty input kept the job's value, a given one won",
            "run": "set -euo pipefail\n"
            "grep -Fqx 'workspace=[from-job-env] group=[from-input]' "
            ".mlops/runs/*/echo/logs/std_log.txt\n",
        },
        {
            "id": "hostile",
            "continue-on-error": True,
            "uses": "./actions/submit-pipeline",
            "with": {
                "pipeline": f'a"; touch {MARKER}; echo "',
                "set": f"x=$(touch {MARKER})\ny=`touch {MARKER}`",
            },
        },
        {
            "name": "the failed run's outcome",
            "env": {"OUTCOME": "${{ steps.broken.outcome }}"},
            "run": 'set -euo pipefail\ntest "$OUTCOME" = failure\n',
        },
    ]
    workflow = {
        "name": "submit-pipeline",
        "on": "push",
        "permissions": {},
        "jobs": {
            "toy": {
                "runs-on": "ubuntu-latest",
                "env": {
                    "MLOPS_AZURE_WORKSPACE": "from-job-env",
                    "MLOPS_AZURE_RESOURCE_GROUP": "job-group",
                },
                "steps": steps,
            }
        },
    }
    repo = repo_copy(tmp / "repo")
    (repo / "echo-env.yml").write_text(ECHO_PIPELINE)
    path = repo / ".github" / "workflows" / "submit-pipeline.yml"
    path.write_text(json.dumps(workflow, indent=2))
    return run_act(path, tmp, env=act_env, repo=repo)


def test_job_passes_and_the_failing_step_failed(submitted):
    assert submitted.job_results() == {"toy": "success"}, (
        submitted.log() + submitted.stderr
    )
    results = submitted.step_results("toy")
    assert results["toy/submit"] == "success"
    assert results["broken/submit"] == "failure", results
    assert results["echo/submit"] == "success", results


def test_outputs_name_the_job_its_status_and_metrics(submitted):
    outputs = submitted.outputs("toy", "toy")
    assert outputs["status"] == "completed"
    assert outputs["job-name"]
    path = Path(outputs["metrics-path"])
    assert path.name == "result" and path.parent.name == "outputs"
    # act removes its workspace when it ends: the workflow's own step checked
    # that metrics.json is there (see test_job_passes_...).


def test_failed_run_outputs(submitted):
    # cli-surface: status (failed) and job-name reach $GITHUB_OUTPUT and the
    # summary for a failed run too, so a later step can report or cancel it.
    outputs = submitted.outputs("toy", "broken")
    assert outputs["status"] == "failed"
    assert outputs["job-name"]
    assert outputs["job-name"] != submitted.outputs("toy", "toy")["job-name"]
    assert outputs.get("metrics-path", "") == ""
    errors = [a["message"] for a in submitted.annotations("toy")]
    assert any("consume" in m for m in errors), errors
    assert f"### Pipeline job `{outputs['job-name']}`: failed" in submitted.summary(
        "toy"
    )


def test_summary_has_the_job_status_and_metrics(submitted):
    summary = submitted.summary("toy")
    name = submitted.outputs("toy", "toy")["job-name"]
    assert f"### Pipeline job `{name}`: completed" in summary
    assert "| backend | local |" in summary
    assert "| lines | 4 |" in summary  # count=4 arrived


def test_hostile_inputs_execute_nothing(submitted):
    assert submitted.step_results("toy")["hostile/submit"] == "failure"
    assert not MARKER.exists()
    errors = [a["message"] for a in submitted.annotations("toy")]
    # The file name arrived whole, quotes and all.
    assert any(f'a"; touch {MARKER}; echo "' in m for m in errors), errors
