"""Pipeline components run locally: nested to any depth, their steps named by
their path (``outer/inner/prep``), values passed down, outputs passed up, the
paths of a nested file read from that file's folder, steps reused."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_actions.pipeline.flatten import flatten
from mlops_actions.pipeline.spec import load_pipeline
from mlops_actions.pipeline.validate import local_refusals

#: Writes ``said.txt``: its word, then the text files of ``--data``, then the
#: ``said.txt`` of ``--up``: what reached the step, and from where.
SAY = """
import sys
from pathlib import Path
out, word, *rest = sys.argv[1:]
args = dict(zip(rest[::2], rest[1::2]))
said = [word]
if "--data" in args:
    said += [p.read_text().strip() for p in sorted(Path(args["--data"]).glob("*.txt"))]
if "--up" in args:
    said.append(Path(args["--up"], "said.txt").read_text())
Path(out, "said.txt").write_text(" ".join(said))
"""
COMPONENT = {
    "type": "command",
    "name": "say",
    "inputs": {
        "word": {"type": "string", "default": "-"},
        "data": {"type": "uri_folder", "optional": True},
        "up": {"type": "uri_folder", "optional": True},
    },
    "outputs": {"out": {"type": "uri_folder"}},
    "code": ".",
    "command": "python say.py ${{outputs.out}} ${{inputs.word}} "
    "$[[--data ${{inputs.data}}]] $[[--up ${{inputs.up}}]]",
}
#: nested/inner/inner.yml: prep reads ./extra, a folder beside that file
INNER = {
    "type": "pipeline",
    "name": "inner",
    "inputs": {"word": {"type": "string"}},
    "outputs": {"result": {"type": "uri_folder"}},
    "jobs": {
        "prep": {
            "type": "command",
            "component": "../../say/component.yml",
            "inputs": {
                "word": "${{parent.inputs.word}}",
                "data": {"type": "uri_folder", "path": "./extra"},
            },
        },
        "train": {
            "type": "command",
            "component": "../../say/component.yml",
            "inputs": {"word": "trained", "up": "${{parent.jobs.prep.outputs.out}}"},
            "outputs": {"out": "${{parent.outputs.result}}"},
        },
    },
}
#: nested/outer.yml
OUTER = {
    "type": "pipeline",
    "name": "outer",
    "inputs": {"word": {"type": "string", "default": "unset"}},
    "outputs": {"result": {"type": "uri_folder"}},
    "jobs": {
        "inner": {
            "type": "pipeline",
            "component": "./inner/inner.yml",
            "inputs": {"word": "${{parent.inputs.word}}"},
            "outputs": {"result": "${{parent.outputs.result}}"},
        }
    },
}
TOP = {
    "type": "pipeline",
    "display_name": "nested",
    "inputs": {"word": "hello"},
    "outputs": {"final": {"type": "uri_folder"}},
    "jobs": {
        "outer": {
            "type": "pipeline",
            "component": "./nested/outer.yml",
            "inputs": {"word": "${{parent.inputs.word}}"},
            "outputs": {"result": "${{parent.outputs.final}}"},
        },
        "report": {
            "type": "command",
            "component": "./say/component.yml",
            "inputs": {"word": "report", "up": "${{parent.jobs.outer.outputs.result}}"},
        },
    },
}
ORDER = ["outer/inner/prep", "outer/inner/train", "report"]


def dump(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A pipeline two deep, run from its folder with the state in it."""
    (tmp_path / "say").mkdir()
    (tmp_path / "say" / "say.py").write_text(textwrap.dedent(SAY))
    dump(tmp_path / "say" / "component.yml", COMPONENT)
    dump(tmp_path / "nested" / "inner" / "inner.yml", INNER)
    (tmp_path / "nested" / "inner" / "extra").mkdir()
    (tmp_path / "nested" / "inner" / "extra" / "a.txt").write_text("extra\n")
    dump(tmp_path / "nested" / "outer.yml", OUTER)
    dump(tmp_path / "pipeline.yml", TOP)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def runs() -> list[dict[str, Any]]:
    found = [json.loads(p.read_text()) for p in Path(".mlops/runs").glob("*/run.json")]
    return sorted(found, key=lambda r: r["run_id"])


def said(record: dict[str, Any], step: str) -> str:
    (found,) = [s for s in record["steps"] if s["name"] == step]
    return Path(found["outputs"]["out"], "said.txt").read_text()


