"""The clusters a pipeline names, checked (and with --create-compute, created)
before anything is submitted.

Azure ML accepts a job for a missing cluster and fails it minutes later; a
cluster that never scales to zero bills around the clock. Both are cheaper to
say before submission. Clusters are created from the project config
(``azure.compute.<name>`` in ``mlops.yaml``) with min 0 nodes, whatever the
config asks for the minimum: the toolkit never creates an idle bill.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mlops_actions.azure.client import azure_error
from mlops_actions.errors import BackendError, UsageError

#: Targets that are no cluster of the workspace: nothing to check.
SERVERLESS = ("serverless", "local")
#: Seconds a cluster creation may take before we stop waiting for it.
CREATE_TIMEOUT_S = 600.0
TIERS = ("dedicated", "low_priority")


def compute_name(target: str) -> str | None:
    """The cluster name of a ``compute:`` value (``azureml:cpu-cluster``, an
    ARM id ending in ``/computes/NAME``, ``cpu-cluster``); None for
    serverless."""
    name = target.strip().removeprefix("azureml:").rstrip("/").rsplit("/", 1)[-1]
    return None if not name or name.lower() in SERVERLESS else name


def pipeline_computes(pipeline_file: Path) -> list[str]:
    """Cluster names a pipeline file uses: ``settings.default_compute`` and
    every job's ``compute``, nested pipelines included, in file order."""
    from mlops_actions.pipeline.spec import load_pipeline

    found: list[str] = []

    def walk(pipeline: Any) -> None:
        for target in [
            pipeline.default_compute,
            *(j.compute for j in pipeline.jobs.values()),
        ]:
            name = compute_name(str(target)) if target else None
            if name and name not in found:
                found.append(name)
        for job in pipeline.jobs.values():
            if job.pipeline is not None:
                walk(job.pipeline)

    walk(load_pipeline(pipeline_file))
    return found


def check_computes(
    client: Any,
    names: Iterable[str],
    project: Mapping[str, Any] | None = None,
    *,
    create: bool = False,
    warn: Callable[[str], None] | None = None,
    timeout_s: float = CREATE_TIMEOUT_S,
) -> list[str]:
    """Problems with the clusters ``names`` (``compute:`` values); empty: all
    there. ``project`` maps cluster names to their ``azure.compute`` entry
    (a mapping or the project model: size, max_nodes, idle_seconds, tier).

    A missing cluster is a problem naming it and ``--create-compute``; with
    ``create`` it is created from its entry instead (UsageError when it has
    none), waiting at most ``timeout_s``. A cluster that keeps nodes when idle
    (min nodes above 0) is passed to ``warn``: it works, and it costs.
    """
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    problems: list[str] = []
    for target in dict.fromkeys(names):
        name = compute_name(target)
        if name is None:
            continue
        try:
            found = client.compute.get(name)
        except ResourceNotFoundError:
            if create:
                _create(client, name, (project or {}).get(name), timeout_s)
            else:
                problems.append(
                    f"compute {name} does not exist in the workspace: create it, "
                    "or pass --create-compute to create it from mlops.yaml "
                    f"azure.compute.{name}"
                )
            continue
        except HttpResponseError as exc:
            raise azure_error(exc, f"read compute {name}") from None
        idle_nodes = getattr(found, "min_instances", None) or 0
        if idle_nodes > 0 and warn is not None:
            warn(
                f"compute {name} keeps {idle_nodes} node(s) when idle and bills "
                "for them: set its minimum nodes to 0 to scale to zero"
            )
    return problems


def _field(entry: Any, key: str, default: Any = None) -> Any:
    if isinstance(entry, Mapping):
        return entry.get(key, default)
    return getattr(entry, key, default)


def cluster_from(name: str, entry: Any) -> Any:
    """The ``AmlCompute`` ``--create-compute`` creates for ``name``: size,
    max nodes, idle seconds and tier from its config entry, min 0 nodes."""
    from azure.ai.ml.entities import AmlCompute

    key = f"mlops.yaml azure.compute.{name}"
    if entry is None:
        raise UsageError(
            f"compute {name} does not exist and {key} is not set: add it "
            "(size, max_nodes, idle_seconds, tier) to create the cluster"
        )
    size, max_nodes = _field(entry, "size"), _field(entry, "max_nodes")
    if not size or not max_nodes:
        raise UsageError(f"{key}: set size and max_nodes to create the cluster")
    tier = str(_field(entry, "tier", "dedicated") or "dedicated")
    if tier not in TIERS:
        raise UsageError(f"{key}.tier: {tier!r}: use dedicated or low_priority")
    return AmlCompute(
        name=name,
        size=str(size),
        min_instances=0,
        max_instances=int(max_nodes),
        idle_time_before_scale_down=int(_field(entry, "idle_seconds", 120) or 0),
        tier=tier,
    )


def _create(client: Any, name: str, entry: Any, timeout_s: float) -> None:
    from azure.core.exceptions import HttpResponseError

    cluster = cluster_from(name, entry)
    started = time.monotonic()
    try:
        poller = client.compute.begin_create_or_update(cluster)
        poller.result(timeout=max(1.0, timeout_s - (time.monotonic() - started)))
    except HttpResponseError as exc:
        raise azure_error(exc, f"create compute {name}") from None
    if not poller.done():
        raise BackendError(
            f"compute {name} was still being created after {timeout_s:.0f} s: "
            "rerun once it is ready (see the workspace's Compute page)"
        )
