"""What a local pipeline run leaves behind: ``run.json`` and ``step.json``.

Values in both are stored with credentials redacted (:mod:`mlops_actions.redact`):
the inputs, and each step's command line.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.liveness import has_ended

RUN_SCHEMA = "mlops-actions/pipeline-run"
STEP_SCHEMA = "mlops-actions/pipeline-step"
METRICS_SCHEMA = "mlops-actions/metrics"

#: The form of the run ids :func:`new_run_id` makes: UTC time, then 6 hex digits.
RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")


def new_run_id() -> str:
    """A fresh run id; ids sort by start time (oldest first)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def check_run_id(run: str, flag: str = "--run") -> str:
    """``run`` when it is ``latest`` or a run id; UsageError naming ``flag`` else.

    A run id becomes a folder name under ``<state>/runs/``: only the form the
    runner makes is accepted, so no value can reach outside that folder.
    """
    if run == "latest" or RUN_ID.fullmatch(run):
        return run
    shown = run if run.isprintable() and len(run) <= 80 else repr(run[:80])
    raise UsageError(
        f"{flag} {shown}: not a run id: pass latest or an id such as "
        "20260101-120000-a1b2c3, as `mlops pipeline run` prints"
    )


def run_status(record: dict[str, Any]) -> str:
    """A run.json body's status, ``interrupted`` for a stale ``running`` one.

    A record left ``running`` by a CLI that has since ended (killed with
    ``kill -9``, or its machine went down) will never be finished.
    """
    status = str(record.get("status"))
    if status == "running" and has_ended(record.get("runner")):
        return "interrupted"
    return status


@dataclass
class StepRecord:
    name: str
    status: str  # pending | running | completed | reused | failed | cancelled
    key: str = ""
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    log: str = ""
    argv: list[str] = field(default_factory=list)
    returncode: int | None = None
    reused_from: str | None = None


@dataclass
class RunRecord:
    run_id: str
    pipeline: str
    file: str
    folder: str
    status: str  # running | completed | failed | cancelled
    inputs: dict[str, Any]
    experiment: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    not_used_locally: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the CLI process running it (see :mod:`.liveness`), to tell a stale record
    runner: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"schema": RUN_SCHEMA, "version": 1, **asdict(self)}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find_metrics(outputs: dict[str, str]) -> dict[str, Any]:
    """The first ``metrics.json`` (our schema) among a step's output folders."""
    for name, folder in outputs.items():
        path = Path(folder) / "metrics.json"
        data = read_json(path)
        if data and data.get("schema") == METRICS_SCHEMA:
            return {"output": name, "path": str(path), **data}
    return {}


def producing_run(run: dict[str, Any], path: str) -> str:
    """The run that produced output ``path`` of ``run`` (a run.json body).

    A reused step's outputs live in the earlier run that made them, so a
    re-run with nothing changed names the same producing run: registering
    "this run's model" twice then finds the version registered before.
    """
    for step in run.get("steps") or []:
        if path in (step.get("outputs") or {}).values():
            return str(step.get("reused_from") or run["run_id"])
    return str(run["run_id"])
