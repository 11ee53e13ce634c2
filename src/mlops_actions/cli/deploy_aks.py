"""``mlops deploy aks`` and ``mlops deploy rollback``: the scorer image on
Kubernetes, rolled out, smoke-tested through its Service, rolled back on any
failure (see :mod:`mlops_actions.deploy.aks`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from mlops_actions.cli import options
from mlops_actions.cli.aks_options import (
    Cluster,
    cluster,
    cluster_options,
    overrides,
    settings_options,
)
from mlops_actions.cli.image_source import image_options, served_image
from mlops_actions.cli.options import Context
from mlops_actions.errors import UsageError

IMAGE_FILE = click.Path(path_type=Path, dir_okay=False)


@click.command("aks")
@image_options
@click.option(
    "--strategy",
    type=click.Choice(["rolling", "canary", "blue-green"]),
    default="rolling",
    show_default=True,
    show_envvar=True,
    help="rolling: pods replaced one at a time, none taken down first; canary: "
    "a share of the pods first, judged on its metrics over a bake (mlops.yaml "
    "aks.canary), then promoted or removed; blue-green: the idle colour in full, "
    "the Service switched after its smoke test.",
)
@click.option(
    "--smoke",
    "smoke_file",
    cls=options.FlagNamedOption,
    type=IMAGE_FILE,
    show_envvar=True,
    help="smoke.json to send [default: the version's evaluation, else the "
    "model's serving input example, shape only].",
)
@settings_options
@click.option("--tolerance", type=click.FloatRange(min=0), show_envvar=True)
@cluster_options
@options.json_flag("Print the deploy record as JSON.")
@click.pass_obj
def deploy_aks(
    obj: Context,
    *,
    image: str | None,
    image_file: Path,
    model_version: str | None,
    name: str | None,
    strategy: str,
    smoke_file: Path | None,
    tolerance: float | None,
    namespace: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Roll the scorer image out to Kubernetes (AKS) and smoke-test it.

    Applies the Deployment, Service, HPA and PDB (server-side apply), waits
    for the rollout by `kubectl rollout status`'s rules, then sends the smoke
    request through the Service. Any failure rolls back to the revision that
    served before, waits until it is healthy, and exits 3 (a failed rollout)
    or 1 (a wrong answer), with pod statuses and events. Writes deploy.json;
    outputs revision, endpoint and result.
    """
    from mlops_actions import gha
    from mlops_actions.deploy.smoke import describe
    from mlops_actions.deploy.target import deploy_model
    from mlops_actions.errors import MlopsError
    from mlops_actions.registry import open_registry

    served = served_image(image, image_file, name, model_version)
    name, version, chosen = served.name, served.version, served.image
    commit = served.commit or os.environ.get("GITHUB_SHA")
    target = aks_target(
        cluster(), namespace, timeout, commit, strategy=strategy, settings=overrides()
    )
    try:
        done = deploy_model(
            target,
            model=f"models:/{name}/{version}",
            name=name,
            smoke_file=smoke_file,
            registry=open_registry(obj.backend),
            tolerance=tolerance,
            image=chosen,
        )
    except MlopsError as exc:
        # refused before any change (exit 2), or failed and rolled back
        started = not isinstance(exc, UsageError)
        result = "rolled-back" if started else "not-started"
        gha.set_outputs({"result": result, "revision": "", "endpoint": ""})
        gha.append_summary(_summary_failed(exc, name, version, chosen, started))
        raise
    deployment = done.deployment
    outputs = {
        "result": "deployed",
        "revision": str(getattr(deployment, "revision", "") or ""),
        "endpoint": deployment.url,
        "model-version": deployment.version or "",
    }
    gha.set_outputs(outputs)
    gha.append_summary(
        f"### Deployed {name} version {version} to AKS\n\n"
        f"| | |\n|---|---|\n| image | `{chosen}` |\n"
        f"| deployment | {deployment.handle} |\n"
        f"| strategy | {strategy} |\n| smoke test | {describe(done.smoke)} |\n"
    )
    if as_json:
        click.echo(json.dumps(done.to_json(), indent=2))
        return
    click.echo(
        f"deployed {name} version {version} ({deployment.handle}) at {deployment.url}"
    )
    click.echo(describe(done.smoke))


@click.command("rollback")
@click.option(
    "--target",
    type=click.Choice(["aks", "local"]),
    default="aks",
    show_default=True,
    show_envvar=True,
)
@cluster_options
@click.pass_obj
def rollback(
    obj: Context,
    target: str,
    namespace: str | None,
    timeout: float,
) -> None:
    """Serve the model deployed before the current one again.

    On AKS this is `kubectl rollout undo` to the last revision that passed
    (it becomes the newest, so a second rollback returns to where the first
    started), or, for a blue-green app, the Service back to the other colour.
    """
    from mlops_actions import gha
    from mlops_actions.deploy import open_deploy_target
    from mlops_actions.settings import state_dir

    if target == "local":
        chosen: Any = open_deploy_target("local", state=state_dir())
    else:
        chosen = aks_target(cluster(), namespace, timeout)
    done = chosen.rollback()
    deployment = done.deployment
    gha.set_outputs(
        {
            "result": "rolled-back",
            "revision": str(getattr(deployment, "revision", "") or ""),
            "endpoint": deployment.url,
        }
    )
    click.echo(f"rolled back to {deployment.model} ({deployment.handle})")


def aks_target(
    where: Cluster,
    namespace: str | None,
    timeout: float,
    commit: str | None = None,
    *,
    strategy: str = "rolling",
    settings: dict[str, Any] | None = None,
) -> Any:
    """The AKS deploy target: mlops.yaml's ``aks:`` with the flags over it."""
    from mlops_actions.deploy.aks import AksTarget
    from mlops_actions.deploy.kube import Kube
    from mlops_actions.deploy.manifests import AksSettings
    from mlops_actions.project import load_project
    from mlops_actions.settings import state_dir

    given = {**(settings or {}), "namespace": namespace}
    chosen = AksSettings.from_config(load_project().aks, given)
    return AksTarget(
        state_dir(),
        Kube(where.client()),
        chosen,
        strategy=strategy,
        commit=commit or os.environ.get("GITHUB_SHA"),
        timeout=timeout,
        say=lambda line: click.echo(line, err=True),
    )


def _summary_failed(
    exc: Exception, name: str, version: str, image: str, started: bool
) -> str:
    detail = getattr(exc, "detail", None)
    what = "failed: rolled back" if started else "not started"
    lines = [
        f"### Rollout of {name} version {version} {what}",
        "",
        f"`{image}`: {getattr(exc, 'message', str(exc))}",
    ]
    if detail:
        lines += ["", "```text", str(detail), "```"]
    return "\n".join(lines) + "\n"