def test_steps_of_nested_pipelines_run_in_order_named_by_path(mlops, project):
    result = mlops("pipeline", "run", "pipeline.yml", "--jobs", "1")

    assert result.code == 0, result.err
    (record,) = runs()
    assert [s["name"] for s in record["steps"]] == ORDER
    assert [s["status"] for s in record["steps"]] == ["completed"] * 3
    assert "[1/3] outer/inner/prep: started" in result.err.splitlines()
    folder = Path(record["folder"])
    assert (folder / "outer" / "inner" / "prep" / "step.json").is_file()
    assert (folder / "outer" / "inner" / "train" / "logs" / "std_log.txt").is_file()


def test_a_top_value_reaches_the_innermost_step_and_outputs_come_back_up(
    mlops, project
):
    result = mlops("pipeline", "run", "pipeline.yml")

    assert result.code == 0, result.err
    (record,) = runs()
    # prep read ./extra beside nested/inner/inner.yml, not beside pipeline.yml
    assert said(record, "outer/inner/prep") == "hello extra"
    assert said(record, "outer/inner/train") == "trained hello extra"
    assert said(record, "report") == "report trained hello extra"
    train = Path(record["folder"], "outer", "inner", "train", "outputs", "out")
    assert record["outputs"] == {"final": str(train.resolve())}


def test_set_of_a_pipeline_input_reaches_the_innermost_step(mlops, project):
    result = mlops("pipeline", "run", "pipeline.yml", "--set", "word=bonjour")

    assert result.code == 0, result.err
    assert said(runs()[0], "outer/inner/prep") == "bonjour extra"


def test_set_of_a_pipeline_job_input(mlops, project):
    result = mlops(
        "pipeline", "run", "pipeline.yml", "--set", "jobs.outer.inputs.word=salut"
    )

    assert result.code == 0, result.err
    (record,) = runs()
    assert said(record, "report") == "report trained salut extra"
    assert record["inputs"]["jobs.outer.inputs.word"] == "salut"


def test_set_of_an_input_of_a_job_inside_a_nested_pipeline(mlops, project):
    result = mlops(
        "pipeline",
        "run",
        "pipeline.yml",
        "--set",
        "jobs.outer/inner/train.inputs.word=tuned",
    )

    assert result.code == 0, result.err
    assert said(runs()[0], "report") == "report tuned hello extra"


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "jobs.outer.inputs.wurd",
            "job outer has no input 'wurd' (known: word)",
        ),
        (
            "jobs.outer/innr.inputs.word",
            "job outer has no job 'outer/innr' (known: outer/inner)",
        ),
    ],
)
def test_set_of_an_unknown_nested_name_is_refused(mlops, project, name, message):
    result = mlops("pipeline", "run", "pipeline.yml", "--set", f"{name}=x")

    assert result.code == 2
    assert result.err.splitlines()[-1] == f"error: --set {name}: {message}"
    assert not Path(".mlops/runs").exists() or not runs()


def test_the_second_run_reuses_the_nested_steps(mlops, project):
    assert mlops("pipeline", "run", "pipeline.yml").code == 0
    result = mlops("pipeline", "run", "pipeline.yml")

    assert result.code == 0, result.err
    first, second = runs()
    assert [s["status"] for s in second["steps"]] == ["reused"] * 3
    assert {s["reused_from"] for s in second["steps"]} == {first["run_id"]}
    assert "[1/3] outer/inner/prep: reused from run" in result.err


def test_an_inline_pipeline_job_runs(mlops, project):
    inline = {
        "type": "pipeline",
        "inputs": {"word": "hi"},
        "jobs": {
            "group": {
                "type": "pipeline",
                "inputs": {"word": "${{parent.inputs.word}}"},
                "jobs": {
                    "first": {
                        "type": "command",
                        "component": "./say/component.yml",
                        "inputs": {"word": "${{parent.inputs.word}}"},
                    },
                    "second": {
                        "type": "command",
                        "component": "./say/component.yml",
                        "inputs": {
                            "word": "then",
                            "up": "${{parent.jobs.first.outputs.out}}",
                        },
                    },
                },
            }
        },
    }
    dump(project / "inline.yml", inline)

    result = mlops("pipeline", "run", "inline.yml")

    assert result.code == 0, result.err
    (record,) = runs()
    assert [s["name"] for s in record["steps"]] == ["group/first", "group/second"]
    assert said(record, "group/second") == "then hi"


def test_a_spark_node_inside_a_nested_pipeline_is_refused_by_its_place(mlops, project):
    inner = yaml.safe_load((project / "nested" / "inner" / "inner.yml").read_text())
    inner["jobs"]["wrangle"] = {
        "type": "spark",
        "code": "../../say",
        "entry": {"file": "say.py"},
        "args": "x",
    }
    dump(project / "nested" / "inner" / "inner.yml", inner)

    result = mlops("pipeline", "run", "pipeline.yml")

    assert result.code == 2
    line = "error: nested/inner/inner.yml:26: jobs.outer.jobs.inner.jobs.wrangle: "
    assert f"{line}runs on Azure only: spark" in result.err.splitlines()
    assert "started" not in result.err


