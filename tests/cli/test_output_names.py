"""Output names in `pipeline validate`, `release` and `model register --run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
outputs:
  trained: {type: mlflow_model}
  scores: {type: uri_folder}
settings:
  default_compute: azureml:cpu
jobs:
  fit:
    type: command
    command: echo fit > ${{outputs.trained}}/x
    environment: azureml:python@latest
    outputs:
      trained: ${{parent.outputs.trained}}
      scores: ${{parent.outputs.scores}}
"""

RULES = """\
version: 1
model: own
primary: rmse
metrics:
  rmse: {direction: minimize, ceiling: 10}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / ".mlops"))
    (tmp_path / ".mlops").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    (tmp_path / "pipeline.yml").write_text(PIPELINE)
    return tmp_path


def test_release_without_model_output_stops_with_exit_2_not_keyerror_70(mlops, project):
    (project / "gate.yml").write_text(RULES)
    result = mlops("release", "--pipeline", "pipeline.yml")
    assert result.code == 2, result
    assert result.err == (
        "error: pipeline.yml: the pipeline has no `model` output for release to "
        "register (its outputs: scores, trained): name the output holding the "
        "MLflow model with outputs.model in gate.yml or --model-output\n"
    )
    assert not (project / ".mlops" / "runs").exists()  # nothing was trained
    assert "internal error" not in result.err


def test_release_names_the_configured_output_it_lacks(mlops, project):
    (project / "gate.yml").write_text(RULES + "outputs: {model: fitted}\n")
    result = mlops("release", "--pipeline", "pipeline.yml")
    assert result.code == 2
    assert "has no `fitted` output" in result.err


def test_validate_warns_when_the_pipeline_lacks_the_outputs_gate_yml_names(
    mlops, project
):
    (project / "gate.yml").write_text(RULES)
    result = mlops("pipeline", "validate", "pipeline.yml")
    assert result.code == 0, result
    assert result.err.splitlines() == [
        "warning: pipeline.yml:3: outputs: no `model` output for the MLflow model "
        "folder that register and release read (the pipeline's outputs: scores, "
        "trained): add it, or name the right one with outputs.model in gate.yml or "
        "--model-output",
        "warning: pipeline.yml:3: outputs: no `metrics` output for the metrics.json "
        "folder that the gate reads (the pipeline's outputs: scores, trained): add "
        "it, or name the right one with outputs.metrics in gate.yml or "
        "--metrics-output",
    ]


def test_validate_is_quiet_when_the_names_match(mlops, project):
    (project / "gate.yml").write_text(
        RULES + "outputs: {model: trained, metrics: scores}\n"
    )
    result = mlops("pipeline", "validate", "pipeline.yml")
    assert (result.code, result.err) == (0, "")
    flags = mlops(
        "pipeline",
        "validate",
        "pipeline.yml",
        "--rules",
        "absent.yml",
        "--model-output",
        "trained",
        "--metrics-output",
        "scores",
    )
    assert (flags.code, flags.err) == (0, "")


def test_validate_without_gate_yml_checks_no_output_names(mlops, project):
    result = mlops("pipeline", "validate", "pipeline.yml")
    assert (result.code, result.err) == (0, "")


def write_run(state: Path, run_id: str, outputs: dict[str, str]) -> None:
    folder = state / "runs" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "schema": "mlops-actions/pipeline-run",
        "version": 1,
        "run_id": run_id,
        "pipeline": "own",
        "file": "pipeline.yml",
        "folder": str(folder),
        "status": "completed",
        "inputs": {},
        "outputs": outputs,
    }
    (folder / "run.json").write_text(json.dumps(record))


def test_register_a_run_by_output_names(mlops, project):
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "gate"
    scores = project / "scores"
    scores.mkdir()
    (scores / "metrics.json").write_text('{"rmse": 1.5}')
    run = "20260101-000000-aaaaaa"
    outputs = {"trained": str(fixtures / "model"), "scores": str(scores)}
    write_run(project / ".mlops", run, outputs)
    missing = mlops("model", "register", "--name", "own", "--run", "latest")
    assert missing.code == 2
    assert missing.err == (
        f"error: --run {run}: the pipeline has no `model` output to register (its "
        "outputs: scores, trained): name the output holding the MLflow model with "
        "--model-output\n"
    )
    done = mlops(
        "model",
        "register",
        "--name",
        "own",
        "--run",
        "latest",
        "--model-output",
        "trained",
        "--metrics-output",
        "scores",
        "--json",
    )
    assert done.code == 0, done
    record = json.loads((project / "model.json").read_text())
    assert record["metrics"] == {"rmse": 1.5}


def action_env(action: str, values: dict[str, str]) -> dict[str, str]:
    """The environment ``actions/ACTION`` gives the CLI for these inputs."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    spec = yaml.safe_load((root / "actions" / action / "action.yml").read_text())
    env = next(step["env"] for step in spec["runs"]["steps"] if "env" in step)
    inputs = {
        name: ref.removeprefix("${{ inputs.").removesuffix(" }}")
        for name, ref in env.items()
        if isinstance(ref, str) and ref.startswith("${{ inputs.")
    }
    return {name: values[key] for name, key in inputs.items() if key in values}


def test_actions_pass_output_names_to_register_and_gate(mlops, project, monkeypatch):
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "gate"
    scores = project / "scores"
    scores.mkdir()
    (scores / "metrics.json").write_text('{"rmse": 1.5}')
    outputs = {"trained": str(fixtures / "model"), "scores": str(scores)}
    write_run(project / ".mlops", "20260101-000000-aaaaaa", outputs)
    (project / "gate.yml").write_text(RULES)
    gate = action_env("gate", {"metrics-output": "scores"})
    register = action_env(
        "register", {"model-output": "trained", "metrics-output": "scores"}
    )
    assert sorted(gate) == ["MLOPS_GATE_METRICS_OUTPUT"]
    assert len(register) == 2
    for name, value in {**gate, **register}.items():
        monkeypatch.setenv(name, value)
    judged = mlops("gate", "--run", "latest")
    assert judged.code == 0, judged
    assert judged.out.startswith("**Gate: first**")
    done = mlops("model", "register", "--name", "own", "--run", "latest")
    assert done.code == 0, done
    record = json.loads((project / "model.json").read_text())
    assert record["metrics"] == {"rmse": 1.5}
