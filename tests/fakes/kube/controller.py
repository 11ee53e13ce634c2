"""The controllers' loop: the garbage collector, the ReplicaSet controller,
the kubelet (:mod:`.pods`) and the Deployment controller (:mod:`.deployments`),
one pass per tick, in that order, under the fake's lock.

The garbage collector deletes objects whose owners are all gone (Background
propagation) and, for an owner deleted with Foreground propagation, its
dependents first and then the owner. A ReplicaSet keeps ``spec.replicas``
pods, deleting the least useful first (not ready before ready, newest first).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.fakes.kube.deployments import Rollout
from tests.fakes.kube.kinds import DEPLOYMENTS, PODS, REPLICASETS, RESOURCES
from tests.fakes.kube.pods import NODE, Kubelet, is_ready
from tests.fakes.kube.store import Obj, Store, owner_reference, suffix


class Controllers:
    def __init__(self, store: Store, kubelet: Kubelet, deadline_scale: float) -> None:
        self.store = store
        self.kubelet = kubelet
        self.deadline_scale = deadline_scale
        #: deployment uid -> when it last progressed (monotonic)
        self.progressed: dict[str, float] = {}

    def tick(self) -> None:
        self.collect_garbage()
        self.kubelet.run()
        for rs in list(self.store.items(REPLICASETS)):
            self.sync_replica_set(rs)
        for deployment in list(self.store.items(DEPLOYMENTS)):
            if not deployment["metadata"].get("deletionTimestamp"):
                Rollout(self, deployment).sync()

    # -- the garbage collector -------------------------------------------
    def collect_garbage(self) -> None:
        uids = {
            obj["metadata"]["uid"]
            for r in RESOURCES
            for obj in self.store.items(r)
            if not _foreground(obj)
        }
        for resource in RESOURCES:
            for obj in list(self.store.items(resource)):
                meta = obj["metadata"]
                refs = meta.get("ownerReferences") or []
                if _foreground(obj):
                    self._delete_tree(meta["uid"])
                    self._remove(resource, obj)
                elif refs and not any(r.get("uid") in uids for r in refs):
                    self._remove(resource, obj)

    def _delete_tree(self, uid: str) -> None:
        for resource in RESOURCES:
            for obj in list(self.store.items(resource)):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    self._delete_tree(obj["metadata"]["uid"])
                    self._remove(resource, obj)

    def _remove(self, resource: Any, obj: Obj) -> None:
        meta = obj["metadata"]
        self.store.remove(resource, meta.get("namespace", ""), meta["name"])
        self.kubelet.forget(meta["uid"])

    # -- the ReplicaSet controller ---------------------------------------
    def pods_of(self, rs: Obj) -> list[Obj]:
        uid = rs["metadata"]["uid"]
        return [
            pod
            for pod in self.store.items(PODS, rs["metadata"]["namespace"])
            if not pod["metadata"].get("deletionTimestamp")
            and any(
                r.get("uid") == uid and r.get("controller")
                for r in pod["metadata"].get("ownerReferences") or []
            )
        ]

    def sync_replica_set(self, rs: Obj) -> None:
        meta, spec = rs["metadata"], rs["spec"]
        pods = self.pods_of(rs)
        wanted = int(spec.get("replicas", 1))
        if not meta.get("deletionTimestamp"):
            for _ in range(wanted - len(pods)):
                pods.append(self._create_pod(rs))
            if len(pods) > wanted:
                # the real controller deletes the least useful first:
                # not ready before ready, the newest before the oldest
                ranked = sorted(
                    enumerate(pods), key=lambda ip: (is_ready(ip[1]), -ip[0])
                )
                for _, pod in ranked[: len(pods) - wanted]:
                    self._remove(PODS, pod)
                    self.store.emit(
                        rs,
                        "SuccessfulDelete",
                        f"Deleted pod: {pod['metadata']['name']}",
                        component="replicaset-controller",
                    )
                pods = self.pods_of(rs)
        min_ready = float(spec.get("minReadySeconds") or 0) * self.deadline_scale
        template = (spec.get("template") or {}).get("metadata") or {}
        labels = template.get("labels") or {}
        counts = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(
                all(
                    p["metadata"].get("labels", {}).get(k) == v
                    for k, v in labels.items()
                )
                for p in pods
            ),
            "readyReplicas": sum(is_ready(p) for p in pods),
            "availableReplicas": sum(
                is_ready(p) and self.kubelet.available(p, min_ready) for p in pods
            ),
        }
        status = {k: v for k, v in counts.items() if v or k == "replicas"}
        status["observedGeneration"] = meta.get("generation", 1)
        if status != rs.get("status"):
            self.store.save(REPLICASETS, {**rs, "status": status})

    def _create_pod(self, rs: Obj) -> Obj:
        meta, template = rs["metadata"], rs["spec"]["template"]
        spec = copy.deepcopy(template.get("spec") or {})
        spec.setdefault("serviceAccountName", "default")
        spec["nodeName"] = NODE
        pod = {
            "metadata": {
                **copy.deepcopy(template.get("metadata") or {}),
                "name": f"{meta['name']}-{suffix()}",
                "generateName": f"{meta['name']}-",
                "namespace": meta["namespace"],
                "ownerReferences": [owner_reference(rs)],
            },
            "spec": spec,
            "status": self.kubelet.new_status(spec),
        }
        created = self.store.insert(PODS, pod)
        self.kubelet.born[created["metadata"]["uid"]] = time.monotonic()
        self.store.emit(
            rs,
            "SuccessfulCreate",
            f"Created pod: {created['metadata']['name']}",
            component="replicaset-controller",
        )
        self.store.emit(
            created,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/"
            f"{created['metadata']['name']} to {NODE}",
            component="default-scheduler",
        )
        return created


def _foreground(obj: Obj) -> bool:
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and "foregroundDeletion" in (
        meta.get("finalizers") or []
    )
