"""Local pipeline runs by id: new ids, checked ids, a run's status, its metrics.

The files themselves (``run.json``, ``step.json``) are modelled in
:mod:`mlops_actions.records.pipeline`.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.liveness import has_ended
from mlops_actions.records.metrics import read_metrics

#: The form of the run ids :func:`new_run_id` makes: UTC time, then 6 hex digits.
RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
#: An Azure ML job's name (its downloaded outputs live under runs/<name>/ too).
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")


def new_run_id() -> str:
    """A fresh run id; ids sort by start time (oldest first)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def check_run_id(run: str, flag: str = "--run") -> str:
    """``run`` when it is ``latest``, a run id or an Azure ML job name;
    UsageError naming ``flag`` else.

    A run id becomes a folder name under ``<state>/runs/``: only names made of
    letters, digits, '_' and '-' are accepted, so no value can reach outside
    that folder.
    """
    if run == "latest" or RUN_ID.fullmatch(run) or JOB_NAME.fullmatch(run):
        return run
    shown = run if run.isprintable() and len(run) <= 80 else repr(run[:80])
    raise UsageError(
        f"{flag} {shown}: not a run id: pass latest, an id such as "
        "20260101-120000-a1b2c3 as `mlops pipeline run` prints, or the Azure ML "
        "job name `mlops pipeline submit` prints"
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


def find_metrics(outputs: dict[str, str]) -> dict[str, Any]:
    """The first ``metrics.json`` (our schema) among a step's output folders."""
    for name, folder in outputs.items():
        path = Path(folder) / "metrics.json"
        try:
            data = read_metrics(path).to_json()
        except UsageError:
            continue  # missing, or not ours: the step may write its own
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
