"""actions/submit-pipeline under act with the local backend, on the toy
pipeline: outputs, the summary, `set` lines arriving whole, a failing run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .act import run_act
from .test_injection import CHECKOUT, SETUP_PYTHON, repo_copy

pytestmark = pytest.mark.e2e

SETUP_UV = "astral-sh/setup-uv@e92bafb6253dcd438e0484186d7669ea7a8ca1cc"
TOY = "tests/fixtures/toy/pipeline.yml"


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
            "name": "the failed run's outcome",
            "env": {"OUTCOME": "${{ steps.broken.outcome }}"},
            "run": 'set -euo pipefail\ntest "$OUTCOME" = failure\n',
        },
    ]
    workflow = {
        "name": "submit-pipeline",
        "on": "push",
        "permissions": {},
        "jobs": {"toy": {"runs-on": "ubuntu-latest", "steps": steps}},
    }
    repo = repo_copy(tmp / "repo")
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
