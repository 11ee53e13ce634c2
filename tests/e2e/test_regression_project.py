"""A regression project of its own, written from the README alone
(tests/fixtures/projects/regression: scikit-learn Ridge on the diabetes data,
outputs `regressor` and `scores`, metrics rmse, mae, r2 and within_25),
through `mlops release` as processes: first, reject, promote, rollback,
history; no scorer is left running at the end."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.cli import free_port, mlops

from mlops_actions.process.identity import ProcessId

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "projects" / "regression"
NAME = "diabetes-ridge"

pytestmark = pytest.mark.e2e


def alive(scorer: ProcessId) -> bool:
    """True while that very process runs (an exited scorer its parent has not
    reaped yet, a zombie, is not running)."""
    return scorer.alive()


def answers(port: int, body: bytes) -> list:
    reply = urllib.request.urlopen(
        urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        ),
        timeout=10,
    )
    return json.loads(reply.read())["predictions"]


class Loop:
    """The project's folder and what the releases left: scorer pids, ports."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.pids: list[ProcessId] = []
        self.ports: list[int] = []

    def deployed(self) -> dict:
        record = json.loads((self.work / ".mlops/deploy/deploy.json").read_text())
        self.pids.append(ProcessId(record["pid"], record["process_started"]))
        return record

    def release(self, *sets: str) -> tuple[subprocess.CompletedProcess, int]:
        port = free_port()
        self.ports.append(port)
        args = [arg for value in sets for arg in ("--set", value)]
        return mlops(self.work, "release", *args, "--port", str(port)), port


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    work = tmp_path_factory.mktemp("regression") / "project"
    shutil.copytree(FIXTURE, work, ignore=shutil.ignore_patterns("__pycache__"))
    state = Loop(work)
    yield state
    mlops(work, "deploy", "stop")


@pytest.fixture(scope="module")
def first(loop):
    result, port = loop.release()
    record = loop.deployed() if result.returncode == 0 else {}
    return result, port, record


@pytest.fixture(scope="module")
def worse(loop, first):
    return loop.release("alpha=1000")


@pytest.fixture(scope="module")
def better(loop, worse):
    result, port = loop.release("alpha=0.1")
    record = loop.deployed() if result.returncode == 0 else {}
    return result, port, record


def test_first_release_serves_the_champion_with_recorded_answers(first, loop):
    result, port, record = first
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("**Gate: first**")
    for metric in ("rmse | ceiling", "mae | ceiling", "r2 | floor", "within_25"):
        assert re.search(rf"^\| {re.escape(metric)}.* \| pass \|$", result.stdout, re.M)
    assert re.fullmatch(
        rf"released models:/{NAME}/1 \(run \S+, gate first\) at "
        rf"http://127\.0\.0\.1:{port}",
        lines[-4],
    )
    assert lines[-3] == "smoke test passed: 5 rows answered as recorded"
    assert "[1/3] prepare: started" in result.stderr
    assert (record["model"], record["model_version"]) == (f"models:/{NAME}/1", "1")
    assert record["smoke"]["shape_only"] is False
    # The request the release names is the recorded one: the scorer answers it
    # with the numbers the score step recorded.
    request = loop.work / lines[-2].split("-d @")[1]
    [smoke] = loop.work.glob(".mlops/runs/*/score/outputs/scores/smoke.json")
    expected = json.loads(smoke.read_text())["expected"]["predictions"]
    got = answers(port, request.read_bytes())
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert all(isinstance(x, float) for x in got)


def test_first_release_used_the_projects_own_output_names(first, loop):
    [run] = loop.work.glob(".mlops/runs/*/run.json")
    outputs = json.loads(run.read_text())["outputs"]
    assert sorted(outputs) == ["regressor", "scores"]
    assert (Path(outputs["regressor"]) / "MLmodel").is_file()
    metrics = json.loads((Path(outputs["scores"]) / "metrics.json").read_text())
    assert sorted(metrics["metrics"]) == ["mae", "r2", "rmse", "within_25"]
    assert metrics["task"] == "regression"
    assert metrics["rows"] == 89


