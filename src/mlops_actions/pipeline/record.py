"""What a local pipeline run leaves behind: ``run.json`` and ``step.json``."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RUN_SCHEMA = "mlops-actions/pipeline-run"
STEP_SCHEMA = "mlops-actions/pipeline-step"
METRICS_SCHEMA = "mlops-actions/metrics"


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
