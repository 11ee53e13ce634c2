"""The Deployment controller (``syncDeployment``), as the rollout code sees it.

A Deployment owns one ReplicaSet per pod template, ``NAME-HASH``; the one
matching the current template is the new one and carries revision
max(others)+1, so writing an old template back makes its ReplicaSet the
newest revision (``kubectl rollout undo``). RollingUpdate scales the new
ReplicaSet up by at most maxSurge beyond ``replicas`` and the old ones down
only as far as maxUnavailable allows, counting available pods; Recreate
scales the old ones to zero first. The status and its conditions follow the
real controller's ``syncRolloutStatus``, quirks included: a Progressing
condition once ProgressDeadlineExceeded stays so until the counts move.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from typing import TYPE_CHECKING, Any

from tests.fakes.kube.kinds import DEPLOYMENTS, REPLICASETS
from tests.fakes.kube.store import Obj, now, owner_reference

if TYPE_CHECKING:
    from tests.fakes.kube.controller import Controllers

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX = "deployment.kubernetes.io/max-replicas"
HASH = "pod-template-hash"
_NOT_COPIED = {
    REVISION,
    HISTORY,
    DESIRED,
    MAX,
    "kubectl.kubernetes.io/last-applied-configuration",
}
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:10])


def _without_hash(template: Obj) -> Obj:
    template = copy.deepcopy(template)
    (template.get("metadata") or {}).get("labels", {}).pop(HASH, None)
    return template


def _resolve(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value or 0)


def fenceposts(deployment: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as numbers of pods."""
    spec = deployment["spec"]
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    replicas = int(spec.get("replicas", 1))
    surge = _resolve(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def revision_of(obj: Obj) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def _condition(kind: str, status: str, reason: str, message: str) -> Obj:
    stamp = now()
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def set_condition(conditions: list[Obj], condition: Obj) -> bool:
    """``SetDeploymentCondition``: no change for the same status and reason."""
    current = next((c for c in conditions if c["type"] == condition["type"]), None)
    if current and (current["status"], current["reason"]) == (
        condition["status"],
        condition["reason"],
    ):
        return False
    if current and current["status"] == condition["status"]:
        condition["lastTransitionTime"] = current["lastTransitionTime"]
    conditions[:] = [c for c in conditions if c["type"] != condition["type"]]
    conditions.append(condition)
    return True


class Rollout:
    """One sync of one Deployment (``syncDeployment``)."""

    def __init__(self, controllers: Controllers, deployment: Obj) -> None:
        self.c = controllers
        self.store = controllers.store
        self.d = copy.deepcopy(deployment)
        self.old_status = copy.deepcopy(deployment.get("status") or {})
        self.conditions = copy.deepcopy(self.old_status.get("conditions") or [])
        self.uid = self.d["metadata"]["uid"]
        self.replicas = int(self.d["spec"].get("replicas", 1))
        self.recreate = (self.d["spec"].get("strategy") or {}).get("type") == "Recreate"
        self.surge, self.unavailable = (0, 0) if self.recreate else fenceposts(self.d)

    def sync(self) -> None:
        owned = self._owned()
        template = self.d["spec"]["template"]
        new = self._matching(owned)
        old = [rs for rs in owned if rs is not new]
        paused = bool(self.d["spec"].get("paused"))
        if new is None and not paused and not (self.recreate and self._old_pods(old)):
            new = self._create(template, old)
        elif new is not None:
            new = self._bump_revision(new, old)
        if not paused:
            self._scale(new, old)
        owned = self._owned()
        self._status(owned, self._matching(owned), paused)

    def _owned(self) -> list[Obj]:
        return [
            rs
            for rs in self.store.items(REPLICASETS, self.d["metadata"]["namespace"])
            if any(
                r.get("uid") == self.uid and r.get("controller")
                for r in rs["metadata"].get("ownerReferences") or []
            )
        ]

    def _matching(self, owned: list[Obj]) -> Obj | None:
        """The ReplicaSet of the current template (``EqualIgnoreHash``)."""
        template = self.d["spec"]["template"]
        found = (
            rs for rs in owned if _without_hash(rs["spec"]["template"]) == template
        )
        return next(found, None)

    def _set(self, kind: str, status: str, reason: str, message: str) -> bool:
        return set_condition(self.conditions, _condition(kind, status, reason, message))

    def _old_pods(self, old: list[Obj]) -> int:
        return sum(len(self.c.pods_of(rs)) for rs in old)

    # -- the new ReplicaSet ----------------------------------------------
    def _create(self, template: Obj, old: list[Obj]) -> Obj:
        meta = self.d["metadata"]
        digest = template_hash(template)
        revision = max((revision_of(rs) for rs in old), default=0) + 1
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {}).setdefault("labels", {})[HASH] = digest
        selector = copy.deepcopy(self.d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH] = digest
        annotations = {
            k: v
            for k, v in (meta.get("annotations") or {}).items()
            if k not in _NOT_COPIED
        }
        annotations.update(
            {
                DESIRED: str(self.replicas),
                MAX: str(self.replicas + self.surge),
                REVISION: str(revision),
            }
        )
        rs = {
            "metadata": {
                "name": f"{meta['name']}-{digest}",
                "namespace": meta["namespace"],
                "labels": copy.deepcopy(rs_template["metadata"]["labels"]),
                "annotations": annotations,
                "ownerReferences": [owner_reference(self.d)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": int(self.d["spec"].get("minReadySeconds") or 0),
                "selector": selector,
                "template": rs_template,
            },
        }
        created = self.store.insert(REPLICASETS, rs)
        name = created["metadata"]["name"]
        message = f'Created new replica set "{name}"'
        if self._set("Progressing", "True", "NewReplicaSetCreated", message):
            self.c.progressed[self.uid] = time.monotonic()
        self._save_deployment(revision)
        return created

    def _bump_revision(self, new: Obj, old: list[Obj]) -> Obj:
        wanted = max((revision_of(rs) for rs in old), default=0) + 1
        current = revision_of(new)
        if current < wanted:
            new = copy.deepcopy(new)
            annotations = new["metadata"].setdefault("annotations", {})
            history = [h for h in annotations.get(HISTORY, "").split(",") if h]
            annotations[HISTORY] = ",".join([*history, str(current)])
            annotations[REVISION] = str(wanted)
            new = self.store.save(REPLICASETS, new)
        if not any(c["type"] == "Progressing" for c in self.conditions):
            message = f'Found new replica set "{new["metadata"]["name"]}"'
            self._set("Progressing", "True", "FoundNewReplicaSet", message)
            self.c.progressed[self.uid] = time.monotonic()
        self._save_deployment(revision_of(new))
        return new

    def _save_deployment(self, revision: int) -> None:
        annotations = self.d["metadata"].setdefault("annotations", {})
        annotations[REVISION] = str(revision)
        self.d = self.store.save(DEPLOYMENTS, self.d)

    # -- scaling ---------------------------------------------------------
    def _scale_rs(self, rs: Obj, replicas: int) -> Obj:
        before = int(rs["spec"].get("replicas", 0))
        if before == replicas:
            return rs
        rs = copy.deepcopy(rs)
        rs["spec"]["replicas"] = replicas
        annotations = rs["metadata"].setdefault("annotations", {})
        annotations[DESIRED] = str(self.replicas)
        annotations[MAX] = str(self.replicas + self.surge)
        rs = self.store.save(REPLICASETS, rs)
        way = "up" if replicas > before else "down"
        self.store.emit(
            self.d,
            "ScalingReplicaSet",
            f"Scaled {way} replica set {rs['metadata']['name']} from {before} "
            f"to {replicas}",
        )
        return rs

    def _scale(self, new: Obj | None, old: list[Obj]) -> None:
        if self.recreate:
            for rs in old:
                self._scale_rs(rs, 0)
            if new is not None and not self._old_pods(old):
                self._scale_rs(new, self.replicas)
            return
        if new is not None:
            have = int(new["spec"].get("replicas", 0))
            if have > self.replicas:
                new = self._scale_rs(new, self.replicas)
            elif have < self.replicas:
                total = sum(int(rs["spec"].get("replicas", 0)) for rs in [*old, new])
                room = self.replicas + self.surge - total
                up = min(room, self.replicas - have)
                if up > 0:
                    new = self._scale_rs(new, have + up)
        self._scale_down_old(new, old)

    def _scale_down_old(self, new: Obj | None, old: list[Obj]) -> None:
        """``reconcileOldReplicaSets``: unhealthy old pods first, then only as
        far as the available pods keep ``replicas - maxUnavailable``."""
        spec = lambda rs: int(rs["spec"].get("replicas", 0))  # noqa: E731
        available = lambda rs: int(  # noqa: E731
            (rs.get("status") or {}).get("availableReplicas") or 0
        )
        if not sum(map(spec, old)):
            return
        everyone = [*old, *([new] if new else [])]
        least = self.replicas - self.unavailable
        new_unavailable = (spec(new) - available(new)) if new else 0
        room = sum(map(spec, everyone)) - least - new_unavailable
        if room <= 0:
            return
        old = list(old)
        for i, rs in enumerate(old):
            unhealthy = spec(rs) - available(rs)
            if room <= 0 or unhealthy <= 0:
                continue
            down = min(room, unhealthy)
            old[i] = self._scale_rs(rs, spec(rs) - down)
            room -= down
        allowed = sum(available(rs) for rs in everyone) - least
        for i, rs in enumerate(old):
            if allowed <= 0:
                break
            down = min(spec(rs), allowed)
            if down > 0:
                old[i] = self._scale_rs(rs, spec(rs) - down)
                allowed -= down

    # -- the status ------------------------------------------------------
    def _status(self, owned: list[Obj], new: Obj | None, paused: bool) -> None:
        def total(key: str, sets: list[Obj]) -> int:
            return sum(int((rs.get("status") or {}).get(key) or 0) for rs in sets)

        available = total("availableReplicas", owned)
        wanted_total = sum(int(rs["spec"].get("replicas", 0)) for rs in owned)
        counts = {
            "replicas": total("replicas", owned),
            "updatedReplicas": total("replicas", [new] if new else []),
            "readyReplicas": total("readyReplicas", owned),
            "availableReplicas": available,
            "unavailableReplicas": max(wanted_total - available, 0),
        }
        status: Obj = {"observedGeneration": self.d["metadata"].get("generation", 1)}
        status.update({k: v for k, v in counts.items() if v})
        least = 0 if self.recreate else min(self.unavailable, self.replicas)
        if available >= self.replicas - least:
            self._set(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        else:
            self._set(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        if not paused:
            self._progress(counts, new)
            if self._complete(counts):
                self._clean_history(owned, new)
        if self.conditions:
            status["conditions"] = self.conditions
        if status != self.d.get("status"):
            self.store.save(DEPLOYMENTS, {**self.d, "status": status})

    def _progress(self, counts: dict[str, int], new: Obj | None) -> None:
        """``syncRolloutStatus``: complete, progressing, or timed out."""
        if new is not None:
            name = f'ReplicaSet "{new["metadata"]["name"]}"'
        else:
            name = f'Deployment "{self.d["metadata"]["name"]}"'
        current = next((c for c in self.conditions if c["type"] == "Progressing"), None)
        if (
            counts["replicas"] == counts["updatedReplicas"]
            and current
            and current["reason"] == "NewReplicaSetAvailable"
        ):
            return
        old = self.old_status
        if self._complete(counts):
            message = f"{name} has successfully progressed."
            self._set("Progressing", "True", "NewReplicaSetAvailable", message)
            return
        before = {k: int(old.get(k) or 0) for k in counts}
        gained = any(
            counts[k] > before[k]
            for k in ("updatedReplicas", "readyReplicas", "availableReplicas")
        )
        outdated = counts["replicas"] - counts["updatedReplicas"]
        if gained or outdated < before["replicas"] - before["updatedReplicas"]:
            condition = _condition(
                "Progressing", "True", "ReplicaSetUpdated", f"{name} is progressing."
            )
            if current and current["status"] == "True":
                condition["lastTransitionTime"] = current["lastTransitionTime"]
            self.conditions[:] = [c for c in self.conditions if c is not current]
            self.conditions.append(condition)
            self.c.progressed[self.uid] = time.monotonic()
            return
        if current is None or current["reason"] == "NewReplicaSetAvailable":
            return
        deadline = float(self.d["spec"].get("progressDeadlineSeconds") or 600)
        since = self.c.progressed.get(self.uid, time.monotonic())
        self.c.progressed.setdefault(self.uid, since)
        if current["reason"] == "ProgressDeadlineExceeded" or (
            time.monotonic() - since > deadline * self.c.deadline_scale
        ):
            message = f"{name} has timed out progressing."
            self._set("Progressing", "False", "ProgressDeadlineExceeded", message)

    def _complete(self, counts: dict[str, int]) -> bool:
        """``DeploymentComplete``: every replica updated and available."""
        keys = ("updatedReplicas", "replicas", "availableReplicas")
        return all(counts[k] == self.replicas for k in keys)

    def _clean_history(self, owned: list[Obj], new: Obj | None) -> None:
        """Old ReplicaSets beyond ``revisionHistoryLimit`` go, oldest first."""
        if new is None:
            return
        limit = int(self.d["spec"].get("revisionHistoryLimit", 10))
        idle = [
            rs
            for rs in owned
            if rs["metadata"]["uid"] != new["metadata"]["uid"]
            and not rs["spec"].get("replicas")
            and not (rs.get("status") or {}).get("replicas")
        ]
        for rs in sorted(idle, key=revision_of)[: max(len(idle) - limit, 0)]:
            meta = rs["metadata"]
            self.store.remove(REPLICASETS, meta["namespace"], meta["name"])