def test_refusals_inside_nested_pipelines_name_their_place(project):
    outer = yaml.safe_load((project / "nested" / "outer.yml").read_text())
    outer["jobs"]["wrangle"] = {"type": "spark", "code": ".", "entry": {"file": "x"}}
    outer["inputs"]["asset"] = {"type": "uri_folder", "path": "azureml:raw@latest"}
    dump(project / "nested" / "outer.yml", outer)

    pipeline = load_pipeline(Path("pipeline.yml"))

    assert [str(p) for p in local_refusals(pipeline)] == [
        "nested/outer.yml:7: jobs.outer.inputs.asset: azureml:raw@latest is a "
        "workspace data asset: pass a local path with --set "
        "jobs.outer.inputs.asset=PATH, or run with --backend azure",
        "nested/outer.yml:21: jobs.outer.jobs.wrangle: runs on Azure only: spark",
    ]
    overrides = {"jobs.outer.inputs.asset": "data"}
    assert len(local_refusals(pipeline, overrides)) == 1


# flatten: the bindings of the steps it hands the runner


def steps(path: Path) -> dict[str, Any]:
    return flatten(load_pipeline(path)).jobs


def test_flatten_rewrites_bindings_into_the_top_namespace(project):
    jobs = steps(project / "pipeline.yml")

    assert list(jobs) == ORDER
    assert jobs["outer/inner/prep"].inputs == {
        "word": "${{parent.inputs.word}}",
        "data": {
            "type": "uri_folder",
            "path": str(project / "nested" / "inner" / "extra"),
        },
    }
    assert jobs["outer/inner/train"].inputs["up"] == (
        "${{parent.jobs.outer/inner/prep.outputs.out}}"
    )
    assert jobs["outer/inner/train"].outputs == {"out": "${{parent.outputs.final}}"}
    assert jobs["report"].inputs["up"] == (
        "${{parent.jobs.outer/inner/train.outputs.out}}"
    )


def test_flatten_takes_the_pipeline_job_s_value_then_the_default(project):
    outer = yaml.safe_load((project / "nested" / "outer.yml").read_text())
    outer["inputs"]["data"] = {"type": "uri_folder", "path": "./inner/extra"}
    outer["inputs"]["unset"] = {"type": "string", "optional": True}
    outer["jobs"]["inner"]["inputs"] = {"word": "literal"}
    outer["jobs"]["direct"] = {
        "type": "command",
        "component": "../say/component.yml",
        "inputs": {
            "word": "${{parent.inputs.unset}}",
            "data": "${{parent.inputs.data}}",
        },
    }
    dump(project / "nested" / "outer.yml", outer)
    top = yaml.safe_load((project / "pipeline.yml").read_text())
    top["jobs"]["outer"]["inputs"] = {}
    dump(project / "pipeline.yml", top)

    jobs = steps(project / "pipeline.yml")

    assert jobs["outer/inner/prep"].inputs["word"] == "literal"
    # unset: the input is left out, the component's default applies
    assert jobs["outer/direct"].inputs == {
        "data": str(project / "nested" / "inner" / "extra")
    }


def test_flatten_keeps_a_pipeline_without_pipeline_jobs(tmp_path):
    dump(tmp_path / "say" / "component.yml", COMPONENT)
    (tmp_path / "say" / "say.py").write_text(SAY)
    plain = {
        "type": "pipeline",
        "jobs": {"one": {"type": "command", "component": "./say/component.yml"}},
    }
    pipeline = load_pipeline(dump(tmp_path / "plain.yml", plain))
    assert flatten(pipeline) is pipeline


def test_flatten_compute_falls_back_to_the_nested_default_then_the_job_s(project):
    outer = yaml.safe_load((project / "nested" / "outer.yml").read_text())
    outer["settings"] = {"default_compute": "azureml:outer-cluster"}
    outer["jobs"]["inner"]["compute"] = "azureml:inner-job"
    outer["jobs"]["direct"] = {"type": "command", "component": "../say/component.yml"}
    dump(project / "nested" / "outer.yml", outer)
    inner = yaml.safe_load((project / "nested" / "inner" / "inner.yml").read_text())
    inner["jobs"]["train"]["compute"] = "azureml:gpu"
    dump(project / "nested" / "inner" / "inner.yml", inner)

    jobs = steps(project / "pipeline.yml")

    assert jobs["outer/inner/prep"].compute == "azureml:inner-job"
    assert jobs["outer/inner/train"].compute == "azureml:gpu"
    assert jobs["outer/direct"].compute == "azureml:outer-cluster"
