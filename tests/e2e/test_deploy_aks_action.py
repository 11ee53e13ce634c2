"""actions/deploy-aks under act against the fake Kubernetes API server, a real
scorer behind its pods: a rollout that succeeds, then one whose image never
becomes ready and is rolled back; outputs, summary and the job's result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.kube import FakeKube
from tests.fakes.kube.scorers import Scorers, image_of, write_smoke

from .act import run_act
from .test_injection import CHECKOUT, SETUP_PYTHON, repo_copy

pytestmark = pytest.mark.e2e

SETUP_UV = "astral-sh/setup-uv@e92bafb6253dcd438e0484186d7669ea7a8ca1cc"
SLOW = Path(__file__).resolve().parents[1] / "scorer" / "fixtures" / "slow"
BROKEN = image_of("never-pulls")


def _deploy(step_id: str, image: str, version: str, **more: str) -> dict:
    return {
        "id": step_id,
        "uses": "./actions/deploy-aks",
        "with": {
            "image": image,
            "name": "penguins",
            "model-version": version,
            "smoke": "${{ env.SMOKE }}",
            "kubeconfig": "${{ env.KUBECONFIG_FILE }}",
            "timeout": "60",
            **more,
        },
    }


@pytest.fixture(scope="module")
def deployed(act_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy-aks")
    fake = FakeKube()
    scorers = Scorers(fake, tmp)
    try:
        good = scorers.serve(SLOW)
        fake.break_image(BROKEN, reason="ImagePullBackOff", message="manifest unknown")
        smoke = write_smoke(tmp / "smoke.json", 2)
        steps = [
            {"uses": CHECKOUT.split(" #")[0], "with": {"persist-credentials": False}},
            {"uses": SETUP_PYTHON.split(" #")[0], "with": {"python-version": "3.11"}},
            {"uses": SETUP_UV},
            _deploy("good", good, "1"),
            {**_deploy("broken", BROKEN, "2"), "continue-on-error": True},
            {
                "name": "the failed rollout's outcome, and what it left",
                "env": {"OUTCOME": "${{ steps.broken.outcome }}"},
                "run": 'set -euo pipefail\ntest "$OUTCOME" = failure\n'
                "test -s .mlops/deploy/deploy.json\n",
            },
        ]
        workflow = {
            "name": "deploy-aks",
            "on": "push",
            "permissions": {},
            "jobs": {
                "deploy": {
                    "runs-on": "ubuntu-latest",
                    "env": {
                        "SMOKE": str(smoke),
                        "KUBECONFIG_FILE": str(fake.kubeconfig(tmp / "kubeconfig")),
                    },
                    "steps": steps,
                }
            },
        }
        repo = repo_copy(tmp / "repo")
        (repo / "mlops.yaml").write_text(
            "aks:\n  app: penguins\n  namespace: ml\n  replicas: 2\n"
        )
        path = repo / ".github" / "workflows" / "deploy-aks.yml"
        path.write_text(json.dumps(workflow, indent=2))
        run = run_act(path, tmp, env=act_env, repo=repo)
        yield run, fake, good
    finally:
        scorers.close()
        fake.close()
    assert not fake.errors, fake.errors[0]


def test_the_job_passes_with_the_failed_rollout_failing(deployed):
    run, _, _ = deployed
    shown = "\n".join(
        str(e.get("stepID")) + " " + str(e.get("msg") or e.get("arg") or "")[:300]
        for e in run.events
    )
    assert run.job_results() == {"deploy": "success"}, shown
    results = run.step_results("deploy")
    assert results["good/deploy"] == "success"
    assert results["broken/deploy"] == "failure"


def test_the_rollout_outputs_its_revision_and_endpoint(deployed):
    run, fake, _ = deployed
    assert run.outputs("deploy", "good") == {
        "result": "deployed",
        "revision": "1",
        "endpoint": f"{fake.url}/api/v1/namespaces/ml/services/penguins:http/proxy",
        "model-version": "1",
    }


def test_the_failed_rollout_was_rolled_back_before_the_step_failed(deployed):
    run, fake, good = deployed
    assert run.outputs("deploy", "broken")["result"] == "rolled-back"
    live = fake.get("Deployment", "ml", "penguins")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == good
    errors = [a["message"] for a in run.annotations("deploy")]
    assert any(
        "the rollout failed: deployment penguins exceeded its progress deadline; "
        "rolled back" in m
        for m in errors
    ), errors
    summary = run.summary("deploy")
    assert "### Deployed penguins version 1 to AKS" in summary
    assert "### Rollout of penguins version 2 failed: rolled back" in summary
    assert "ImagePullBackOff: manifest unknown" in summary
    history = fake.ready_endpoints_history["ml/penguins"]
    assert min(history[history.index(next(n for n in history if n)) :]) > 0