def test_worse_candidate_is_rejected_and_not_promoted(worse, first, loop):
    result, _ = worse
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("**Gate: reject**")
    for rule in ("max_regression", "bootstrap"):
        assert re.search(
            rf"^\| rmse \| {rule} \|.*\| \*\*fail\*\* \|$", result.stdout, re.M
        )
    assert result.stdout.splitlines()[-1] == "task: regression (declared in gate.yml)"
    assert re.fullmatch(
        r"error: release stopped at the gate: reject \(mode enforce\); details in "
        r"\.mlops/releases/\S+/gate\.json",
        result.stderr.splitlines()[-1],
    )
    champion = mlops(loop.work, "model", "champion", NAME)
    assert champion.stdout.splitlines()[0] == (
        f"champion of {NAME}: version 1 (models:/{NAME}/1)"
    )
    # Nothing was deployed: the champion's scorer still answers.
    _, port, _ = first
    assert (
        urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5).status == 200
    )


def test_rejected_run_registered_with_its_gate_stays_unpromoted(worse, loop):
    gate = loop.work / worse[0].stderr.splitlines()[-1].split("details in ")[1]
    assert json.loads(gate.read_text())["decision"] == "reject"
    result = mlops(
        loop.work, "model", "register", "--name", NAME, "--run", "latest",
        "--model-output", "regressor", "--metrics-output", "scores",
        "--gate", str(gate),
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (
        0,
        f"registered {NAME} version 2 (models:/{NAME}/2)\n"
        "not promoted: the gate decided reject\n",
    ), result.stderr


def test_better_candidate_is_promoted_and_served(better, loop):
    result, port, record = better
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("**Gate: promote**")
    assert re.search(r"^\| rmse \| bootstrap \|.*\| pass \|$", result.stdout, re.M)
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        rf"released models:/{NAME}/3 \(run \S+, gate promote\) at "
        rf"http://127\.0\.0\.1:{port}",
        lines[-4],
    )
    assert lines[-3] == "smoke test passed: 5 rows answered as recorded"
    assert record["model_version"] == "3"
    # The scorer of version 1 made way for the new one.
    assert not alive(loop.pids[0])


def test_rollback_brings_back_the_previous_champion(better, loop):
    result = mlops(loop.work, "model", "rollback", NAME)
    assert (result.returncode, result.stdout) == (
        0,
        f"rolled back {NAME}: champion is version 1 again (was 3)\n",
    ), result.stderr
    port = free_port()
    deployed = mlops(loop.work, "deploy", "local", "--name", NAME, "--port", str(port))
    assert deployed.returncode == 0, deployed.stderr
    assert "smoke test passed: 5 rows answered as recorded" in deployed.stdout
    assert loop.deployed()["model_version"] == "1"


def test_history_shows_each_gate_decision(better, loop):
    result = mlops(loop.work, "model", "history", NAME, "--json")
    assert result.returncode == 0, result.stderr
    trail = [
        (e["action"], e["version"], e["audit"]["gate_decision"])
        for e in json.loads(result.stdout)
    ]
    assert trail == [
        ("register", "1", None),
        ("promote", "1", "first"),
        ("register", "2", "reject"),
        ("register", "3", None),
        ("promote", "3", "promote"),
        ("rollback", "1", None),
    ]
    table = mlops(loop.work, "model", "history", NAME).stdout.splitlines()
    assert [line.split()[1:3] + line.split()[-1:] for line in table[1:]] == [
        ["register", "1", "-"],
        ["promote", "1", "first"],
        ["register", "2", "reject"],
        ["register", "3", "-"],
        ["promote", "3", "promote"],
        ["rollback", "1", "-"],
    ]


def test_stop_leaves_no_scorer_running(better, loop):
    assert len(loop.pids) == 3
    result = mlops(loop.work, "deploy", "stop")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        rf"stopped http://127\.0\.0\.1:\d+ \(pid {loop.pids[-1].pid}\)\n", result.stdout
    )
    assert [pid for pid in loop.pids if alive(pid)] == []
    for port in loop.ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, port
