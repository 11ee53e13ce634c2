"""The Azure ML job name: one per workflow run attempt and pipeline."""

from __future__ import annotations

from datetime import datetime, timezone

from mlops_actions.pipeline.job_names import JOB_NAME, job_name

RUN = {
    "GITHUB_REPOSITORY": "octo/shop",
    "GITHUB_RUN_ID": "9912",
    "GITHUB_RUN_ATTEMPT": "1",
}


def test_the_same_run_attempt_and_pipeline_give_the_same_name():
    first = job_name("Churn Model", environ=RUN)
    assert first == job_name("Churn Model", environ=dict(RUN))
    assert first.startswith("churn-model-9912-1-") and JOB_NAME.fullmatch(first)


def test_another_attempt_repository_pipeline_or_variant_is_another_job():
    base = job_name("churn", environ=RUN)
    others = {
        job_name("churn", environ={**RUN, "GITHUB_RUN_ATTEMPT": "2"}),
        job_name("churn", environ={**RUN, "GITHUB_REPOSITORY": "octo/other"}),
        job_name("churn-v2", environ=RUN),
        job_name("churn", light=True, environ=RUN),
    }
    assert base not in others and len(others) == 4
    assert job_name("churn", light=True, environ=RUN).startswith("churn-light-9912-1-")


def test_outside_a_workflow_each_submission_is_new():
    now = datetime(2026, 12, 2, 18, 30, 5, tzinfo=timezone.utc)
    first, second = (job_name("churn", environ={}, now=now) for _ in range(2))
    assert first != second
    assert first.startswith("churn-20261202-183005-")


def test_names_that_azure_would_refuse_are_made_valid():
    for pipeline in ("", "---", "Ünïcode pipeline!", "x" * 300, "-lead"):
        name = job_name(pipeline, environ=RUN)
        assert JOB_NAME.fullmatch(name), name
        assert len(name) <= 255
