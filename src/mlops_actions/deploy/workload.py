"""One Deployment of the scorer, as the rollout strategies handle it.

Waiting is ``kubectl rollout status`` (:mod:`.rollout`) within a deadline;
undo is ``kubectl rollout undo``: an older ReplicaSet's pod template is
written back into the Deployment, so it becomes the newest revision and a
second undo returns to where the first started.
"""

from __future__ import annotations

import time
from datetime import datetime
from collections.abc import Callable, Mapping
from typing import Any

from mlops_actions.deploy.kube import Kube, events_of
from mlops_actions.deploy.rollout import (
    pod_problems,
    progress,
    progressing,
    revision,
)
from mlops_actions.errors import BackendError

POD_TEMPLATE_HASH = "pod-template-hash"
#: on a ReplicaSet whose revision passed its rollout and smoke test
SERVED = "mlops-actions/served"


class RolloutFailed(BackendError):
    """A revision did not become healthy in time (exit 3)."""


class Workload:
    """The Deployment ``name`` in ``namespace``."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        *,
        timeout: float,
        poll: float,
        say: Callable[[str], None],
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.timeout = timeout
        self.poll = poll
        self.say = say

    def get(self) -> dict[str, Any] | None:
        return self.kube.get("Deployment", self.namespace, self.name)

    def replicas(self, live: Mapping[str, Any] | None = None) -> int:
        live = self.get() if live is None else live
        return int(((live or {}).get("spec") or {}).get("replicas") or 0)

    def await_rollout(
        self, what: str = "the rollout", *, stale: Mapping[str, Any] | None = None
    ) -> None:
        """Return once the rollout is done; raise RolloutFailed naming why not.
        ``stale``: the Progressing condition from before an undo (see
        :func:`.rollout.progress`)."""
        deadline = time.monotonic() + self.timeout
        said = ""
        while True:
            live = self.get()
            if live is None:
                raise RolloutFailed(f"deployment {self.name} disappeared")
            state = progress(live, stale=stale)
            if state.done:
                self.say(state.message)
                return
            if state.message != said:
                self.say(f"waiting: {state.message}")
                said = state.message
            if state.failed or time.monotonic() >= deadline:
                why = (
                    state.message
                    if state.failed
                    else (
                        f"deployment {self.name} did not finish rolling out "
                        f"within {self.timeout:.0f}s ({state.message})"
                    )
                )
                raise RolloutFailed(f"{what} failed: {why}", detail=self.evidence())
            time.sleep(self.poll)

    def restore(self, before: Mapping[str, Any] | None) -> None:
        """Back to ``before`` (the Deployment as it was), or to nothing."""
        if before is None:
            self.say(f"removing deployment {self.name}: nothing served before")
            self.delete()
            return
        live = self.get()
        wanted = revision(before)
        if live is None or wanted is None:
            return
        stale = progressing(live)
        if revision(live) != wanted:
            old = [rs for rs in self.replica_sets(live) if revision(rs) == wanted]
            old = old or self._same_template(live, before)
            if old:
                self.say(f"rolling back to revision {wanted}")
                self.undo_to(old[0], replicas=self.replicas(before))
        replicas = self.replicas(before)
        self.scale(replicas)
        if replicas:
            self.await_rollout("the rollback", stale=stale)

    def undo_to(self, replica_set: Mapping[str, Any], *, replicas: int) -> None:
        template = dict(replica_set["spec"]["template"])
        meta = dict(template.get("metadata") or {})
        labels = dict(meta.get("labels") or {})
        labels.pop(POD_TEMPLATE_HASH, None)
        template["metadata"] = {**meta, "labels": labels}
        values = {"/spec/template": template, "/spec/replicas": replicas}
        self.kube.replace_fields("Deployment", self.namespace, self.name, values)

    def previous(self) -> dict[str, Any] | None:
        """The ReplicaSet to roll back to: the newest older revision that
        passed its rollout and smoke test, not one that was itself rolled
        back (else the newest older one, for a Deployment made elsewhere)."""
        live = self.get()
        current = revision(live) or 0
        older = [rs for rs in self.replica_sets(live) if (revision(rs) or 0) < current]
        served = [rs for rs in older if SERVED in _annotations(rs)]
        chosen = served or older
        return max(chosen, key=lambda rs: revision(rs) or 0) if chosen else None

    def mark_served(self) -> None:
        """Mark the current revision's ReplicaSet as one that passed, so a
        later rollback returns to it (and never to a revision that failed)."""
        live = self.get()
        current = revision(live)
        stamp = {"metadata": {"annotations": {SERVED: "true"}}}
        for rs in self.replica_sets(live):
            if revision(rs) == current and SERVED not in _annotations(rs):
                name = rs["metadata"]["name"]
                self.kube.patch("ReplicaSet", self.namespace, name, stamp)

    def started(self, live: Mapping[str, Any]) -> float | None:
        """When the current revision's ReplicaSet was made (epoch seconds)."""
        current = revision(live)
        for rs in self.replica_sets(live):
            made = (rs.get("metadata") or {}).get("creationTimestamp")
            if revision(rs) == current and made:
                return datetime.fromisoformat(made.replace("Z", "+00:00")).timestamp()
        return None

    def scale(self, replicas: int) -> None:
        patch = {"spec": {"replicas": replicas}}
        self.kube.patch("Deployment", self.namespace, self.name, patch)

    def delete(self) -> bool:
        """Delete the Deployment and wait until it is gone: foreground
        deletion keeps it (its pods serving) until its pods are deleted.
        False when it was not there."""
        if not self.kube.delete("Deployment", self.namespace, self.name):
            return False
        deadline = time.monotonic() + self.timeout
        while self.get() is not None:
            if time.monotonic() >= deadline:
                raise RolloutFailed(
                    f"deployment {self.name} was still being deleted after "
                    f"{self.timeout:.0f}s",
                    detail=self.evidence(),
                )
            time.sleep(self.poll)
        return True

    def replica_sets(self, live: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """The ReplicaSets this Deployment owns."""
        if live is None:
            return []
        selector = (live.get("spec") or {}).get("selector", {}).get("matchLabels")
        owned = self.kube.list("ReplicaSet", self.namespace, labels=selector)
        uid = live.get("metadata", {}).get("uid")
        return [
            rs
            for rs in owned
            if any(
                o.get("uid") == uid
                for o in rs.get("metadata", {}).get("ownerReferences") or []
            )
        ]

    def pods(self, *, ready: bool = False) -> list[dict[str, Any]]:
        """This Deployment's pods (the ready ones only, when asked)."""
        live = self.get()
        if live is None:
            return []
        selector = (live.get("spec") or {}).get("selector", {}).get("matchLabels")
        pods = self.kube.list("Pod", self.namespace, labels=selector or None)
        if ready:
            pods = [p for p in pods if is_ready(p)]
        return pods

    def evidence(self) -> str:
        """Pod statuses and recent events of the Deployment and its pods."""
        live = self.get()
        pods = self.pods()
        names = [self.name] + [p["metadata"]["name"] for p in pods]
        names += [rs["metadata"]["name"] for rs in self.replica_sets(live)]
        lines = pod_problems(pods) + events_of(self.kube, self.namespace, names)
        return "\n".join(lines)

    def _same_template(
        self, live: Mapping[str, Any], before: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """The ReplicaSet whose template is ``before``'s (its hash label aside)."""
        want = before.get("spec", {}).get("template")
        found = []
        for rs in self.replica_sets(live):
            template = dict(rs["spec"]["template"])
            labels = dict(template.get("metadata", {}).get("labels") or {})
            labels.pop(POD_TEMPLATE_HASH, None)
            template["metadata"] = {**template.get("metadata", {}), "labels": labels}
            if template == want:
                found.append(rs)
        return found


def is_ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
    )


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("annotations") or {}
