"""Terminal rendering shared by commands: progress on stderr, results on stdout."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mlops_actions.pipeline.backend import StepEvent
from mlops_actions.pipeline.local import LocalRunner, not_used_locally
from mlops_actions.records.pipeline import RunRecord
from mlops_actions.pipeline.spec import Pipeline
from mlops_actions.redact import redact, redact_value


def shown(path: str | Path) -> str:
    """A path relative to the working directory when it lies below it."""
    try:
        return os.path.relpath(path) if Path(path).is_absolute() else str(path)
    except ValueError:
        return str(path)


def run_header(spec: Pipeline, runner: LocalRunner) -> None:
    click.echo(
        f"pipeline {spec.name}: {_steps(len(spec.jobs))}, local backend, "
        f"state in {shown(runner.state)}",
        err=True,
    )
    on_host = [
        job.name
        for job in spec.jobs.values()
        if job.component and runner.environments.plan(job).kind == "host"
    ]
    not_used = sorted({*not_used_locally(spec, on_host)})
    if not_used:
        click.echo(
            f"not used locally: {', '.join(not_used)} "
            f"(steps run with {runner.interpreter})",
            err=True,
        )


def step_event(event: StepEvent) -> None:
    prefix = f"[{event.index}/{event.total}] {event.step}"
    if event.status == "started":
        text = f"{prefix}: started"
    elif event.status == "reused":
        text = f"{prefix}: reused from run {event.reused_from}"
    elif event.status == "changed":
        text = (
            f"{prefix}: outputs changed since run {event.reused_from} "
            f"({event.reason}): re-running"
        )
    else:
        text = f"{prefix}: {event.status} in {event.seconds:.2f}s"
    if event.note:
        text += f"; {event.note}"
    click.echo(text, err=True)
    sys.stderr.flush()


def run_summary(record: RunRecord) -> None:
    """The run's metrics, outputs and a closing line, on stdout.

    Everything shown passes through :func:`~mlops_actions.redact.redact`, as
    everything the run record holds already has.
    """
    click.echo(redact(_summary(record)))


def _summary(record: RunRecord) -> str:
    lines = []
    metrics = record.metrics
    if metrics:
        lines.append(f"metrics ({metrics['step']}: {shown(metrics['path'])}):")
        values = metrics.get("metrics") or {}
        width = max((len(k) for k in values), default=0)
        for name, value in values.items():
            number = f"{value:.4f}" if isinstance(value, float) else str(value)
            lines.append(f"  {name:<{width}}  {number}")
    if record.outputs:
        lines.append("outputs:")
        width = max(len(k) for k in record.outputs)
        for name, path in record.outputs.items():
            lines.append(f"  {name:<{width}}  {shown(path)}")
    reused = sum(1 for s in record.steps if s.status == "reused")
    lines.append(
        f"run {record.run_id} completed in {record.seconds:.2f}s: "
        f"{_steps(len(record.steps))}, {reused} reused ({shown(record.folder)})"
    )
    return "\n".join(lines)


def run_to_actions(record: RunRecord) -> None:
    """Outputs and a step summary for the run, when inside GitHub Actions."""
    from mlops_actions import gha

    if not gha.in_actions():
        return
    outputs = {
        "run-id": record.run_id,
        "status": record.status,
        "run-folder": record.folder,
        "metrics-json": record.metrics.get("path", ""),
    }
    outputs.update({f"output-{name}": path for name, path in record.outputs.items()})
    gha.set_outputs(redact_value(outputs))
    rows = [
        f"| {s.name} | {s.status} | {s.seconds:.2f} s | {s.reused_from or ''} |"
        for s in record.steps
    ]
    lines = [
        f"### Pipeline `{record.pipeline}`: run `{record.run_id}` {record.status}",
        "",
        "| step | status | time | reused from |",
        "|---|---|---|---|",
        *rows,
    ]
    values = record.metrics.get("metrics") or {}
    if values:
        lines += ["", "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in values.items()]
    gha.append_summary(redact("\n".join(lines)) + "\n")


def _steps(count: int) -> str:
    return f"{count} step{'' if count == 1 else 's'}"
