"""The corpus of Azure ML pipelines (tests/fixtures/azureml): our verdict and
azure-ai-ml's own, side by side, for every job form Azure ML's documentation
writes; ours never rejects what azure-ai-ml accepts except through one of the
documented graph checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_actions.pipeline.azure_check import (
    azure_component_problems,
    azure_problems,
)
from mlops_actions.pipeline.spec import component_from, load_pipeline
from mlops_actions.yamlfile import load_yaml

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "azureml"

#: The messages of our documented graph checks (README, "mlops pipeline
#: validate"): the only errors we give for a file azure-ai-ml accepts.
GRAPH_CHECKS = (
    r"binds to job '\w+', which does not exist",
    r"binds to \w+\.outputs\.\w+, which does not exist \(known: .*\)",
    r"unknown input of \w+ \(known: .*\)",
    r"not an input of the trial \w+ \(known: .*\)",
    r"expects \w+, got \w+ .*",
    r"cycle: .*",
    r"refers to undeclared (inputs|outputs)\.\w+",
)

RUNS_ON_AZURE = "runs on Azure only"

#: file -> (stderr lines from `mlops pipeline validate`, azure-ai-ml accepts it)
CASES: dict[str, tuple[list[str], bool]] = {
    "pipelines/inline_command.yml": ([], True),
    "pipelines/component_files.yml": ([], True),
    "pipelines/registered.yml": (
        [
            "warning: pipelines/registered.yml:6: inputs.raw: azureml:raw-data@latest"
            " is a workspace data asset: pass a local path with --set raw=PATH, or "
            "run with --backend azure",
            "warning: pipelines/registered.yml:10: jobs.prep: runs on Azure only: "
            "registered component azureml:prep@latest",
            "warning: pipelines/registered.yml:12: jobs.prep.component: "
            "azureml:prep@latest: a registered component; its inputs and outputs "
            "are not known offline and were not checked",
            "warning: pipelines/registered.yml:15: jobs.train: runs on Azure only: "
            "registered component azureml:train:1",
            "warning: pipelines/registered.yml:17: jobs.train.component: "
            "azureml:train:1: a registered component; its inputs and outputs are "
            "not known offline and were not checked",
            "warning: pipelines/registered.yml:20: jobs.score: runs on Azure only: "
            "registered component "
            "azureml://registries/azureml/components/score/versions/2",
            "warning: pipelines/registered.yml:22: jobs.score.component: "
            "azureml://registries/azureml/components/score/versions/2: a registered"
            " component; its inputs and outputs are not known offline and were not "
            "checked",
        ],
        True,
    ),
    "pipelines/pipeline_component.yml": ([], True),
    "pipelines/parallel.yml": (
        [
            "warning: pipelines/parallel.yml:10: jobs.score: runs on Azure only: "
            "parallel"
        ],
        True,
    ),
    "pipelines/spark.yml": (
        ["warning: pipelines/spark.yml:9: jobs.wrangle: runs on Azure only: spark"],
        True,
    ),
    "pipelines/sweep.yml": (
        [],
        True,
    ),
    "pipelines/automl.yml": (
        [
            "warning: pipelines/automl.yml:6: inputs.train_data: "
            "azureml:bank-train@latest is a workspace data asset: pass a local path "
            "with --set train_data=PATH, or run with --backend azure",
            "warning: pipelines/automl.yml:10: jobs.classify: runs on Azure only: "
            "AutoML",
        ],
        True,
    ),
    "pipelines/anonymous_component.yml": ([], True),
    "pipelines/flow.yml": (
        [
            "warning: pipelines/flow.yml:10: jobs.answer: runs on Azure only: "
            "prompt flow"
        ],
        True,
    ),
    "flow/flow.dag.yaml": ([], True),
    "broken/inline_nested.yml": (
        [
            "error: broken/inline_nested.yml:6: jobs.outer.component: Missing data "
            "for required field.",
        ],
        False,
    ),
    "components/train/component.yml": ([], True),
    "components/train_pipeline.yml": ([], True),
    "components/outer_pipeline.yml": ([], True),
    "broken/dangling_binding.yml": (
        [
            "error: broken/dangling_binding.yml:19: jobs.train.inputs.data: binds to "
            "prep.outputs.missing, which does not exist (known: out)"
        ],
        False,
    ),
    "broken/unknown_input.yml": (
        [
            "error: broken/unknown_input.yml:12: jobs.train.inputs.epochz: unknown "
            "input of train (known: data, learning_rate, epochs)"
        ],
        True,
    ),
    "broken/cycle.yml": (
        ["error: broken/cycle.yml:6: jobs.prep: cycle: prep -> train -> prep"],
        True,
    ),
    "broken/bad_boolean.yml": (
        [
            "error: broken/bad_boolean.yml:12: jobs.prep.inputs.scale: expects "
            "boolean, got string 'maybe'"
        ],
        True,
    ),
    "broken/sweep_unknown.yml": (
        [
            "error: broken/sweep_unknown.yml:14: jobs.tune.search_space.learning_rat:"
            " not an input of the trial train (known: data, learning_rate, epochs)",
        ],
        True,
    ),
    "broken/nested_dangling.yml": (
        [
            "error: components/broken_pipeline.yml:15: "
            "jobs.outer.jobs.train.inputs.data: binds to job 'perp', which does not "
            "exist",
        ],
        True,
    ),
    "components/broken_pipeline.yml": (
        [
            "error: components/broken_pipeline.yml:15: jobs.train.inputs.data: binds "
            "to job 'perp', which does not exist"
        ],
        True,
    ),
    "components/broken_component.yml": (
        [
            "error: components/broken_component.yml:9: command: refers to undeclared "
            "inputs.lr"
        ],
        False,
    ),
    "broken/no_compute.yml": (
        ["error: broken/no_compute.yml:4: jobs.prep.compute: Compute not set"],
        False,
    ),
    "broken/bad_input_type.yml": (
        [
            "error: broken/bad_input_type.yml:6: inputs.raw: Value 'uri_foldr' passed"
            " is not in set ['uri_file', 'uri_folder']"
        ],
        False,
    ),
    "broken/ours_and_azure.yml": (
        [
            "error: broken/ours_and_azure.yml:4: jobs.train.compute: Compute not set",
            "error: broken/ours_and_azure.yml:10: jobs.train.inputs.epochz: unknown "
            "input of train (known: data, learning_rate, epochs)",
        ],
        False,
    ),
}


@pytest.fixture
def in_corpus(monkeypatch):
    monkeypatch.chdir(CORPUS)


def azure_verdict(file: Path) -> list[str]:
    """azure-ai-ml's own problems with the file, as our lines."""
    if file.parts[0] in ("components", "flow"):
        component = component_from(load_yaml(file, "component file"))
        return [str(p) for p in azure_component_problems(component)]
    return [str(p) for p in azure_problems(load_pipeline(file))]


