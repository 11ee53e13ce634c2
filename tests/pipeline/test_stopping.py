"""A step's process group ends on every way out of a run (issue 8, fault 3).

Real ``mlops pipeline run`` processes, real signals. The step starts a child
of its own, so each test sees that the whole group ends, not just the step.
Every test is bounded by deadlines, and kills whatever it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from faults import alive, one_step, wait_for

from mlops_actions.errors import UsageError
from mlops_actions.registry.candidate import from_run

SLEEPER = """
import os, signal, subprocess, sys, time
from pathlib import Path

ignore = os.environ.get("FAULT_IGNORE_TERM") == "1"
child = subprocess.Popen([sys.executable, "-c", (
    "import signal, time\\n"
    + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n" if ignore else "")
    + "time.sleep(120)"
)])

def on_term(signum, frame):
    with open(os.environ["FAULT_MARKS"], "a") as marks:
        marks.write("TERM\\n")
    if not ignore:
        sys.exit(143)

signal.signal(signal.SIGTERM, on_term)
Path(os.environ["FAULT_PIDS"]).write_text(f"{os.getpid()} {child.pid}")
if os.environ.get("FAULT_EXIT") == "1":
    sys.exit(0)  # leaves the child behind
time.sleep(120)
"""


@pytest.fixture
def sleeper(tmp_path, monkeypatch):
    """(pipeline, env, pids file, marks file) for a step that sleeps 120 s."""
    pipeline = one_step(tmp_path, SLEEPER)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    pids, marks = tmp_path / "pids.txt", tmp_path / "marks.txt"
    env = {**os.environ, "FAULT_PIDS": str(pids), "FAULT_MARKS": str(marks)}
    env.pop("MLOPS_HOME", None)
    started: list[int] = []
    yield pipeline, env, pids, marks, started
    if pids.exists():
        started += [int(pid) for pid in pids.read_text().split()]
    for pid in started:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def start(pipeline: Path, env: dict[str, str], out: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "mlops_actions", "pipeline", "run", str(pipeline)]
    with out.open("w") as sink:  # a file, not a pipe: no child can hold it open
        return subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)


def step_pids(pids: Path) -> list[int]:
    assert wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    return [int(pid) for pid in pids.read_text().split()]


def test_a_second_ctrl_c_during_the_grace_still_ends_the_step(sleeper, tmp_path):
    pipeline, env, pids, marks, started = sleeper
    env["FAULT_IGNORE_TERM"] = "1"  # only KILL ends it
    cli = start(pipeline, env, tmp_path / "cli.txt")
    started.append(cli.pid)
    group = step_pids(pids)
    cli.send_signal(signal.SIGINT)
    assert wait_for(lambda: marks.exists() and "TERM" in marks.read_text())
    cli.send_signal(signal.SIGINT)  # during the TERM grace
    assert cli.wait(timeout=30) == 3
    assert wait_for(lambda: not any(alive(pid) for pid in group)), group
    said = (tmp_path / "cli.txt").read_text().splitlines()
    assert said[-1] == (
        "error: interrupted (SIGINT) during step step: the step was stopped "
        "and will not be reused"
    )
    record = json.loads(next(Path(".mlops/runs").glob("*/run.json")).read_text())
    assert record["status"] == "cancelled"


def test_a_cli_killed_with_sigkill_leaves_no_step_behind_and_a_stale_record(
    sleeper, tmp_path, mlops
):
    pipeline, env, pids, marks, started = sleeper
    cli = start(pipeline, env, tmp_path / "cli.txt")
    started.append(cli.pid)
    group = step_pids(pids)
    cli.kill()
    cli.wait(timeout=30)
    assert wait_for(lambda: not any(alive(pid) for pid in group)), group
    assert marks.read_text() == "TERM\n"  # asked first, not killed outright
    folder = next(Path(".mlops/runs").glob("*"))
    assert json.loads((folder / "run.json").read_text())["status"] == "running"
    with pytest.raises(UsageError) as caught:
        from_run(Path(".mlops"), folder.name)
    assert caught.value.message == (
        f"--run {folder.name}: the run did not complete (status interrupted: its "
        "CLI ended without finishing the record); register a completed run"
    )
    result = mlops("model", "register", "--name", "m", "--run", folder.name)
    assert result.code == 2
    assert "(status interrupted: its CLI ended" in result.err


def test_what_a_finished_step_left_running_is_ended(sleeper, tmp_path):
    pipeline, env, pids, marks, started = sleeper
    env["FAULT_EXIT"] = "1"
    cli = start(pipeline, env, tmp_path / "cli.txt")
    started.append(cli.pid)
    assert cli.wait(timeout=60) == 0, (tmp_path / "cli.txt").read_text()
    group = step_pids(pids)
    assert wait_for(lambda: not any(alive(pid) for pid in group)), group


def test_a_running_record_is_stale_only_when_its_cli_is_gone(tmp_path):
    from mlops_actions.pipeline.liveness import this_process
    from mlops_actions.pipeline.runs import run_status

    me = this_process()
    record = {"status": "running", "runner": me}
    assert run_status(record) == "running"
    assert run_status({**record, "runner": {**me, "started": "other"}}) == (
        "interrupted"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = {**me, "pid": int(done.stdout), "started": None}
    assert run_status({**record, "runner": gone}) == "interrupted"
    assert run_status({**record, "runner": {**gone, "host": "elsewhere"}}) == (
        "running"  # another machine's process cannot be looked up
    )
    assert run_status({"status": "running"}) == "running"  # older records
    assert run_status({"status": "completed", "runner": gone}) == "completed"


def test_a_step_whose_program_is_missing_fails_naming_it(tmp_path, monkeypatch, mlops):
    pipeline = one_step(tmp_path, "")
    component = pipeline.parent / "step" / "component.yml"
    component.write_text(
        component.read_text().replace("python step.py", "no-such-program-mlops")
    )
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 3
    # Under bash, as on Azure ML: bash says what it could not find.
    assert "error: step step failed with exit code 127" in result.err
    assert result.err.splitlines()[-1] == (
        "bash: line 1: no-such-program-mlops: command not found"
    )
    record = json.loads(next(Path(".mlops/runs").glob("*/run.json")).read_text())
    assert record["status"] == "failed"
    assert record["steps"][0]["status"] == "failed"
