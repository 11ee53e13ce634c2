"""`.github/workflows/azure-live.yml` under act, as a fork or an unconfigured
repository sees it: no Azure variables, so a notice and no Azure step."""

from __future__ import annotations

import pytest
import yaml

from . import act
from .act import ROOT, run_act

WORKFLOW = ROOT / ".github" / "workflows" / "azure-live.yml"
AZURE_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_ML_RESOURCE_GROUP",
    "AZURE_ML_WORKSPACE",
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def skipped(act_env, tmp_path_factory):
    # A stub that fails the job if azure/login ever runs without variables.
    stubs = dict(act.STUBS)
    act.STUBS[("azure", "login")] = 'echo "azure/login ran"; exit 1'
    try:
        yield run_act(
            WORKFLOW,
            tmp_path_factory.mktemp("azure-live"),
            event="workflow_dispatch",
            payload={"inputs": {}},
            env=act_env,
        )
    finally:
        act.STUBS.clear()
        act.STUBS.update(stubs)


def test_job_passes_with_one_notice_naming_the_variables(skipped):
    assert skipped.job_results() == {"light": "success"}, skipped.log() + skipped.stderr
    notices = [a for a in skipped.annotations("light") if a["level"] == "notice"]
    assert len(notices) == 1, skipped.annotations("light")
    message = notices[0]["message"]
    assert message.startswith("the live Azure ML job is skipped: the repository ")
    assert f"variables {' '.join(AZURE_VARIABLES)} are not set" in message
    assert "Azure ML: one-time setup" in message


def test_no_azure_step_ran(skipped):
    log = skipped.log("light")
    assert "azure/login ran" not in log
    # act runs every step's "Pre" stage; a step that ran has a "Main" one.
    main = {
        e["stepID"][0]
        for e in skipped.events
        if e.get("jobID") == "light" and e.get("stage") == "Main" and "stepID" in e
    }
    assert main == {"0", "live"}, main


def test_every_azure_step_is_guarded():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["light"]["steps"]
    guard = "steps.live.outputs.configured == 'true'"
    unguarded = [s.get("name") for s in steps[2:] if guard not in str(s.get("if"))]
    assert unguarded == []
    assert steps[-1]["if"].startswith("cancelled()")
    assert "mlops pipeline cancel" in steps[-1]["run"]
