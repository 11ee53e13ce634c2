"""Each task's loop through the reference pipeline, as a user runs it:
`mlops pipeline run` (light settings) -> `mlops gate --rules
examples/gates/<task>.yml` -> `mlops model register --gate` -> `mlops deploy
local` with the recorded smoke test -> `mlops deploy stop`. One loop per task,
all in one project folder (one registry, one model name per task)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.cli import free_port, mlops

from mlops_actions.process.identity import ProcessId

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "pipelines" / "pipeline.yml"
GATES = ROOT / "examples" / "gates"
LIGHT = ("epochs=8", "learning_rate=0.01", "hidden_sizes=16")
TASKS = {
    "binary": ("penguins-sex", ()),
    "multiclass": ("penguins-species", ("target=species",)),
    "regression": ("penguins-body-mass", ("task=regression", "target=body_mass_g")),
}

SHAPES = {
    "binary": ["label", "probability"],
    "multiclass": [
        "label",
        "probability_Adelie",
        "probability_Chinstrap",
        "probability_Gentoo",
    ],
    "regression": ["prediction"],
}

pytestmark = pytest.mark.e2e


def shape(answer):
    """An answer's keys (a record), or its type."""
    return sorted(answer) if isinstance(answer, dict) else type(answer).__name__


def loop(work: Path, task: str) -> dict:
    """One task's whole loop; the scorer is stopped before the next task."""
    name, settings = TASKS[task]
    sets = [arg for value in LIGHT + settings for arg in ("--set", value)]
    done: dict = {"name": name}
    done["pipeline"] = run = mlops(
        work, "pipeline", "run", str(PIPELINE), "--env", "host", *sets
    )
    if run.returncode:
        return done
    done["run_id"] = re.search(r"^run (\S+) completed", run.stdout, re.M)[1]
    done["gate_json"] = gate = work / f"gate-{task}.json"
    done["gate"] = mlops(
        work, "gate", "--rules", str(GATES / f"{task}.yml"), "--run", done["run_id"],
        "--out", str(gate), "--no-comment",
    )  # fmt: skip
    done["register"] = mlops(
        work, "model", "register", "--name", name, "--run", done["run_id"],
        "--gate", str(gate),
    )  # fmt: skip
    done["port"] = port = free_port()
    done["deploy"] = mlops(work, "deploy", "local", "--name", name, "--port", str(port))
    if done["deploy"].returncode == 0:
        record = json.loads((work / ".mlops/deploy/deploy.json").read_text())
        done["record"] = record
        done["scorer"] = ProcessId(record["pid"], record["process_started"])
        run_json = work / ".mlops" / "runs" / done["run_id"] / "run.json"
        outputs = json.loads(run_json.read_text())["outputs"]
        smoke = Path(outputs["metrics"]) / "smoke.json"
        done["smoke"] = json.loads(smoke.read_text())
        reply = urllib.request.urlopen(
            urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations",
                data=json.dumps(done["smoke"]["request"]).encode(),
                headers={"Content-Type": "application/json"},
            ),
            timeout=10,
        )
        done["answers"] = json.loads(reply.read())["predictions"]
    done["stop"] = mlops(work, "deploy", "stop")
    return done


@pytest.fixture(scope="module")
def loops(tmp_path_factory) -> dict[str, dict]:
    work = tmp_path_factory.mktemp("tasks-loop")
    try:
        return {task: loop(work, task) for task in TASKS}
    finally:
        mlops(work, "deploy", "stop")


@pytest.mark.parametrize("task", TASKS)
def test_pipeline_then_gate_first(loops, task):
    done = loops[task]
    assert done["pipeline"].returncode == 0, done["pipeline"].stderr
    gate = done["gate"]
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert gate.stdout.startswith("**Gate: first**")
    record = json.loads((done["gate_json"]).read_text())
    assert (record["decision"], record["model"]) == ("first", TASKS[task][0])


@pytest.mark.parametrize("task", TASKS)
def test_register_makes_version_1_the_champion(loops, task):
    done, name = loops[task], TASKS[task][0]
    register = done["register"]
    assert register.returncode == 0, register.stderr
    assert register.stdout.splitlines()[0] == (
        f"registered {name} version 1 (models:/{name}/1)"
    )


@pytest.mark.parametrize("task", TASKS)
def test_deploy_answers_as_recorded_then_stops(loops, task):
    done, name = loops[task], TASKS[task][0]
    deploy = done["deploy"]
    assert deploy.returncode == 0, deploy.stderr
    assert "smoke test passed: 8 rows answered as recorded" in deploy.stdout
    assert (done["record"]["model"], done["record"]["smoke"]["ok"]) == (
        f"models:/{name}/1",
        True,
    )
    expected = done["smoke"]["expected"]["predictions"]
    assert [shape(a) for a in done["answers"]] == [shape(a) for a in expected]
    assert shape(done["answers"][0]) == SHAPES[task]
    stop = done["stop"]
    assert stop.returncode == 0, stop.stderr
    assert (
        stop.stdout
        == f"stopped http://127.0.0.1:{done['port']} (pid {done['scorer'].pid})\n"
    )
    assert not done["scorer"].alive()
