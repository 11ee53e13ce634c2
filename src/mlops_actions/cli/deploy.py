"""``mlops deploy``: put a model behind a scorer and prove it answers."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click


@click.command()
@click.option(
    "--target",
    type=click.Choice(["local"]),
    default="local",
    show_default=True,
    show_envvar=True,
    help="Where to deploy (aks arrives with the Azure backend).",
)
@click.option(
    "--model",
    show_envvar=True,
    help="An MLflow model folder or models:/ URI [default: NAME's champion].",
)
@click.option(
    "--name", show_envvar=True, help="Registered model whose champion to deploy."
)
@click.option(
    "--smoke",
    "smoke_file",
    type=click.Path(path_type=Path, dir_okay=False),
    show_envvar=True,
    help="smoke.json to send [default: the version's evaluation].",
)
@click.option("--host", default="127.0.0.1", show_default=True, show_envvar=True)
@click.option("--port", type=int, default=8080, show_default=True, show_envvar=True)
@click.option("--stop", is_flag=True, help="Stop the running local deployment.")
@click.option("--json", "as_json", is_flag=True, help="Print the deployment as JSON.")
@click.pass_obj
def deploy(
    obj: Any,
    target: str,
    model: str | None,
    name: str | None,
    smoke_file: Path | None,
    host: str,
    port: int,
    stop: bool,
    as_json: bool,
) -> None:
    """Start the scorer for a model, wait until it is ready, smoke-test it.

    The smoke test sends the evaluate step's recorded request and checks every
    answer against the predictions the evaluated model gave; on a mismatch the
    scorer is stopped and the exit code is 1. The scorer keeps running after
    this command: `mlops deploy --stop` ends it.
    """
    from mlops_actions import gha
    from mlops_actions.deploy import local
    from mlops_actions.deploy.target import deploy_local
    from mlops_actions.settings import state_dir

    if stop:
        stopped = local.stop(state_dir())
        click.echo(
            f"stopped {stopped.url} (pid {stopped.pid})"
            if stopped
            else "no local deployment is running"
        )
        return
    registry = None
    if model is None:
        from mlops_actions.registry import open_registry

        registry = open_registry(obj.backend)
    done = deploy_local(
        model=model,
        name=name,
        smoke_file=smoke_file,
        registry=registry,
        host=host,
        port=port,
        state=state_dir(),
    )
    gha.set_outputs(
        {"url": done.deployment.url, "model-version": done.deployment.version or ""}
    )
    if as_json:
        from mlops_actions.records.deploy import DeployRecord

        fields = asdict(done.deployment)
        fields["model_version"] = fields.pop("version")
        smoke = asdict(done.smoke) if done.smoke else None
        record = DeployRecord.model_validate(
            {"target": target, **fields, "smoke": smoke}
        )
        click.echo(json.dumps(record.to_json(), indent=2))
        return
    what = (
        f"{name} version {done.deployment.version}"
        if done.name
        else done.deployment.model
    )
    click.echo(f"deployed {what} at {done.deployment.url} (pid {done.deployment.pid})")
    click.echo(done.smoke.summary() if done.smoke else "smoke test: no request known")
