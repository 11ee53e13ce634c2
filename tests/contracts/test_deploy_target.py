"""The DeployTarget contract, run against every implementation."""

from __future__ import annotations

import json

import pytest

from mlops_actions.deploy.base import ModelRef
from mlops_actions.errors import CheckFailed, UsageError


def answers(subject, url: str) -> bool:
    status, _ = subject.get(url + "/health/ready")
    return status == 200


def served(subject, url: str) -> str:
    """The model the scorer at ``url`` says it serves."""
    status, body = subject.get(url + "/health/ready")
    assert status == 200, body
    return json.loads(body)["model"]


def shape_smoke(rows: int) -> dict:
    request = {"dataframe_split": {"columns": ["x"], "data": [[1.0]] * rows}}
    return {"request": request, "expected": {"rows": rows}, "shape_only": True}


def test_deploy_serves_and_status_says_so(deploy_subject):
    target = deploy_subject.target
    assert target.status() is None
    done = target.deploy(ModelRef(deploy_subject.second), shape_smoke(2))
    assert done.smoke is not None and done.smoke.ok
    assert done.to_json()["schema"] == "mlops-actions/deploy"
    now = target.status()
    assert now is not None
    assert (now.url, now.model) == (done.deployment.url, deploy_subject.second)
    assert answers(deploy_subject, now.url)


def test_rollback_restores_the_previous_model(deploy_subject):
    target, first, second = (
        deploy_subject.target,
        deploy_subject.first,
        deploy_subject.second,
    )
    with pytest.raises(UsageError, match="nothing to roll back to"):
        target.rollback()
    target.deploy(ModelRef(first), None)
    target.deploy(ModelRef(second), None)
    back = target.rollback()
    assert back.deployment.model == first
    assert target.status().model == first
    assert served(deploy_subject, back.deployment.url).endswith("typed")
    assert target.status().model == first
    again = target.rollback()  # twice: back where it started
    assert target.status().model == second == again.deployment.model


def test_failed_smoke_test_leaves_nothing_serving(deploy_subject):
    target = deploy_subject.target
    wrong = shape_smoke(3) | {"request": shape_smoke(2)["request"]}
    with pytest.raises(CheckFailed, match="smoke test failed: expected 3 predictions"):
        target.deploy(ModelRef(deploy_subject.second), wrong)
    assert target.status() is None


def test_stop_stops_and_rollback_still_knows_the_models(deploy_subject):
    target = deploy_subject.target
    assert target.stop() is None  # nothing serving: nothing to stop
    target.deploy(ModelRef(deploy_subject.first), None)
    done = target.deploy(ModelRef(deploy_subject.second), None)
    stopped = target.stop()
    assert stopped is not None and stopped.url == done.deployment.url
    assert target.status() is None
    assert not answers(deploy_subject, done.deployment.url)
    assert target.rollback().deployment.model == deploy_subject.first
