"""The local deploy target: the scorer as a background process on this machine.

One deployment at a time per state folder (``.mlops/deploy/local.json``): a new
deploy stops the running one first. The scorer runs detached, in its own
session, logging to ``.mlops/deploy/scorer.log``; ``stop`` sends it SIGTERM
(it finishes in-flight requests) and SIGKILL after a grace period.

Both ends check identities. The record holds the scorer's pid with its start
time, so a pid the kernel has since given to another process is never
signalled. Each deployment passes the scorer a random instance id, which
``/health/ready`` reports: a port another server already answers on is not
taken for ours.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlops_actions.errors import BackendError, UsageError
from mlops_actions.jsonio import read_json, write_json
from mlops_actions.logs import tail
from mlops_actions.process import ProcessId, spawn, stop_group

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
    #: when the scorer process started (see mlops_actions.process)
    process_started: str | None = None
    #: what the scorer's /health/ready says as "instance"
    instance: str = ""

    @property
    def process(self) -> ProcessId:
        return ProcessId(self.pid, self.process_started)

    @property
    def handle(self) -> str:
        return f"pid {self.pid}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def current(state: Path) -> LocalDeployment | None:
    """The recorded deployment while its very scorer process runs, else None."""
    data = read_json(state / STATE)
    if not data:
        return None
    try:
        deployment = LocalDeployment(**data)
    except TypeError:
        return None
    if deployment.process_started is None:
        return None  # nothing proves the pid is still the scorer's
    return deployment if deployment.process.alive() else None


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
    instance = secrets.token_hex(8)
    argv = [sys.executable, "-m", "mlops_actions", "scorer", "serve", model]
    argv += ["--host", host, "--port", str(port), "--instance-id", instance]
    process = spawn(argv, log=log)  # outlives this command, as a server should
    scorer = ProcessId.of(process.pid)
    url = f"http://{host}:{port}"
    deployment = LocalDeployment(
        url,
        process.pid,
        model,
        version,
        str(log),
        time.time(),
        process_started=scorer.started,
        instance=instance,
    )
    try:
        return _await_ready(process, scorer, deployment, state, timeout)
    except BaseException:
        # not ready, whatever the reason (Ctrl-C, an internal error): the
        # scorer is not left running without a record that could stop it
        stop_group(scorer, _GRACE_S)
        raise


def _await_ready(
    process: Any,
    scorer: ProcessId,
    deployment: LocalDeployment,
    state: Path,
    timeout: float,
) -> LocalDeployment:
    """Return ``deployment`` once its scorer says ready; raise when it exits
    first or the timeout passes."""
    log, url, instance = Path(deployment.log), deployment.url, deployment.instance
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            lines = tail(log, 15)
            said = next((x for x in reversed(lines) if x.strip()), "")
            error = UsageError if code == 2 else BackendError
            raise error(
                f"the scorer exited with code {code} before it was ready: "
                f"{said.removeprefix('error: ')}",
                detail="\n".join([f"--- last lines of {log} ---", *lines]),
            )
        # Ready only when the answer is our scorer's: another server may
        # already listen on the port, and ours will then exit (port in use).
        if _ready_instance(url) == instance:
            write_json(state / STATE, asdict(deployment))
            return deployment
        time.sleep(0.2)
    raise BackendError(
        f"the scorer did not become ready within {timeout:.0f}s (log: {log})"
    )


def stop(state: Path) -> LocalDeployment | None:
    """Stop the recorded deployment's scorer if it still runs; return it.

    A record whose scorer has exited is removed; its pid is left alone, since
    it may by now be another process's.
    """
    running = current(state)
    (state / STATE).unlink(missing_ok=True)
    if running is not None:
        stop_group(running.process, _GRACE_S)
    return running


def _ready_instance(url: str) -> str | None:
    """The instance id ``/health/ready`` reports when it says ready, else None."""
    try:
        with urllib.request.urlopen(url + "/health/ready", timeout=2) as answer:
            doc = json.loads(answer.read(64 << 10)) if answer.status == 200 else {}
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return doc.get("instance") if isinstance(doc, dict) else None
