"""The ``aks:`` settings a Kubernetes command takes as flags over mlops.yaml:
namespace, replicas, autoscaling bounds, resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

#: ctx.meta key holding the flags' values (None where not given)
KEY = "mlops_actions.aks_overrides"


def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    assert param.name is not None
    ctx.meta.setdefault(KEY, {})[param.name] = value
    return value


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
            callback=_keep,
            help=text,
        )(command)
    return command


def overrides(ctx: click.Context | None = None) -> dict[str, Any]:
    """The flags given, by setting name (None where not given)."""
    ctx = ctx or click.get_current_context()
    return dict(ctx.meta.get(KEY) or {})
