"""What a Kubernetes command is told beside its own flags: where the cluster
is (a kubeconfig, or an AKS cluster by name), and the ``aks:`` settings it
takes as flags over mlops.yaml (replicas, autoscaling bounds, resources).

The flags are kept in the context (``expose_value=False``), so each command
takes them in one call: :func:`cluster`, :func:`overrides`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from mlops_actions.errors import UsageError

#: ctx.meta keys holding the flags' values (None where not given)
SETTINGS = "mlops_actions.aks_overrides"
WHERE = "mlops_actions.cluster"
KUBECONFIG = click.Path(path_type=Path, dir_okay=False)


def _kept(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """An option callback keeping its value in ``ctx.meta[key]``."""

    def keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        assert param.name is not None
        ctx.meta.setdefault(key, {})[param.name] = value
        return value

    return keep


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Flags over mlops.yaml's ``aks:``; read them with :func:`overrides`."""
    declared = [
        ("--replicas", click.IntRange(min=1), "Pods [default: aks.replicas, else 2]."),
        (
            "--min-replicas",
            click.IntRange(min=1),
            "HPA lower bound [default: aks.min_replicas, else --replicas].",
        ),
        (
            "--max-replicas",
            click.IntRange(min=1),
            "HPA upper bound; above --min-replicas renders an HPA [default: "
            "aks.max_replicas, else --replicas].",
        ),
        ("--cpu", str, "CPU request, e.g. 500m [default: aks.cpu, else 500m]."),
        ("--memory", str, "Memory request and limit, e.g. 1Gi [default: aks.memory]."),
    ]
    for flag, kind, text in reversed(declared):
        command = click.option(
            flag,
            type=kind,
            show_envvar=True,
            expose_value=False,
            callback=_kept(SETTINGS),
            help=text,
        )(command)
    return command


def overrides(ctx: click.Context | None = None) -> dict[str, Any]:
    """The flags given, by setting name (None where not given)."""
    ctx = ctx or click.get_current_context()
    return dict(ctx.meta.get(SETTINGS) or {})


def cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where the Deployment lives: the cluster (read with :func:`cluster`),
    the namespace, and how long a rollout may take."""
    where: dict[str, Any] = dict(
        show_envvar=True, expose_value=False, callback=_kept(WHERE)
    )
    declared = [
        click.option(
            "--kubeconfig",
            type=KUBECONFIG,
            help="kubeconfig file [default: $KUBECONFIG, ~/.kube/config (what "
            "azure/aks-set-context writes), else the pod's service account].",
            **where,
        ),
        click.option("--context", help="kubeconfig context.", **where),
        click.option(
            "--cluster",
            help="An AKS cluster's name, instead of a kubeconfig: its credentials "
            "come from Azure with the toolkit's sign-in (OIDC in a workflow; "
            "subscription and cloud as for Azure ML).",
            **where,
        ),
        click.option(
            "--cluster-resource-group",
            help="--cluster's resource group [default: the Azure ML workspace's, "
            "MLOPS_AZURE_RESOURCE_GROUP or mlops.yaml azure.resource_group].",
            **where,
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


def cluster() -> Cluster:
    """The cluster :func:`cluster_options` named."""
    given = click.get_current_context().meta.get(WHERE) or {}
    return Cluster(
        given.get("kubeconfig"),
        given.get("context"),
        given.get("cluster"),
        given.get("cluster_resource_group"),
    )


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
