"""What gets registered: a pipeline run's model and evaluation folders."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.record import (
    METRICS_SCHEMA,
    RUN_ID,
    RUN_SCHEMA,
    check_run_id,
    producing_run,
    read_json,
    run_status,
)


@dataclass(frozen=True)
class Candidate:
    """A model folder, its evaluation folder and the pipeline run behind them."""

    model_dir: Path
    evaluation_dir: Path | None
    run_id: str | None


def from_run(state: Path, run: str) -> Candidate:
    """The ``model`` and ``metrics`` outputs of ``<state>/runs/<run>/run.json``;
    ``latest`` is the newest completed run.

    ``run`` must be ``latest`` or a run id (UsageError naming ``--run``
    otherwise); a record left ``running`` by a CLI that has ended is reported
    as interrupted.
    """
    runs = state / "runs"
    check_run_id(run, "--run")
    if run == "latest":
        record = _latest_completed(runs)
        if record is None:
            raise UsageError(
                f"--run latest: no completed pipeline run under {runs}; "
                "run `mlops pipeline run` first or pass --model-dir"
            )
    else:
        record = read_json(runs / run / "run.json")
        if record is None or record.get("schema") != RUN_SCHEMA:
            raise UsageError(f"--run {run}: no pipeline run record {runs / run}")
        status = run_status(record)
        if status != "completed":
            stale = (
                ": its CLI ended without finishing the record"
                if status == "interrupted"
                else ""
            )
            raise UsageError(
                f"--run {run}: the run did not complete "
                f"(status {status}{stale}); register a completed run"
            )
    outputs = record.get("outputs") or {}
    if not outputs.get("model"):
        raise UsageError(
            f"--run {record['run_id']}: the pipeline has no `model` output to register"
        )
    evaluation = outputs.get("metrics") or None
    if evaluation is None and (record.get("metrics") or {}).get("path"):
        evaluation = str(Path(record["metrics"]["path"]).parent)
    return Candidate(
        model_dir=Path(outputs["model"]),
        evaluation_dir=Path(evaluation) if evaluation else None,
        run_id=producing_run(record, outputs["model"]),
    )


def _latest_completed(runs: Path) -> dict | None:
    # Run ids start with a UTC timestamp, so names sort oldest first.
    folders = sorted(runs.iterdir(), reverse=True) if runs.is_dir() else []
    for folder in folders:
        record = read_json(folder / "run.json")
        if (
            record
            and RUN_ID.fullmatch(folder.name)
            and record.get("status") == "completed"
            and record.get("run_id")
        ):
            return record
    return None


def read_metrics(evaluation_dir: Path | None) -> dict[str, float]:
    """The finite numbers of ``metrics.json`` (our schema) in ``evaluation_dir``.

    Anything else is left out rather than stored: the gate treats a missing
    metric as a failure, which a made-up value would hide.
    """
    if evaluation_dir is None:
        return {}
    path = evaluation_dir / "metrics.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != METRICS_SCHEMA:
        raise UsageError(f"{path}: not a metrics file (schema {METRICS_SCHEMA})")
    values = data.get("metrics") or {}
    return {
        str(name): float(value)
        for name, value in values.items()
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    }
