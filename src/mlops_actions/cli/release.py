"""``mlops release``: pipeline -> gate -> register -> bundle -> deploy -> smoke."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops_actions.cli import options
from mlops_actions.cli.options import Context

if TYPE_CHECKING:
    from mlops_actions.gate.decision import Decision
    from mlops_actions.release.loop import Released

FILE = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.option(
    "--pipeline",
    type=FILE,
    default="pipelines/pipeline.yml",
    show_default=True,
    show_envvar=True,
    help="The training pipeline.",
)
@click.option(
    "--rules",
    type=FILE,
    default="gate.yml",
    show_default=True,
    show_envvar=True,
    help="The gate rules (their `model` names the registered model).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a pipeline input (repeatable).",
)
@options.model_output()
@options.metrics_output()
@options.env(
    "host",
    "Where the pipeline's steps run (as `mlops pipeline run --env`). host by "
    "default here: the reference environments pin Azure's CUDA builds; auto "
    "honours each step's declared environment.",
)
@options.host()
@options.port()
@options.azure_workspace()
@click.pass_obj
def release(
    obj: Context,
    pipeline: Path,
    rules: Path,
    overrides: tuple[str, ...],
    model_output: str | None,
    metrics_output: str | None,
    env: str,
    host: str,
    port: int,
    **workspace: str | None,
) -> None:
    """Run the release loop end to end and leave the new champion serving.

    A candidate the gate rejects stops the loop with the gate's table and exit
    1; nothing is registered or deployed then. The scorer keeps running after
    this command: `mlops deploy stop` ends it.
    """
    from mlops_actions.cli import render, report_gate
    from mlops_actions.deploy import open_deploy_target
    from mlops_actions.pipeline.backend import open_pipeline_backend
    from mlops_actions.pipeline.environments import Environments
    from mlops_actions.pipeline.inputs import parse_overrides
    from mlops_actions.registry import open_registry
    from mlops_actions.release.loop import ReleaseRequest, release as run_release
    from mlops_actions.settings import state_dir

    state = state_dir()
    request = ReleaseRequest(
        pipeline,
        parse_overrides(overrides),
        rules,
        state,
        model_output=model_output,
        metrics_output=metrics_output,
    )

    def say(line: str) -> None:
        click.echo(line, err=True)

    def publish(decision: Decision) -> str:
        table = report_gate.publish(decision, comment=True)
        click.echo(table.rstrip())
        sys.stdout.flush()
        return table

    done = run_release(
        request,
        pipelines=open_pipeline_backend(
            obj.backend,
            state=state,
            on_event=render.step_event,
            environments=Environments(state, env, say=say),
            **_azure(obj, workspace),
        ),
        registry=open_registry(obj.backend, **_azure_registry(obj, workspace)),
        target=open_deploy_target("local", state=state, host=host, port=port),
        say=say,
        publish=publish,
    )
    _show(done)


def _azure(obj: Context, workspace: dict) -> dict:
    """What the Azure pipeline backend takes: the workspace (and the job's
    name and URL announced as soon as it is submitted)."""
    if obj.backend != "azure":
        return {}
    from mlops_actions.azure.workspace import resolve_workspace
    from mlops_actions.cli import render_submit

    flags = options.workspace_flags(dict(workspace))
    return {
        "workspace": resolve_workspace(**flags),
        "announce": render_submit.announce,
    }


def _azure_registry(obj: Context, workspace: dict) -> dict:
    if obj.backend != "azure":
        return {}
    from mlops_actions.azure.workspace import resolve_workspace

    return {"workspace": resolve_workspace(**options.workspace_flags(dict(workspace)))}


def _show(done: Released) -> None:
    """Where the new champion serves, and how to try it and stop it."""
    from mlops_actions.cli import render

    deployment = done.deployed.deployment
    click.echo(
        f"released {deployment.model} (run {done.run_id}, gate {done.decision}) "
        f"at {deployment.url}"
    )
    from mlops_actions.deploy.smoke import describe

    click.echo(describe(done.deployed.smoke))
    if done.request_file is not None:
        click.echo(
            f"try it: curl -s {deployment.url}/invocations -H 'Content-Type: "
            f"application/json' -d @{render.shown(done.request_file)}"
        )
    click.echo("stop it: mlops deploy stop")
