"""``mlops gate``: the candidate against the champion, under gate.yml."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlops_actions.cli import options
from mlops_actions.cli.options import Context
from mlops_actions.errors import CheckFailed

PATH = click.Path(path_type=Path)


@click.command()
@click.option(
    "--rules",
    type=PATH,
    default="gate.yml",
    show_default=True,
    show_envvar=True,
    help="The gate rules file.",
)
@click.option(
    "--metrics",
    type=PATH,
    show_envvar=True,
    help="Candidate metrics.json (or its folder, with predictions.parquet).",
)
@click.option(
    "--run",
    metavar="RUN_ID|latest",
    show_envvar=True,
    help="Candidate = this local pipeline run's metrics [default: latest].",
)
@options.metrics_output()
@click.option(
    "--model", show_envvar=True, help="Registered model name [default: rules]."
)
@click.option(
    "--mode",
    type=click.Choice(["enforce", "dry-run"]),
    show_envvar=True,
    help="Override the rules' mode.",
)
@options.out("gate.json", "Where the decision record goes (always written).")
@click.option(
    "--comment/--no-comment",
    default=True,
    show_default=True,
    show_envvar=True,
    help="On a pull request, keep one sticky comment with the table.",
)
@options.json_flag("Print gate.json instead.")
@click.pass_obj
def gate(
    obj: Context,
    rules: Path,
    metrics: Path | None,
    run: str | None,
    metrics_output: str | None,
    model: str | None,
    mode: str | None,
    out: Path,
    comment: bool,
    as_json: bool,
) -> None:
    """Decide whether the candidate model may replace the champion.

    Writes gate.json in every case (promote, reject, first or error), prints
    the rules table, puts it in the job summary and on the pull request. Exits
    0 for promote or first, 1 for reject or error (0 in dry-run mode), 2 for a
    bad rules file, 3 when the registry cannot be reached.
    """
    from mlops_actions.cli import report_gate
    from mlops_actions.gate.run import record_gate

    recorded = record_gate(
        rules,
        metrics=metrics,
        run=run,
        model=model,
        mode=mode,
        out=out,
        backend=obj.backend,
        metrics_output=metrics_output,
    )
    report_gate.outputs(out, recorded.outcome, recorded.champion)
    if recorded.error is not None:
        raise recorded.error
    assert recorded.gate is not None  # ran: no error
    table = report_gate.publish(recorded.gate.decision, comment=comment)
    click.echo(
        json.dumps(recorded.gate.record, indent=2) if as_json else table.rstrip()
    )
    if why := recorded.refusal():
        raise CheckFailed(why)
