"""``mlops gate``: the candidate against the champion, under gate.yml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mlops_actions.errors import CheckFailed, MlopsError

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
@click.option(
    "--model", show_envvar=True, help="Registered model name [default: rules]."
)
@click.option(
    "--mode",
    type=click.Choice(["enforce", "dry-run"]),
    show_envvar=True,
    help="Override the rules' mode.",
)
@click.option(
    "--out",
    type=PATH,
    default="gate.json",
    show_default=True,
    show_envvar=True,
    help="Where the decision record goes (always written).",
)
@click.option(
    "--comment/--no-comment",
    default=True,
    show_default=True,
    show_envvar=True,
    help="On a pull request, keep one sticky comment with the table.",
)
@click.option("--json", "as_json", is_flag=True, help="Print gate.json instead.")
@click.pass_obj
def gate(
    obj: Any,
    rules: Path,
    metrics: Path | None,
    run: str | None,
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
    from mlops_actions.gate.compare import error_record, find_candidate, run_gate
    from mlops_actions.gate.rules import load_rules
    from mlops_actions.jsonio import write_json
    from mlops_actions.registry import open_registry
    from mlops_actions.settings import state_dir

    try:
        spec = load_rules(rules)
        overrides = {"model": model, "mode": mode}
        spec = spec.model_copy(update={k: v for k, v in overrides.items() if v})
        candidate = find_candidate(metrics, run, state_dir())
        result = run_gate(spec, candidate, open_registry(obj.backend))
    except MlopsError as exc:
        write_json(out, error_record(exc.message, model=model, mode=mode))
        report_gate.outputs(out, "error", None)
        raise
    write_json(out, result.record)
    outcome = result.decision.decision
    champion = (result.record["champion"] or {}).get("version")
    report_gate.outputs(out, outcome, champion)
    table = report_gate.publish(result.decision, comment=comment)
    click.echo(json.dumps(result.record, indent=2) if as_json else table.rstrip())
    if outcome not in ("promote", "first") and spec.mode == "enforce":
        failed = sum(v.verdict != "pass" for v in result.decision.rules)
        why = (
            f"{failed} of the rules above did not pass"
            if failed
            else result.decision.reasons[0]
        )
        raise CheckFailed(f"gate decided {outcome}: {why} (details in {out})")
