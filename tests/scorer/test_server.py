"""The real server (uvicorn, a subprocess, 127.0.0.1): SIGTERM under load loses
no accepted request; a model that fails to load never opens the port."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .conftest import MODELS

MLOPS = [sys.executable, "-m", "mlops_actions"]
CONNECTION_ERRORS = (ConnectionError, http.client.RemoteDisconnected, OSError)


def start(model: Path, port: int, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*MLOPS, "scorer", "serve", str(model), "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def get(port: int, path: str) -> int | None:
    """The status of GET path, or None when nothing answers."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        return connection.getresponse().status
    except CONNECTION_ERRORS:
        return None


def wait_ready(process: subprocess.Popen, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while get(port, "/health/ready") != 200:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "not ready in time"
        time.sleep(0.05)


def test_sigterm_under_load_finishes_every_accepted_request(free_port):
    server = start(MODELS / "slow", free_port, SCORER_TEST_PREDICT_SECONDS="0.01")
    try:
        wait_ready(server, free_port)
        outcomes: list[tuple[float, object]] = []
        lock = threading.Lock()
        body = json.dumps({"inputs": {"x": [1.0]}})

        def client() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", free_port, timeout=10)
            for _ in range(25):  # 8 connections x 25 = 200 requests at most
                try:
                    connection.request(
                        "POST",
                        "/invocations",
                        body,
                        {"content-type": "application/json"},
                    )
                    response = connection.getresponse()
                    outcome: object = (response.status, response.read())
                except CONNECTION_ERRORS as exc:
                    outcome = exc
                with lock:
                    outcomes.append((time.monotonic(), outcome))
                if isinstance(outcome, BaseException):
                    return  # refused or closed: the server is stopping

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        while len(outcomes) < 60:
            time.sleep(0.001)
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(30)
        code = server.wait(30)
        log = server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
    answered = [o for _, o in outcomes if not isinstance(o, BaseException)]
    assert code == 0, log
    assert all(o == (200, b'{"predictions":[2.0]}') for o in answered), answered
    assert any(t > signalled for t, o in outcomes if o in answered)  # were in flight
    # every request the server took is one a client got a 200 for
    taken = int(re.search(r"scorer stopped: (\d+) requests answered", log)[1])
    assert taken == len(answered)
    assert get(free_port, "/health/live") is None  # and it no longer listens


def test_a_model_that_fails_to_load_exits_3_and_never_listens(free_port):
    server = start(MODELS / "broken", free_port)
    statuses = set()
    while server.poll() is None:
        statuses.add(get(free_port, "/health/ready"))
        time.sleep(0.02)
    log = server.stderr.read()
    assert server.returncode == 3
    assert statuses <= {None}
    assert "error: model " in log and "weights.bin is corrupt" in log
    assert log.count("\n") == 1, log  # one line, no traceback
