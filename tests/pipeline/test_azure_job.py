"""The job a submission sends: the user's YAML, loaded by azure-ai-ml, with
only what the submission decides changed on it (no service is reached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.azure_job import Light, prepare_job
from mlops_actions.pipeline.spec import load_pipeline

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "azureml" / "pipelines"


def _rest(job):
    return job._to_rest_object().as_dict()["properties"]


def test_every_step_gets_the_server_side_timeout_and_the_name():
    pipeline = load_pipeline(FIXTURES / "toy" / "pipeline.yml")
    prepared = prepare_job(
        pipeline, {"count": 7}, name="toy-1-1-abc", step_timeout_s=900
    )
    body = _rest(prepared.job)
    assert prepared.job.name == "toy-1-1-abc"
    assert body["inputs"]["count"]["value"] == "7"
    assert {n: j["limits"]["timeout"] for n, j in body["jobs"].items()} == {
        "produce": "PT15M",
        "consume": "PT15M",
    }
    assert prepared.computes == {"cpu-cluster"}


def test_light_moves_every_step_nested_ones_too_to_its_compute():
    pipeline = load_pipeline(CORPUS / "pipeline_component.yml")
    prepared = prepare_job(
        pipeline,
        {},
        name="n",
        step_timeout_s=60,
        light=Light(compute="azureml:ci-cpu"),
    )
    assert prepared.computes == {"ci-cpu"}
    assert prepared.job.settings.default_compute == "azureml:ci-cpu"
    steps = list(_leaves(prepared.job))
    assert len(steps) == 2  # outer -> inner -> two command steps
    assert all(node.compute == "azureml:ci-cpu" for node in steps)


def _leaves(job):
    for node in job.jobs.values():
        inner = getattr(node.component, "jobs", None)
        yield from _leaves(node.component) if inner else [node]


def test_light_inputs_apply_and_set_values_win_over_them():
    pipeline = load_pipeline(FIXTURES / "toy" / "pipeline.yml")
    light = Light(compute="cpu-small", inputs={"count": 1, "word": "ci"})
    prepared = prepare_job(
        pipeline, {"word": "mine"}, name="n", step_timeout_s=60, light=light
    )
    inputs = _rest(prepared.job)["inputs"]
    assert (inputs["count"]["value"], inputs["word"]["value"]) == ("1", "mine")


def test_a_light_input_the_pipeline_lacks_names_the_config_key():
    pipeline = load_pipeline(FIXTURES / "toy" / "pipeline.yml")
    with pytest.raises(UsageError, match=r"light\.inputs\.epochs in mlops\.yaml"):
        prepare_job(
            pipeline, {}, name="n", step_timeout_s=60, light=Light(inputs={"epochs": 1})
        )


def test_a_sweep_keeps_its_own_limits_and_gets_the_timeout():
    pipeline = load_pipeline(CORPUS / "sweep.yml")
    prepared = prepare_job(pipeline, {}, name="n", step_timeout_s=3600)
    limits = _rest(prepared.job)["jobs"]["tune"]["limits"]
    assert limits["timeout"] == 3600  # a sweep's limits count seconds
    assert limits["max_total_trials"] == 4


def test_data_assets_are_pinned_and_recorded_as_tags():
    pipeline = load_pipeline(CORPUS / "pipeline_component.yml")
    asked = []

    def resolve(uri):
        asked.append(uri)
        return "churn-raw:7c1f"

    prepared = prepare_job(
        pipeline,
        {"raw": "azureml:churn-raw@latest"},
        name="n",
        step_timeout_s=60,
        tags={"mlops.commit": "abc"},
        resolve_data=resolve,
    )
    assert asked == ["azureml:churn-raw@latest"]
    assert prepared.data == {"raw": "churn-raw:7c1f"}
    body = _rest(prepared.job)
    assert body["inputs"]["raw"]["uri"] == "azureml:churn-raw:7c1f"
    assert body["tags"] == {"mlops.commit": "abc", "mlops.data.raw": "churn-raw:7c1f"}


def test_a_job_input_override_reaches_that_node_only():
    pipeline = load_pipeline(FIXTURES / "toy" / "pipeline.yml")
    prepared = prepare_job(
        pipeline, {"jobs.consume.inputs.fail_with": 1}, name="n", step_timeout_s=60
    )
    jobs = _rest(prepared.job)["jobs"]
    assert jobs["consume"]["inputs"]["fail_with"]["value"] == "1"
    assert "fail_with" not in jobs["produce"]["inputs"]


def test_a_string_input_naming_a_data_asset_is_pinned_and_stays_a_string():
    pipeline = load_pipeline(FIXTURES / "toy" / "pipeline.yml")
    prepared = prepare_job(
        pipeline,
        {"word": "azureml:greetings@latest"},
        name="n",
        step_timeout_s=60,
        resolve_data=lambda uri: "greetings:3",
    )
    inputs = _rest(prepared.job)["inputs"]
    assert inputs["word"] == {"jobInputType": "literal", "value": "azureml:greetings:3"}
    assert prepared.data == {"word": "greetings:3"}
