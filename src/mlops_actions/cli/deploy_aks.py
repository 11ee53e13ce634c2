"""``mlops deploy aks`` and ``mlops deploy rollback``: the scorer image on
Kubernetes, rolled out, smoke-tested through its Service, rolled back on any
failure (see :mod:`mlops_actions.deploy.aks`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from mlops_actions.cli import options
from mlops_actions.cli.aks_options import overrides, settings_options
from mlops_actions.cli.image_source import image_options, served_image
from mlops_actions.cli.options import Context
from mlops_actions.errors import UsageError

IMAGE_FILE = click.Path(path_type=Path, dir_okay=False)
KUBECONFIG = click.Path(path_type=Path, dir_okay=False)


def cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where the Deployment lives: the cluster, the namespace."""
    declared = [
        click.option(
            "--kubeconfig",
            type=KUBECONFIG,
            show_envvar=True,
            help="kubeconfig file [default: $KUBECONFIG, ~/.kube/config (what "
            "azure/aks-set-context writes), else the pod's service account].",
        ),
        click.option("--context", show_envvar=True, help="kubeconfig context."),
        click.option(
            "--cluster",
            show_envvar=True,
            help="An AKS cluster's name, instead of a kubeconfig: its credentials "
            "come from Azure with the toolkit's sign-in (OIDC in a workflow; "
            "subscription and cloud as for Azure ML).",
        ),
        click.option(
            "--cluster-resource-group",
            show_envvar=True,
            help="--cluster's resource group [default: the Azure ML workspace's, "
            "MLOPS_AZURE_RESOURCE_GROUP or mlops.yaml azure.resource_group].",
        ),
        click.option(
            "--namespace",
            show_envvar=True,
            help="Namespace [default: mlops.yaml aks.namespace, else default].",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=1),
            default=600.0,
            show_default=True,
            show_envvar=True,
            help="Seconds each rollout (and a rollback) may take.",
        ),
    ]
    for option in reversed(declared):
        command = option(command)
    return command


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
    kubeconfig: Path | None,
    context: str | None,
    cluster: str | None,
    cluster_resource_group: str | None,
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
    where = Cluster(kubeconfig, context, cluster, cluster_resource_group)
    target = aks_target(
        where, namespace, timeout, commit, strategy=strategy, settings=overrides()
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
    kubeconfig: Path | None,
    context: str | None,
    cluster: str | None,
    cluster_resource_group: str | None,
    namespace: str | None,
    timeout: float,
) -> None:
    """Serve the model deployed before the current one again.

    On AKS this is `kubectl rollout undo`: the previous revision's pod
    template becomes the newest revision, so a second rollback returns to
    where the first started.
    """
    from mlops_actions import gha
    from mlops_actions.deploy import open_deploy_target
    from mlops_actions.settings import state_dir

    if target == "local":
        chosen: Any = open_deploy_target("local", state=state_dir())
    else:
        where = Cluster(kubeconfig, context, cluster, cluster_resource_group)
        chosen = aks_target(where, namespace, timeout)
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


@dataclass(frozen=True)
class Cluster:
    """Where to reach the cluster: a kubeconfig (and context), or an AKS
    cluster by name (and resource group) through Azure."""

    kubeconfig: Path | None = None
    context: str | None = None
    aks: str | None = None
    resource_group: str | None = None

    def client(self) -> Any:
        from mlops_actions.deploy.kube import connect

        if self.aks is None:
            return connect(self.kubeconfig, self.context)
        if self.kubeconfig is not None:
            raise UsageError("--kubeconfig and --cluster both name a cluster: give one")
        from mlops_actions.azure.credential import credential_for
        from mlops_actions.azure.workspace import resolve_workspace
        from mlops_actions.deploy.aks_cluster import cluster_client, resource_manager
        from mlops_actions.settings import state_dir

        # the Azure sign-in's settings (subscription, cloud, tenant, client,
        # auth), read as for a workspace; its name is not used
        azure = resolve_workspace(resource_group=self.resource_group, workspace="-")
        return cluster_client(
            subscription_id=azure.subscription_id,
            resource_group=azure.resource_group,
            cluster=self.aks,
            credential=credential_for(azure),
            resource_manager=resource_manager(azure.cloud, azure.cloud_metadata),
            state=state_dir(),
        )


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