def test_the_corpus_covers_every_file():
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.yml")}
    assert files - set(CASES) == {"components/prep/component.yml"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_our_verdict_and_azure_ml_s(mlops, in_corpus, name):
    lines, azure_accepts = CASES[name]
    result = mlops("pipeline", "validate", name)

    assert result.err.splitlines() == lines
    errors = [line for line in lines if line.startswith("error: ")]
    assert result.code == (2 if errors else 0), result
    assert (azure_verdict(Path(name)) == []) is azure_accepts
    if azure_accepts:  # ours rejects it only through a documented graph check
        for line in errors:
            message = line.split(": ", 3)[3]
            assert any(re.fullmatch(c, message) for c in GRAPH_CHECKS), line


@pytest.mark.parametrize(
    "name", [n for n, (lines, _) in CASES.items() if RUNS_ON_AZURE in "".join(lines)]
)
def test_target_local_makes_azure_only_nodes_errors(mlops, in_corpus, name):
    lines, _ = CASES[name]
    result = mlops("pipeline", "validate", "--target", "local", name)

    assert result.code == 2
    refused = [ln for ln in result.err.splitlines() if RUNS_ON_AZURE in ln]
    expected = [ln for ln in lines if RUNS_ON_AZURE in ln]
    assert refused == [ln.replace("warning: ", "error: ", 1) for ln in expected]
