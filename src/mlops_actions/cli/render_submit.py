"""What ``mlops pipeline submit`` and ``wait`` show: the job first, then its end."""

from __future__ import annotations

import json
from typing import Any

import click

from mlops_actions import gha
from mlops_actions.pipeline.submit import Submitted, to_outputs
from mlops_actions.redact import redact, redact_value


def announce(submission: Any) -> None:
    """The job's name and studio URL, on stdout and in the step's outputs,
    as soon as it is submitted (a cancelled workflow still knows them)."""
    verb = "attached to" if submission.attached else "submitted"
    click.echo(f"job {submission.name}")
    if submission.url:
        click.echo(f"url {submission.url}")
    click.echo(f"{verb} job {submission.name}", err=True)
    gha.set_outputs({"job-name": submission.name, "job-url": submission.url})


def submitted(result: Submitted, *, as_json: bool) -> None:
    """The outcome on stdout, the step outputs and summary; then the run's
    error, if it did not complete, for the CLI to exit with."""
    outputs = redact_value(to_outputs(result))
    gha.set_outputs(outputs)
    gha.append_summary(_summary(result))
    if as_json:
        body = {**outputs, "backend": result.backend, "attached": result.attached}
        if result.error is not None:
            body["error"] = redact(result.error.message)
        click.echo(json.dumps(body, indent=2, sort_keys=True))
    else:
        click.echo(f"status {result.status}")
        if result.metrics_path:
            click.echo(f"metrics {result.metrics_path}")
    if result.error is not None:
        raise result.error


def _summary(result: Submitted) -> str:
    where = f"[{result.job}]({result.url})" if result.url else f"`{result.job}`"
    lines = [
        f"### Pipeline job {where}: {result.status}",
        "",
        "| | |",
        "|---|---|",
        f"| backend | {result.backend} |",
        f"| job | `{result.job}` |",
        f"| status | {result.status} |",
    ]
    if result.attached:
        lines.append("| attached | yes: this step had submitted it before |")
    if result.error is not None:
        lines.append(f"| error | {gha.escape_command_data(result.error.message)} |")
    record = result.record
    if record is not None:
        if record.steps:
            lines += ["", "| step | status | time |", "|---|---|---|"]
            lines += [
                f"| {s.name} | {s.status} | {s.seconds:.0f} s |" for s in record.steps
            ]
        values = record.metrics.get("metrics") or {}
        if values:
            lines += ["", "| metric | value |", "|---|---|"]
            lines += [f"| {name} | {value} |" for name, value in values.items()]
    return redact("\n".join(lines)) + "\n"
