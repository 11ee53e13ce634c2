"""The local deploy target knows its own scorer: by pid and start time when it
stops one, by instance id when it waits for one to be ready."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parents[1] / "scorer" / "fixtures" / "typed"


@pytest.fixture
def mlops(mlops_process):
    def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
        return mlops_process(*args, cwd=cwd)

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def bystander():
    """An unrelated long-running process, as one that reused a scorer's pid."""
    proc = subprocess.Popen(["sleep", "120"], start_new_session=True)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def record(work: Path, pid: int, **more: object) -> Path:
    path = work / ".mlops" / "deploy" / "local.json"
    path.parent.mkdir(parents=True)
    data = {
        "url": "http://127.0.0.1:9",
        "pid": pid,
        "model": "models:/m/1",
        "version": "1",
        "log": str(path.parent / "scorer.log"),
        "started": time.time() - 3600,
    }
    path.write_text(json.dumps(data | more))
    return path


def test_deploy_stop_leaves_a_process_that_reused_the_pid_alone(
    tmp_path, bystander, mlops
):
    # What an earlier version recorded: a pid, nothing proving whose it is now.
    path = record(tmp_path, bystander.pid)
    result = mlops(tmp_path, "deploy", "--stop")
    assert (result.returncode, result.stdout) == (
        0,
        "no local deployment is running\n",
    ), result.stderr
    time.sleep(0.5)  # a TERM, had one been sent, would have ended `sleep` by now
    assert bystander.poll() is None
    assert not path.exists()


def test_deploy_stop_checks_the_start_time_before_signalling(
    tmp_path, bystander, mlops
):
    from mlops_actions.process import start_time

    # The record's scorer started at another moment than the pid's process now.
    started = start_time(bystander.pid)
    assert started is not None
    path = record(tmp_path, bystander.pid, process_started=started + "0")
    result = mlops(tmp_path, "deploy", "--stop")
    assert result.stdout == "no local deployment is running\n", result.stderr
    time.sleep(0.5)
    assert bystander.poll() is None
    assert not path.exists()


@pytest.mark.parametrize("stop", [("deploy", "stop"), ("deploy", "--stop")])
def test_deploy_stop_ends_the_recorded_process_when_it_is_the_same(
    tmp_path, bystander, mlops, stop
):
    from mlops_actions.process import start_time

    started = start_time(bystander.pid)
    record(tmp_path, bystander.pid, process_started=started)
    result = mlops(tmp_path, *stop)
    assert result.stdout == f"stopped http://127.0.0.1:9 (pid {bystander.pid})\n"
    assert bystander.wait(timeout=15) == -signal.SIGTERM


@pytest.fixture
def other_server():
    """Another server already answering on a port, /health/ready included."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, doc: object) -> None:
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._answer({"status": "ready", "model": "someone else's"})

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer({"predictions": [{"total": 1.0, "tag": "x"}]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_deploy_onto_a_port_another_server_answers_is_refused(
    tmp_path, other_server, mlops
):
    port = other_server
    result = mlops(tmp_path, "deploy", "--model", str(MODEL), "--port", str(port))
    assert result.returncode == 2, result
    first = result.stderr.splitlines()[0]
    assert first == (
        "error: the scorer exited with code 2 before it was ready: port "
        f"{port} on 127.0.0.1 is in use: pass --port"
    )
    assert not (tmp_path / ".mlops" / "deploy" / "local.json").exists()
    stop = mlops(tmp_path, "deploy", "--stop")
    assert stop.stdout == "no local deployment is running\n"


#: (deploy, stop): the group's commands, and the spellings from before it
SPELLINGS = [
    pytest.param(("deploy", "local"), ("deploy", "stop"), id="group"),
    pytest.param(("deploy",), ("deploy", "--stop"), id="old-spelling"),
]


@pytest.mark.parametrize("deploy, stop", SPELLINGS)
def test_deploy_records_its_own_scorer_and_stop_ends_it(tmp_path, mlops, deploy, stop):
    from mlops_actions.process import ProcessId

    port = free_port()
    result = mlops(tmp_path, *deploy, "--model", str(MODEL), "--port", str(port))
    try:
        assert result.returncode == 0, result.stderr
        data = json.loads((tmp_path / ".mlops" / "deploy" / "local.json").read_text())
        assert result.stdout == (
            f"deployed {MODEL} at http://127.0.0.1:{port} (pid {data['pid']})\n"
            "smoke test: not run: no recorded answers (smoke.json) and the model "
            "has no serving input example\n"
        )
        assert ProcessId(data["pid"], data["process_started"]).alive()
        url = f"http://127.0.0.1:{port}/health/ready"
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert json.loads(answer.read())["instance"] == data["instance"]
    finally:
        stopped = mlops(tmp_path, *stop)
    assert stopped.stdout == f"stopped http://127.0.0.1:{port} (pid {data['pid']})\n"
    assert not ProcessId(data["pid"], data["process_started"]).alive()
