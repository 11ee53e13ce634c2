"""When a Deployment's rollout is done, still going, or failed: pure rules.

These are ``kubectl rollout status``'s rules, in its order: nothing counts
until the controller has seen the latest spec (``generation`` at most
``status.observedGeneration``); then a ``Progressing`` condition with reason
``ProgressDeadlineExceeded`` fails the rollout; then it waits while fewer
replicas than asked for run the new template, while old replicas have not
terminated, and while updated replicas are not yet available.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping, Sequence
from typing import Any

REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class Progress:
    """Where a rollout stands: done, failed, or neither (still waiting)."""

    done: bool
    failed: bool
    #: kubectl's words for it
    message: str


def progress(
    deployment: Mapping[str, Any], *, stale: Mapping[str, Any] | None = None
) -> Progress:
    """Where the rollout stands. ``stale`` is a ``Progressing`` condition
    from before the last write (a rollback's): the controller keeps a
    ProgressDeadlineExceeded until a replica count moves, so that one does
    not fail the rollout that write started."""
    name = deployment.get("metadata", {}).get("name", "")
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return Progress(False, False, "waiting for the spec update to be observed")
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "Progressing"
            and condition.get("reason") == "ProgressDeadlineExceeded"
            and condition != stale
        ):
            return Progress(
                False, True, f"deployment {name} exceeded its progress deadline"
            )
    wanted = spec.get("replicas")
    wanted = 1 if wanted is None else int(wanted)
    updated = int(status.get("updatedReplicas") or 0)
    replicas = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < wanted:
        return Progress(
            False, False, f"{updated} of {wanted} new replicas have been updated"
        )
    if replicas > updated:
        old = replicas - updated
        return Progress(False, False, f"{old} old replicas are pending termination")
    if available < updated:
        return Progress(
            False, False, f"{available} of {updated} updated replicas are available"
        )
    return Progress(True, False, f"deployment {name} successfully rolled out")


def revision(obj: Mapping[str, Any] | None) -> int | None:
    """The revision a Deployment or ReplicaSet carries, if any."""
    if not obj:
        return None
    value = (obj.get("metadata", {}).get("annotations") or {}).get(REVISION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def pod_problems(pods: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per pod: its phase, and why a container is not running."""
    lines = []
    for pod in pods:
        name = pod.get("metadata", {}).get("name", "")
        status = pod.get("status") or {}
        why = []
        for container in status.get("containerStatuses") or []:
            state = container.get("state") or {}
            for kind in ("waiting", "terminated"):
                if kind in state:
                    said = state[kind] or {}
                    reason = said.get("reason") or kind
                    message = said.get("message")
                    why.append(f"{reason}: {message}" if message else reason)
            if container.get("restartCount"):
                why.append(f"{container['restartCount']} restarts")
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        shown = f"{status.get('phase', 'Unknown')}, {'ready' if ready else 'not ready'}"
        lines.append(f"pod {name}: {shown}" + (f" ({'; '.join(why)})" if why else ""))
    return lines


def progressing(deployment: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The Deployment's ``Progressing`` condition, if any."""
    for condition in ((deployment or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Progressing":
            return dict(condition)
    return None
