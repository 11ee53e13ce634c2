"""Independent steps run at the same time; a failure stops the others unless
the pipeline says ``continue_on_step_failure``.

The two branches of a diamond meet: each waits until the other has started,
so they complete only when they run at the same time (no timing threshold),
and the records' start and end times say that they overlapped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from faults import alive, wait_for
from graphs import after, write_pipeline

MEET = """
import os, sys, time
from pathlib import Path
out, name, other, action = sys.argv[1:5]
meet = Path(os.environ["MEET_DIR"])
(meet / name).write_text(str(os.getpid()))
deadline = time.monotonic() + 60
while other != "-" and not (meet / other).exists():
    if time.monotonic() > deadline:
        sys.exit(f"{name} never met {other}")
    time.sleep(0.02)
print(f"{name} met {other}", flush=True)
if action == "fail":
    sys.exit(1)
if action == "sleep":
    time.sleep(120)
Path(out, "done.txt").write_text(name)
"""
COMMAND = (
    "python step.py ${{outputs.out}} ${{inputs.name}} ${{inputs.other}} "
    "${{inputs.action}} $[[${{inputs.up}}]] $[[${{inputs.up2}}]]"
)
INPUTS = {
    "name": {"type": "string"},
    "other": {"type": "string", "default": "-"},
    "action": {"type": "string", "default": "ok"},
    "up": {"type": "uri_folder", "optional": True},
    "up2": {"type": "uri_folder", "optional": True},
}


def diamond(folder: Path, b: dict, c: dict, settings: dict | None = None) -> Path:
    """a -> (b, c) -> d, b and c meeting each other unless told otherwise."""
    jobs = {
        "a": {"inputs": {"name": "a"}},
        "b": {"inputs": {"name": "b", "other": "c", "up": after("a"), **b}},
        "c": {"inputs": {"name": "c", "other": "b", "up": after("a"), **c}},
        "d": {"inputs": {"name": "d", "up": after("b"), "up2": after("c")}},
    }
    return write_pipeline(
        folder,
        COMMAND,
        jobs,
        script=MEET,
        component_inputs=INPUTS,
        settings=settings,
    )


def steps() -> dict[str, dict]:
    (path,) = Path(".mlops/runs").glob("*/run.json")
    return {s["name"]: s for s in json.loads(path.read_text())["steps"]}


def times(step: dict) -> tuple[datetime, datetime]:
    return (
        datetime.fromisoformat(step["started"]),
        datetime.fromisoformat(step["ended"]),
    )


def setup(tmp_path, monkeypatch) -> Path:
    meet = tmp_path / "meet"
    meet.mkdir()
    monkeypatch.setenv("MEET_DIR", str(meet))
    monkeypatch.chdir(tmp_path)
    return meet


def test_a_diamonds_branches_run_at_the_same_time(mlops, tmp_path, monkeypatch):
    setup(tmp_path, monkeypatch)
    pipeline = diamond(tmp_path, {}, {})
    result = mlops("-v", "pipeline", "run", str(pipeline), "--jobs", "2")
    assert result.code == 0, result
    found = steps()
    (a0, a1), (b0, b1), (c0, c1), (d0, d1) = (times(found[n]) for n in "abcd")
    assert b0 < c1 and c0 < b1  # the branches overlapped
    assert a1 <= min(b0, c0) and max(b1, c1) <= d0  # the edges held
    assert "[b] b met c" in result.err.splitlines()
    assert "[c] c met b" in result.err.splitlines()


def test_jobs_1_runs_one_step_at_a_time(mlops, tmp_path, monkeypatch):
    setup(tmp_path, monkeypatch)
    pipeline = diamond(tmp_path, {"other": "-"}, {"other": "-"})
    result = mlops("-v", "pipeline", "run", str(pipeline), "--jobs", "1")
    assert result.code == 0, result
    (b0, b1), (c0, c1) = times(steps()["b"]), times(steps()["c"])
    assert b1 <= c0 or c1 <= b0
    assert "b met -" in result.err.splitlines()  # one at a time: no prefix


def test_a_failed_step_stops_the_others(mlops, tmp_path, monkeypatch):
    meet = setup(tmp_path, monkeypatch)
    pipeline = diamond(tmp_path, {"action": "fail"}, {"action": "sleep"})
    result = mlops("pipeline", "run", str(pipeline), "--jobs", "4")
    assert result.code == 3
    assert "error: step b failed with exit code 1" in result.err
    found = steps()
    assert [found[n]["status"] for n in "abcd"] == [
        "completed",
        "failed",
        "cancelled",
        "pending",
    ]
    sleeper = int((meet / "c").read_text())
    assert wait_for(lambda: not alive(sleeper), timeout=10)


def test_continue_on_step_failure_runs_what_does_not_depend_on_it(
    mlops, tmp_path, monkeypatch
):
    setup(tmp_path, monkeypatch)
    settings = {"continue_on_step_failure": True}
    pipeline = diamond(tmp_path, {"action": "fail"}, {}, settings)
    result = mlops("pipeline", "run", str(pipeline), "--jobs", "4")
    assert result.code == 3
    assert "error: step b failed with exit code 1" in result.err
    found = steps()
    assert [found[n]["status"] for n in "abcd"] == [
        "completed",
        "failed",
        "completed",
        "pending",
    ]


def test_one_ctrl_c_ends_every_running_step(tmp_path, monkeypatch):
    """Real process, real SIGINT: the main thread keeps the signals and every
    step running in a worker thread is ended."""
    meet = setup(tmp_path, monkeypatch)
    pipeline = diamond(tmp_path, {"action": "sleep"}, {"action": "sleep"})
    env = {**os.environ}
    env.pop("MLOPS_HOME", None)
    argv = [sys.executable, "-m", "mlops_actions", "pipeline", "run", str(pipeline)]
    proc = subprocess.Popen(
        [*argv, "--jobs", "4"], stderr=subprocess.PIPE, text=True, env=env
    )
    try:

        def both_met() -> bool:
            found = list(Path(".mlops/runs").glob("*/[bc]/logs/std_log.txt"))
            return len(found) == 2 and all("met" in p.read_text() for p in found)

        assert wait_for(both_met, timeout=30)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 3
    assert re.fullmatch(
        r"error: interrupted \(SIGINT\) during step [bc]: the step was stopped "
        r"and will not be reused",
        err.splitlines()[-1],
    )
    found = steps()
    assert [found[n]["status"] for n in "abcd"] == [
        "completed",
        "cancelled",
        "cancelled",
        "pending",
    ]
    for name in "bc":
        pid = int((meet / name).read_text())
        assert wait_for(lambda: not alive(pid), timeout=10)
