"""gate.yml ``outputs:``: which pipeline outputs hold the model and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.gate.rules import OutputNames, load_rules, output_names

RULES = """\
version: 1
model: m
primary: rmse
metrics:
  rmse: {direction: minimize, ceiling: 10}
"""


def rules_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "gate.yml"
    path.write_text(RULES + extra)
    return path


def test_outputs_default_to_model_and_metrics(tmp_path):
    assert load_rules(rules_file(tmp_path)).outputs == OutputNames(
        model="model", metrics="metrics"
    )


def test_outputs_are_read_from_gate_yml(tmp_path):
    rules = load_rules(rules_file(tmp_path, "outputs: {model: trained}\n"))
    assert rules.outputs == OutputNames(model="trained", metrics="metrics")


def test_a_flag_wins_over_gate_yml(tmp_path):
    rules = load_rules(rules_file(tmp_path, "outputs: {model: a, metrics: b}\n"))
    assert output_names(rules, metrics="c") == OutputNames(model="a", metrics="c")
    assert output_names(None) == OutputNames()


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            "outputs: {model: 2nd}\n",
            "gate.yml:6: outputs.model: must be a pipeline output name (letters, "
            "digits and _, not starting with a digit), got '2nd'",
        ),
        (
            "outputs: {modle: x}\n",
            "gate.yml:6: outputs.modle: unknown field: remove it (allowed here: "
            "model, metrics)",
        ),
    ],
)
def test_bad_outputs_are_one_line_naming_the_field(
    tmp_path, monkeypatch, extra, message
):
    monkeypatch.chdir(tmp_path)
    rules_file(tmp_path, extra)
    with pytest.raises(UsageError) as caught:
        load_rules(Path("gate.yml"))
    assert caught.value.message == message


def test_a_bad_flag_names_the_flag():
    with pytest.raises(UsageError) as caught:
        output_names(None, model="my-model")
    assert caught.value.message == (
        "--model-output 'my-model': not a pipeline output name: use letters, "
        "digits and _, not starting with a digit"
    )


def write_run(state: Path, run_id: str, outputs: dict[str, str]) -> None:
    folder = state / "runs" / run_id
    folder.mkdir(parents=True)
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


@pytest.fixture
def project(mlops, tmp_path, monkeypatch):
    """A project whose pipeline names its outputs `trained` and `scores`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / ".mlops"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    scores = tmp_path / "scores"
    scores.mkdir()
    (scores / "metrics.json").write_text('{"rmse": 3.0}')
    write_run(
        tmp_path / ".mlops",
        "20260101-000000-aaaaaa",
        {"trained": str(tmp_path / "trained"), "scores": str(scores)},
    )
    return tmp_path


def test_gate_on_a_run_with_other_output_names_does_not_talk_about_registering(
    mlops, project
):
    rules_file(project)
    result = mlops("gate", "--run", "latest")
    assert result.code == 2
    assert result.err == (
        "error: --run 20260101-000000-aaaaaa: the run has no `metrics` output (its "
        "outputs: scores, trained) and no step wrote metrics.json: name the output "
        "holding metrics.json with outputs.metrics in gate.yml or --metrics-output\n"
    )
    assert "regist" not in result.err


@pytest.mark.parametrize(
    "how", [("--metrics-output", "scores"), ()], ids=["flag", "gate.yml"]
)
def test_gate_reads_the_named_metrics_output(mlops, project, how):
    rules_file(project, "" if how else "outputs: {model: trained, metrics: scores}\n")
    result = mlops("gate", "--run", "latest", *how)
    assert result.code == 0, result
    assert result.out.splitlines()[0].startswith("**Gate: first**")
    record = json.loads((project / "gate.json").read_text())
    assert record["candidate"]["metrics"] == {"rmse": 3.0}
    assert record["candidate"]["run_id"] == "20260101-000000-aaaaaa"
