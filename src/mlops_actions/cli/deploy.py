"""``mlops deploy``: put a model behind a scorer and prove it answers.

``deploy local`` and ``deploy stop`` are the commands (``deploy aks`` joins with
the Azure backend). The spellings from before the group, ``mlops deploy
--name X`` and ``mlops deploy --stop``, still work: the group's own options,
hidden from ``--help``, do what they did.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mlops_actions.cli import options
from mlops_actions.cli.options import Context
from mlops_actions.errors import UsageError

SMOKE = click.Path(path_type=Path, dir_okay=False)


def _serving_options(
    *, hidden: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options of ``deploy local``; hidden, the group's for the old spelling."""
    declared = [
        click.option(
            "--model",
            show_envvar=True,
            hidden=hidden,
            help="An MLflow model folder or models:/ URI [default: NAME's champion].",
        ),
        click.option(
            "--name",
            show_envvar=True,
            hidden=hidden,
            help="Registered model whose champion to deploy.",
        ),
        click.option(
            "--smoke",
            "smoke_file",
            cls=options.FlagNamedOption,
            type=SMOKE,
            show_envvar=True,
            hidden=hidden,
            help="smoke.json to send [default: the version's evaluation, else "
            "the model's serving input example, shape only].",
        ),
        click.option(
            "--tolerance",
            type=click.FloatRange(min=0),
            show_envvar=True,
            hidden=hidden,
            help="Allowed absolute difference of a number in the answer "
            "[default: smoke.json's, else 1e-06].",
        ),
        options.host(hidden=hidden),
        options.port(hidden=hidden),
        options.json_flag("Print the deploy record as JSON.", hidden=hidden),
    ]

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(declared):
            command = option(command)
        return command

    return apply


@click.group(invoke_without_command=True)
@click.option(
    "--target",
    type=click.Choice(["local"]),
    default="local",
    show_envvar=True,
    hidden=True,
)
@click.option("--stop", "stop_flag", is_flag=True, hidden=True)
@_serving_options(hidden=True)
@click.pass_context
def deploy(ctx: click.Context, target: str, stop_flag: bool, **serving: Any) -> None:
    """Deploy a model and smoke-test it, or stop the deployment.

    The old spellings keep working: `mlops deploy --name X` is `mlops deploy
    local --name X`, and `mlops deploy --stop` is `mlops deploy stop`.
    """
    if ctx.invoked_subcommand is not None:
        _refuse_options_before(ctx)
        return
    if stop_flag:
        _stop()
    else:
        _deploy_local(ctx.obj, **serving)


@deploy.command("local")
@_serving_options()
@click.pass_obj
def deploy_local(obj: Context, **serving: Any) -> None:
    """Start the scorer for a model, wait until it is ready, smoke-test it.

    The smoke test sends the evaluate step's recorded request and checks every
    answer against the predictions the evaluated model gave (numbers within
    --tolerance, the rest exactly); without recorded answers it sends the
    model's serving input example and checks only the number of answers. On
    any failure the scorer is stopped (exit 1 for a mismatch). The scorer
    keeps running after this command: `mlops deploy stop` ends it.
    """
    _deploy_local(obj, **serving)


@deploy.command("stop")
def stop() -> None:
    """Stop the running local deployment (only the scorer it started)."""
    _stop()


def _register_cluster_commands() -> None:
    from mlops_actions.cli.deploy_aks import deploy_aks, rollback
    from mlops_actions.cli.deploy_render import render

    deploy.add_command(deploy_aks)
    deploy.add_command(rollback)
    deploy.add_command(render)


_register_cluster_commands()


def _refuse_options_before(ctx: click.Context) -> None:
    """``mlops deploy --name X local`` would drop ``--name`` without a word."""
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name or "")
        if source == click.core.ParameterSource.COMMANDLINE:
            raise UsageError(
                f"{param.opts[0]} before {ctx.invoked_subcommand}: put the options "
                f"after the subcommand: mlops deploy {ctx.invoked_subcommand} "
                f"{param.opts[0]} ..."
            )


def _deploy_local(
    obj: Context,
    *,
    model: str | None,
    name: str | None,
    smoke_file: Path | None,
    tolerance: float | None,
    host: str,
    port: int,
    as_json: bool,
) -> None:
    from mlops_actions import gha
    from mlops_actions.deploy import open_deploy_target
    from mlops_actions.deploy.smoke import describe
    from mlops_actions.deploy.target import deploy_model
    from mlops_actions.settings import state_dir

    registry = None
    if model is None or model.startswith("models:/"):
        from mlops_actions.registry import open_registry

        registry = open_registry(obj.backend)
    target = open_deploy_target("local", state=state_dir(), host=host, port=port)
    done = deploy_model(
        target,
        model=model,
        name=name,
        smoke_file=smoke_file,
        registry=registry,
        tolerance=tolerance,
    )
    deployment = done.deployment
    gha.set_outputs({"url": deployment.url, "model-version": deployment.version or ""})
    if as_json:
        click.echo(json.dumps(done.to_json(), indent=2))
        return
    what = f"{name} version {deployment.version}" if done.name else deployment.model
    click.echo(f"deployed {what} at {deployment.url} ({deployment.handle})")
    click.echo(describe(done.smoke))


def _stop() -> None:
    from mlops_actions.deploy import open_deploy_target
    from mlops_actions.settings import state_dir

    stopped = open_deploy_target("local", state=state_dir()).stop()
    click.echo(
        f"stopped {stopped.url} ({stopped.handle})"
        if stopped
        else "no local deployment is running"
    )
