"""Where a gate decision is shown: outputs, job summary, pull request comment."""

from __future__ import annotations

from pathlib import Path

import click

from mlops_actions.gate.decision import Decision


def outputs(path: Path, decision: str, champion: str | None) -> None:
    from mlops_actions import gha

    gha.set_outputs(
        {
            "decision": decision,
            "gate-json": str(path.resolve()),
            "champion-version": champion or "",
        }
    )


def publish(decision: Decision, *, comment: bool) -> str:
    """The markdown table; also to the step summary and the sticky comment."""
    from mlops_actions import gha
    from mlops_actions.gate.report import render
    from mlops_actions.pr_comment import GitHubApiError, upsert_comment

    table = render(decision)
    gha.append_summary(table)
    if comment and gha.in_actions():
        try:
            result = upsert_comment("gate", table)
            if result.action == "skipped" and result.detail != "not a pull request":
                gha.notice(f"gate comment skipped: {result.detail}")
        except GitHubApiError as exc:
            # The decision stands (gate.json is written): the comment is a view.
            gha.warning(f"gate comment not posted: {exc.message}")
            click.echo(f"warning: gate comment not posted: {exc.message}", err=True)
    return table
