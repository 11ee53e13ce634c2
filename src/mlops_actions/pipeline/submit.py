"""``mlops pipeline submit / wait / cancel`` as use cases, for any backend.

The local backend runs the pipeline while it is submitted, so ``submit``
there is ``run``; on Azure ML it submits the job (or attaches to the one a
previous attempt of this step submitted) and, unless told not to wait, waits
for it and downloads its outputs. Either way the result names the job, its
URL, its status and where its ``metrics.json`` landed, for the step's
outputs and summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions.errors import BackendError, MlopsError, UsageError
from mlops_actions.pipeline.backend import PipelineBackend, SubmittedRun
from mlops_actions.pipeline.spec import Pipeline
from mlops_actions.records.pipeline import RunRecord


@dataclass(frozen=True)
class Submitted:
    """What became of one submission."""

    backend: str
    job: str
    url: str
    #: completed | submitted (not waited for) | failed | cancelled
    status: str
    #: True: a job of this name existed, and this submission attached to it
    attached: bool
    #: the folder holding the downloaded metrics.json (completed runs)
    metrics_path: str
    record: RunRecord | None
    #: why the run did not complete; raised after the outputs are written
    error: MlopsError | None = None


def submit_pipeline(
    backend: PipelineBackend,
    pipeline: Pipeline,
    overrides: dict[str, str],
    *,
    wait: bool,
    timeout_s: float | None = None,
    metrics_output: str = "metrics",
) -> Submitted:
    """Submit ``pipeline``; with ``wait``, wait for it and fetch its record.

    A failed, cancelled or timed-out run is returned with its ``error`` set
    (the caller reports it, then raises it), so the job name and status reach
    the workflow even then.
    """
    if not wait and backend.name == "local":
        raise UsageError(
            "--no-wait: a local run ends before submit returns; "
            "use --wait (the default) with --backend local"
        )
    try:
        run = backend.submit(pipeline, overrides)
    except BackendError as exc:  # a backend that ran the pipeline in submit
        ran = getattr(backend, "last_run_id", None) or ""
        return Submitted(backend.name, ran, "", "failed", False, "", None, exc)
    if not wait:
        return _result(backend, run, "submitted", None, metrics_output)
    return wait_run(backend, run, timeout_s=timeout_s, metrics_output=metrics_output)


def wait_run(
    backend: PipelineBackend,
    run: SubmittedRun,
    *,
    timeout_s: float | None = None,
    metrics_output: str = "metrics",
) -> Submitted:
    """Wait for ``run``; its record once it completed, its error otherwise."""
    try:
        run.wait(timeout=timeout_s)
    except MlopsError as exc:
        status = _status_after(run)
        return _result(backend, run, status, None, metrics_output, error=exc)
    return _result(backend, run, "completed", run.record(), metrics_output)


def _status_after(run: SubmittedRun) -> str:
    try:
        status = run.status()
    except MlopsError:
        return "failed"
    return status if status in ("failed", "cancelled") else "failed"


def _result(
    backend: PipelineBackend,
    run: SubmittedRun,
    status: str,
    record: RunRecord | None,
    metrics_output: str,
    *,
    error: MlopsError | None = None,
) -> Submitted:
    metrics_path = ""
    if record is not None:
        folder = record.outputs.get(metrics_output)
        if folder and (Path(folder) / "metrics.json").is_file():
            metrics_path = folder
        elif record.metrics.get("path"):
            metrics_path = str(Path(record.metrics["path"]).parent)
    return Submitted(
        backend=backend.name,
        job=run.run_id,
        url=str(getattr(run, "url", "") or ""),
        status=status,
        attached=bool(getattr(getattr(run, "submission", None), "attached", False)),
        metrics_path=metrics_path,
        record=record,
        error=error,
    )


def to_outputs(result: Submitted) -> dict[str, Any]:
    """The step outputs of a submission (``$GITHUB_OUTPUT``)."""
    return {
        "job-name": result.job,
        "job-url": result.url,
        "status": result.status,
        "metrics-path": result.metrics_path,
    }
