"""The local deploy target: the scorer as a background process on this machine.

One deployment at a time per state folder (``.mlops/deploy/local.json``): a new
deploy stops the running one first. The scorer runs detached, in its own
session, logging to ``.mlops/deploy/scorer.log``; ``stop`` sends it SIGTERM
(it finishes in-flight requests) and SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from mlops_actions.errors import BackendError, UsageError
from mlops_actions.pipeline.record import read_json, write_json

STATE = "deploy/local.json"
_GRACE_S = 10.0


@dataclass(frozen=True)
class LocalDeployment:
    url: str
    pid: int
    model: str
    version: str | None
    log: str
    started: float


def current(state: Path) -> LocalDeployment | None:
    data = read_json(state / STATE)
    if not data:
        return None
    try:
        deployment = LocalDeployment(**data)
    except TypeError:
        return None
    return deployment if _alive(deployment.pid) else None


def deploy(
    model: str,
    *,
    version: str | None,
    host: str,
    port: int,
    state: Path,
    timeout: float = 120.0,
) -> LocalDeployment:
    """Start ``mlops scorer serve MODEL`` and wait until it is ready."""
    stop(state)
    log = state / "deploy" / "scorer.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "mlops_actions", "scorer", "serve", model]
    argv += ["--host", host, "--port", str(port)]
    with log.open("wb") as handle:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command, as a server should
        )
    url = f"http://{host}:{port}"
    deployment = LocalDeployment(
        url, process.pid, model, version, str(log), time.time()
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            said = next((x for x in reversed(tail.splitlines()) if x.strip()), "")
            error = UsageError if code == 2 else BackendError
            raise error(
                f"the scorer exited with code {code} before it was ready: "
                f"{said.removeprefix('error: ')}",
                detail=f"--- last lines of {log} ---\n{tail}",
            )
        if _ready(url):
            write_json(state / STATE, asdict(deployment))
            return deployment
        time.sleep(0.2)
    _terminate(process.pid)
    raise BackendError(
        f"the scorer did not become ready within {timeout:.0f}s (log: {log})"
    )


def stop(state: Path) -> LocalDeployment | None:
    """Stop the running local deployment, if any; return what was stopped."""
    running = current(state)
    (state / STATE).unlink(missing_ok=True)
    if running is not None:
        _terminate(running.pid)
    return running


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health/ready", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + _GRACE_S
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = 0 if _alive(pid) else pid
        if done or not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
