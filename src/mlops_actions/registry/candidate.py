"""What gets registered: a pipeline run's model and evaluation folders."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.jsonio import read_json
from mlops_actions.pipeline.runs import RUN_ID, check_run_id, producing_run, run_status
from mlops_actions.records import metrics as metrics_file
from mlops_actions.records.base import (
    NotThisRecord,
    RecordUnreadable,
    parse_record,
    read_record,
)
from mlops_actions.records.pipeline import RunRecord


@dataclass(frozen=True)
class Candidate:
    """A model folder, its evaluation folder and the pipeline run behind them."""

    model_dir: Path
    evaluation_dir: Path | None
    run_id: str | None
    #: pipeline input -> "NAME:VERSION" of the data asset the run read
    data: dict[str, str] = field(default_factory=dict)


def from_run(
    state: Path,
    run: str,
    *,
    model_output: str = "model",
    metrics_output: str = "metrics",
    how: str = "--model-output",
) -> Candidate:
    """The ``model_output`` and ``metrics_output`` outputs of
    ``<state>/runs/<run>/run.json`` (see :func:`completed_run`); a UsageError
    naming the missing model output, and ``how`` to name another, if the run
    has none."""
    record = completed_run(state, run)
    outputs = record.get("outputs") or {}
    if not outputs.get(model_output):
        raise UsageError(
            f"--run {record['run_id']}: the pipeline has no `{model_output}` output "
            f"to register (its outputs: {_names(outputs)}): name the output "
            f"holding the MLflow model with {how}"
        )
    evaluation = evaluation_of(record, metrics_output)
    return Candidate(
        model_dir=Path(outputs[model_output]),
        evaluation_dir=evaluation,
        run_id=producing_run(record, outputs[model_output]),
        data={str(k): str(v) for k, v in (record.get("data") or {}).items()},
    )


def completed_run(state: Path, run: str) -> dict[str, Any]:
    """The body of ``<state>/runs/<run>/run.json``; ``latest`` is the newest
    completed run.

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
        return record
    record = _read_run(runs / run / "run.json", f"--run {run}")
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
    return record


def evaluation_of(record: dict[str, Any], metrics_output: str) -> Path | None:
    """The folder of run ``record``'s ``metrics_output`` output, else the
    folder of the metrics.json its last step wrote, else None."""
    evaluation = (record.get("outputs") or {}).get(metrics_output) or None
    if evaluation is None and (record.get("metrics") or {}).get("path"):
        evaluation = str(Path(record["metrics"]["path"]).parent)
    return Path(evaluation) if evaluation else None


def _names(outputs: dict[str, Any]) -> str:
    return ", ".join(sorted(outputs)) or "none"


def _read_run(path: Path, flag: str) -> dict[str, Any]:
    """A run.json body, checked; a UsageError naming ``flag`` if there is none."""
    try:
        return read_record(path, RunRecord, where=f"{flag}: {path}").to_json()
    except (RecordUnreadable, NotThisRecord):
        raise UsageError(f"{flag}: no pipeline run record {path.parent}") from None


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
            try:
                return parse_record(record, RunRecord, str(folder)).to_json()
            except UsageError:
                continue  # not a run record this release reads
    return None


def read_metrics(evaluation_dir: Path | None) -> dict[str, float]:
    """The finite numbers of ``metrics.json`` (either form) in ``evaluation_dir``.

    Anything else is left out rather than stored: the gate treats a missing
    metric as a failure, which a made-up value would hide.
    """
    if evaluation_dir is None:
        return {}
    path = evaluation_dir / "metrics.json"
    if not path.is_file():
        return {}
    values = metrics_file.read_metrics(path).metrics
    return {
        str(name): float(value)
        for name, value in values.items()
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    }
