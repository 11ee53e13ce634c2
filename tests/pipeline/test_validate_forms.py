"""What validate and run make of Azure ML's job forms: a component file is
validated as a component, an inline command job and pipeline components run
locally, what runs on Azure only is refused by ``pipeline run`` naming the
node, and azure-ai-ml's reports become one located line per problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_actions.pipeline.azure_check import azure_problems, report_problems
from mlops_actions.pipeline.spec import load_pipeline
from mlops_actions.yamlfile import load_yaml

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "azureml"


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A copy of the corpus as the working folder."""
    copy = tmp_path / "azureml"
    shutil.copytree(CORPUS, copy)
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture
def state(mlops, tmp_path, monkeypatch):
    """MLOPS_HOME in tmp_path (set after ``mlops`` clears it)."""
    (tmp_path / "state").mkdir()
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


def test_a_component_file_is_validated_as_a_component(mlops, corpus):
    result = mlops("pipeline", "validate", "components/train/component.yml")
    assert (result.code, result.err) == (0, "")
    assert result.out == "ok: components/train/component.yml: command component\n"


def test_a_pipeline_component_file_lists_its_jobs(mlops, corpus):
    result = mlops("pipeline", "validate", "components/train_pipeline.yml")
    assert result.out == (
        "ok: components/train_pipeline.yml: pipeline component, 2 jobs "
        "(prep -> train)\n"
    )


def test_inline_command_jobs_run_locally(mlops, corpus, state):
    result = mlops("pipeline", "run", "pipelines/inline_command.yml", "--json")
    assert result.code == 0, result.err
    assert "[2/2] train: completed" in result.err


def test_pipeline_components_nested_two_deep_run_locally(mlops, corpus, state):
    result = mlops("pipeline", "run", "pipelines/pipeline_component.yml", "--json")
    assert result.code == 0, result.err
    assert "[1/2] outer/inner/prep: started" in result.err
    assert "[2/2] outer/inner/train: started" in result.err
    record = json.loads(result.out)
    model = Path(record["folder"], "outer", "inner", "train", "outputs", "model")
    assert record["outputs"] == {"model": str(model)}


@pytest.mark.parametrize(
    "name, first",
    [
        ("spark", "pipelines/spark.yml:9: jobs.wrangle: runs on Azure only: spark"),
        (
            "registered",
            "pipelines/registered.yml:6: inputs.raw: azureml:raw-data@latest is a "
            "workspace data asset: pass a local path with --set raw=PATH, or run "
            "with --backend azure",
        ),
    ],
)
def test_run_refuses_what_runs_on_azure_only(mlops, corpus, state, name, first):
    result = mlops("pipeline", "run", f"pipelines/{name}.yml")
    assert result.code == 2
    assert f"error: {first}" in result.err.splitlines()
    assert "started" not in result.err


def test_a_set_data_asset_input_is_no_longer_refused_for_the_asset(
    mlops, corpus, state
):
    result = mlops("pipeline", "run", "pipelines/registered.yml", "--set", "raw=data")
    assert result.code == 2
    assert "data asset" not in result.err
    assert "error: pipelines/registered.yml:10: jobs.prep: runs on Azure only: " in (
        result.err
    )


def test_sdk_exception_naming_an_expression_is_located(corpus):
    problems = azure_problems(load_pipeline(Path("broken/dangling_binding.yml")))
    assert [str(p) for p in problems] == [
        "broken/dangling_binding.yml:19: jobs.train.inputs.data: Failed to find "
        "referenced source for input binding ${{parent.jobs.prep.outputs.missing}}"
    ]


def test_sdk_report_of_text_around_json_is_one_line_per_error(corpus):
    # The shape azure-ai-ml's schema errors take: text, the JSON, more text.
    doc = load_yaml(Path("broken/no_compute.yml"), "pipeline file")
    text = (
        "Validation for PipelineJobSchema failed:\n\n {\n"
        ' "result": "Failed", "errors": [\n'
        '  {"message": "Missing data for required field.", "path": "jobs.prep",'
        ' "value": null},\n'
        "  {\"message\": \"{'type': [\\\"Value 'x' passed is not in set "
        "['a', 'b']\\\"]}; {'path': ['Unknown field.']}\", \"path\": "
        '"jobs.prep.inputs.raw_data", "location": "broken/no_compute.yml#line 7"}'
        "\n]} \n\n If you are trying to configure an entity ...\n"
    )
    assert [str(p) for p in report_problems(doc, text)] == [
        "broken/no_compute.yml:4: jobs.prep: Missing data for required field.",
        "broken/no_compute.yml:7: jobs.prep.inputs.raw_data: Value 'x' passed is "
        "not in set ['a', 'b']",
    ]


def test_sdk_report_that_is_plain_text_keeps_its_first_line(corpus):
    doc = load_yaml(Path("broken/no_compute.yml"), "pipeline file")
    problems = report_problems(doc, "Something went wrong.\n\nVisit this link...")
    assert [str(p) for p in problems] == [
        "broken/no_compute.yml:1: azure-ai-ml: Something went wrong."
    ]


def test_boolean_given_as_the_string_False_is_accepted(mlops, corpus):
    # Azure ML parses "False"/"true" for a boolean input; so do we.
    text = Path("pipelines/component_files.yml").read_text()
    assert 'scale: "False"' in text
    Path("pipelines/component_files.yml").write_text(text.replace('"False"', '"true"'))
    result = mlops("pipeline", "validate", "pipelines/component_files.yml")
    assert (result.code, result.err) == (0, "")


def test_a_break_inside_an_inline_nested_pipeline_names_its_line(corpus):
    from mlops_actions.pipeline.checks import check_pipeline

    text = Path("broken/inline_nested.yml").read_text()
    text += "        inputs:\n          data: ${{parent.jobs.nope.outputs.x}}\n"
    Path("broken/inline_nested.yml").write_text(text)
    problems = check_pipeline(load_pipeline(Path("broken/inline_nested.yml")))
    assert [str(p) for p in problems] == [
        "broken/inline_nested.yml:15: jobs.outer.jobs.step.inputs.data: binds to "
        "job 'nope', which does not exist"
    ]


def test_a_pipeline_component_that_includes_itself_is_refused(corpus):
    from mlops_actions.pipeline.checks import check_pipeline

    Path("components/loop.yml").write_text(
        "type: pipeline\nname: loop\njobs:\n  again:\n    type: pipeline\n"
        "    component: ./loop.yml\n"
    )
    Path("pipelines/loop.yml").write_text(
        "type: pipeline\njobs:\n  start:\n    type: pipeline\n"
        "    component: ../components/loop.yml\n"
    )
    problems = check_pipeline(load_pipeline(Path("pipelines/loop.yml")))
    assert len(problems) == 1
    assert problems[0].file == Path("components/loop.yml")
    assert problems[0].message == (
        "pipelines nested deeper than 16 (one includes itself?)"
    )
