"""``mlops pipeline validate``: the reference pipeline passes; each break is named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])


def test_reference_pipeline_is_valid(mlops, in_repo):
    result = mlops("pipeline", "validate", "pipelines/pipeline.yml")
    assert result.err == ""
    assert result.out == (
        "ok: pipelines/pipeline.yml: 4 jobs "
        "(ingest -> preprocess -> train -> evaluate)\n"
    )
    assert result.code == 0


def test_reference_pipeline_json_report(mlops, in_repo):
    import json

    result = mlops("pipeline", "validate", "pipelines/pipeline.yml", "--json")
    report = json.loads(result.out)
    assert report["valid"] is True
    assert report["jobs"] == ["ingest", "preprocess", "train", "evaluate"]
    assert report["problems"] == []


def _set(where: list[str], value):
    def change(data):
        node = data
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value

    return change


CASES = {
    "missing component file": (
        _set(["jobs", "train", "component"], "./components/nope/component.yml"),
        r"pipeline.yml:\d+: jobs.train.component: component file .*components/nope/"
        r"component.yml not found",
    ),
    "dangling job output": (
        _set(
            ["jobs", "evaluate", "inputs", "model"],
            "${{parent.jobs.trian.outputs.model}}",
        ),
        r"pipeline.yml:\d+: jobs.evaluate.inputs.model: binds to job 'trian', "
        r"which does not exist",
    ),
    "dangling output name": (
        _set(
            ["jobs", "evaluate", "inputs", "model"],
            "${{parent.jobs.train.outputs.modle}}",
        ),
        r"pipeline.yml:\d+: jobs.evaluate.inputs.model: binds to train.outputs.modle, "
        r"which does not exist \(known: model\)",
    ),
    "unknown input": (
        _set(["jobs", "train", "inputs", "epochz"], 5),
        r"pipeline.yml:\d+: jobs.train.inputs.epochz: unknown input of mlops_train "
        r"\(known: .*epochs.*\)",
    ),
    "wrong literal type": (
        _set(["jobs", "train", "inputs", "epochs"], "sixty"),
        r"pipeline.yml:\d+: jobs.train.inputs.epochs: expects integer, got string "
        r"'sixty'",
    ),
    "wrong pipeline input type": (
        _set(["inputs", "learning_rate"], "fast"),
        r"pipeline.yml:\d+: jobs.train.inputs.learning_rate: expects number but "
        r"pipeline input 'learning_rate' is string \('fast'\)",
    ),
    "undeclared pipeline input": (
        _set(["jobs", "train", "inputs", "seed"], "${{parent.inputs.sead}}"),
        r"pipeline.yml:\d+: jobs.train.inputs.seed: pipeline input 'sead' is not "
        r"declared",
    ),
    "value outside enum": (
        _set(["jobs", "train", "inputs", "device"], "gpu"),
        r"pipeline.yml:\d+: jobs.train.inputs.device: 'gpu' is not one of auto, cpu, "
        r"cuda",
    ),
    "value below minimum": (
        _set(["inputs", "epochs"], 0),
        r"pipeline.yml:\d+: jobs.train.inputs.epochs: pipeline input 'epochs': 0 is "
        r"below the minimum 1",
    ),
    "cycle": (
        _set(
            ["jobs", "ingest", "inputs", "source"],
            "${{parent.jobs.evaluate.outputs.metrics}}",
        ),
        r"pipeline.yml:\d+: jobs.ingest: cycle: ingest -> evaluate -> train -> "
        r"preprocess -> ingest",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_break_is_refused_naming_job_and_field(mlops, reference, case):
    import re

    change, message = CASES[case]
    edit(reference, change)
    result = mlops("pipeline", "validate", str(reference))
    assert result.code == 2, result
    first = result.err.splitlines()[0]
    assert first.startswith(f"error: {reference}:"), result.err
    assert re.search(message, first), first
    assert result.out == ""


def test_missing_script_names_component_file(mlops, reference):
    (reference.parent / "components" / "train" / "train.py").unlink()
    result = mlops("pipeline", "validate", str(reference))
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert "components/train/component.yml" in first
    assert "jobs.train.command: script train.py not found in" in first


def test_invalid_yaml_names_file_and_line(mlops, reference):
    text = reference.read_text().replace("jobs:\n", "jobs:\n  - [unclosed\n", 1)
    reference.write_text(text)
    result = mlops("pipeline", "validate", str(reference))
    assert result.code == 2
    assert result.err.startswith(f"error: {reference}:")
    assert "invalid YAML" in result.err
    assert len(result.err.splitlines()) == 1


def test_missing_pipeline_file(mlops, tmp_path):
    result = mlops("pipeline", "validate", str(tmp_path / "nope.yml"))
    assert result.code == 2
    assert result.err == f"error: {tmp_path / 'nope.yml'}: pipeline file not found\n"


def test_every_problem_is_listed(mlops, reference):
    edit(reference, _set(["jobs", "train", "inputs", "epochs"], "sixty"))
    edit(reference, _set(["jobs", "train", "inputs", "epochz"], 5))
    result = mlops("pipeline", "validate", str(reference))
    assert result.code == 2
    lines = result.err.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("error: ") for line in lines)


def test_azure_validation_catches_what_it_checks(mlops, reference):
    # Compute missing everywhere is something azure-ai-ml's validation reports.
    def no_compute(data):
        data.pop("settings")
        data["jobs"]["train"].pop("compute")

    edit(reference, no_compute)
    result = mlops("pipeline", "validate", str(reference))
    assert result.code == 2
    lines = result.err.splitlines()
    assert [line.split(": ")[2:] for line in lines] == [
        [f"jobs.{job}.compute", "Compute not set"]
        for job in ("ingest", "preprocess", "train", "evaluate")  # file order
    ]
    assert all(line.startswith(f"error: {reference}:") for line in lines)


def test_missing_environment_file_is_named(mlops, reference):
    (reference.parents[1] / "environments" / "gpu" / "environment.yml").unlink()
    result = mlops("pipeline", "validate", str(reference))
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert "components/train/component.yml" in first
    assert "jobs.train.environment: environment file " in first
    assert first.endswith("environments/gpu/environment.yml not found")
