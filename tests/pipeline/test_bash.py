"""Steps run as Azure ML runs them: under bash, in a snapshot of their code,
with their environment variables, MLflow kept out of the user's tree."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from graphs import write_pipeline

from mlops_actions import digest

ARGS = """
import json, sys
from pathlib import Path
Path(sys.argv[1], "args.json").write_text(json.dumps(sys.argv[2:]))
"""


def only_run(kind: str = "*") -> Path:
    (folder,) = Path(".mlops/runs").glob(kind)
    return folder


def injection_corpus(marker: Path) -> list[str]:
    """The hostile values of the action tests (tests/e2e/test_injection.py)."""
    return [
        f'a"; touch {marker}; echo "',
        f'x";touch${{IFS}}{marker};echo"',
        f"$(touch {marker})",
        f"`touch {marker}`",
        "black\n::set-output name=injected::yes",
        "--help",
        f"'; touch {marker}; '",
    ]


def test_dollar_vars_and_pipes_work_as_under_bash(mlops, tmp_path, monkeypatch):
    command = (
        'echo "$GREETING from $MLOPS_STEP" > ${{outputs.out}}/said.txt && '
        "echo abc | tr a-c x-z >> ${{outputs.out}}/said.txt; "
        "python -c 'import sys; print(sys.executable)' > ${{outputs.out}}/py.txt"
    )
    pipeline = write_pipeline(
        tmp_path,
        command,
        {"greet": {"environment_variables": {"GREETING": "hi there"}}},
    )
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 0, result
    out = only_run() / "greet" / "outputs" / "out"
    assert (out / "said.txt").read_text() == "hi there from greet\nxyz\n"
    assert (out / "py.txt").read_text() == f"{sys.executable}\n"


def test_injection_corpus_as_inputs_runs_nothing(mlops, tmp_path, monkeypatch):
    marker = Path("/tmp") / f"mlops-pwned-{uuid.uuid4().hex}"
    corpus = injection_corpus(marker)
    names = [f"v{i}" for i in range(len(corpus))]
    refs = " ".join(
        f"${{{{inputs.{n}}}}} '${{{{inputs.{n}}}}}' \"x${{{{inputs.{n}}}}}\""
        for n in names
    )
    pipeline = write_pipeline(
        tmp_path,
        f"python step.py ${{{{outputs.out}}}} {refs}",
        {"echo": {"inputs": {n: "${{parent.inputs.%s}}" % n for n in names}}},
        script=ARGS,
        inputs={n: "plain" for n in names},
        component_inputs={n: {"type": "string"} for n in names},
    )
    monkeypatch.chdir(tmp_path)
    sets = [arg for n, v in zip(names, corpus) for arg in ("--set", f"{n}={v}")]
    result = mlops("pipeline", "run", str(pipeline), *sets)
    assert result.code == 0, result
    assert not marker.exists()
    args = json.loads((only_run() / "echo/outputs/out/args.json").read_text())
    assert args == [part for v in corpus for part in (v, v, f"x{v}")]


def test_the_code_folder_is_untouched_and_a_rerun_reuses_every_step(
    mlops, tmp_path, monkeypatch
):
    script = """
    import sys
    from pathlib import Path
    import mlflow
    mlflow.autolog()
    Path("scratch.txt").write_text("scratch")
    Path("mlruns").mkdir()
    Path("mlruns/litter.txt").write_text("litter")
    with mlflow.start_run():
        mlflow.log_param("p", 1)
        mlflow.log_artifact("scratch.txt")
    Path(sys.argv[1], "done.txt").write_text("done")
    """
    pipeline = write_pipeline(
        tmp_path,
        "python step.py ${{outputs.out}}",
        {"track": {}},
        script=script,
    )
    code = tmp_path / "step"
    before = digest.tree_digest(code)
    names = sorted(p.name for p in code.iterdir())
    monkeypatch.chdir(tmp_path)
    first = mlops("pipeline", "run", str(pipeline))
    assert first.code == 0, first
    assert digest.tree_digest(code) == before
    assert sorted(p.name for p in code.iterdir()) == names
    assert not Path("mlruns").exists()
    artifacts = list(Path(".mlops/artifacts").rglob("scratch.txt"))
    assert len(artifacts) == 1, "log_artifact lands under .mlops/artifacts"
    second = mlops("pipeline", "run", str(pipeline))
    assert second.code == 0, second
    assert "1 step, 1 reused" in second.out


def test_set_reaches_a_job_level_input(mlops, toy):
    result = mlops("pipeline", "run", str(toy), "--set", "jobs.produce.inputs.count=1")
    assert result.code == 0, result
    (lines,) = Path(".mlops/runs").glob("*/produce/outputs/lines/lines.txt")
    assert lines.read_text() == "hello 0\n"
    record = json.loads(next(Path(".mlops/runs").glob("*/run.json")).read_text())
    assert record["inputs"]["jobs.produce.inputs.count"] == 1


@pytest.mark.parametrize(
    "pair, message",
    [
        (
            "jobs.nope.inputs.count=1",
            "error: --set jobs.nope.inputs.count: {toy} has no job 'nope' "
            "(known: produce, consume)\n",
        ),
        (
            "jobs.produce.inputs.nope=1",
            "error: --set jobs.produce.inputs.nope: job produce has no input "
            "'nope' (known: count, word, suffix)\n",
        ),
        (
            "jobs.produce.inputs.count=many",
            "error: --set jobs.produce.inputs.count=many: expected an integer\n",
        ),
        (
            "jobs.produce.count=1",
            "error: --set jobs.produce.count: expected "
            "jobs.NODE.inputs.NAME=VALUE\n",
        ),
    ],
)
def test_a_bad_job_level_set_is_refused_before_anything_runs(mlops, toy, pair, message):
    result = mlops("pipeline", "run", str(toy), "--set", pair)
    assert result.code == 2
    assert result.err == message.format(toy=toy)
    assert not Path(".mlops/runs").exists()


def test_an_azureml_data_input_says_to_set_a_local_path(mlops, toy):
    result = mlops(
        "pipeline", "run", str(toy), "--set", "jobs.consume.inputs.lines=azureml:d:1"
    )
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "error: jobs.consume.inputs.lines: azureml:d:1 is a workspace data asset: "
        "pass a local path with --set jobs.consume.inputs.lines=PATH, or run with "
        "--backend azure"
    )


def test_distribution_resources_and_inline_environment_are_not_used_locally(
    mlops, tmp_path, monkeypatch
):
    job = {
        "compute": "azureml:gpu",
        "distribution": {"type": "pytorch", "process_count_per_instance": 2},
        "resources": {"instance_count": 2},
    }
    pipeline = write_pipeline(
        tmp_path,
        "echo ok",
        {"train": job},
        component_extra={
            "environment": {"image": "mcr.microsoft.com/azureml/base:latest"}
        },
    )
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 0, result
    record = json.loads((only_run() / "run.json").read_text())
    assert record["not_used_locally"] == [
        "compute azureml:gpu",
        "environment inline (mcr.microsoft.com/azureml/base:latest)",
        "distribution pytorch",
        "resources instance_count=2",
    ]
    assert "not used locally: compute azureml:gpu, distribution pytorch" in (result.err)


def test_a_run_started_inside_the_code_folder_does_not_snapshot_its_state(
    mlops, tmp_path, monkeypatch
):
    """Found by probing: the snapshot copied .mlops, the run folder in it, into
    itself and the run ended with an internal error."""
    pipeline = write_pipeline(
        tmp_path, "ls -a > ${{outputs.out}}/seen.txt", {"look": {}}
    )
    monkeypatch.chdir(tmp_path / "step")
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 0, result
    seen = (only_run() / "look/outputs/out/seen.txt").read_text().split()
    assert seen == [".", "..", "component.yml", "step.py"]


def test_an_azureml_pipeline_input_names_the_pipeline_input_to_set(
    mlops, tmp_path, monkeypatch
):
    pipeline = write_pipeline(
        tmp_path,
        "ls ${{inputs.data}}",
        {"read": {"inputs": {"data": "${{parent.inputs.raw}}"}}},
        inputs={"raw": {"type": "uri_folder", "path": "azureml:raw-data:3"}},
        component_inputs={"data": {"type": "uri_folder"}},
    )
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 2
    # Refused before any step, where the pipeline declares it (file:line).
    assert result.err.splitlines()[-1] == (
        f"error: {pipeline}:5: inputs.raw: azureml:raw-data:3 is a workspace data "
        "asset: pass a local path with --set raw=PATH, or run with --backend azure"
    )


def test_changed_environment_variables_run_the_step_again(mlops, tmp_path, monkeypatch):
    command = 'echo "$GREETING" > ${{outputs.out}}/said.txt'
    pipeline = write_pipeline(
        tmp_path, command, {"greet": {"environment_variables": {"GREETING": "a"}}}
    )
    monkeypatch.chdir(tmp_path)
    assert mlops("pipeline", "run", str(pipeline)).code == 0
    assert "1 step, 1 reused" in mlops("pipeline", "run", str(pipeline)).out
    pipeline.write_text(pipeline.read_text().replace("GREETING: a", "GREETING: b"))
    again = mlops("pipeline", "run", str(pipeline))
    assert "1 step, 0 reused" in again.out
    said = [p.read_text() for p in Path(".mlops/runs").glob("*/greet/outputs/*/*")]
    assert sorted(said) == ["a\n", "b\n"]
