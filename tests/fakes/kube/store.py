"""The objects of the fake cluster, and the bookkeeping of every write.

Every write bumps one global ``resourceVersion``; a write that changes
nothing (the same manifest applied twice) bumps nothing. ``generation``
counts changes of ``spec`` only. Writes to an object leave its ``status``
alone (that is the status subresource's), and ``/status`` writes leave the
rest alone. The verbs that write are in :mod:`.verbs`; callers hold
:attr:`FakeKube.lock`.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from tests.fakes.kube import patches
from tests.fakes.kube.admission import defaults, validate, without_nulls
from tests.fakes.kube.kinds import EVENTS, NAMESPACES, Resource
from tests.fakes.kube.selectors import SelectorError, field_selector, label_selector
from tests.fakes.kube.status import ApiError, conflict, not_found

Obj = dict[str, Any]
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's random suffixes


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _volatile(obj: Obj) -> Obj:
    meta = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k not in ("resourceVersion", "managedFields")
    }
    return {**obj, "metadata": meta}


class Store:
    def __init__(self, namespaces: Iterable[str] | None) -> None:
        self.data: dict[tuple[str, str], dict[tuple[str, str], Obj]] = defaultdict(dict)
        self.revision = 0
        #: (group, plural, namespace, name, manager) -> the config last applied
        self.applied: dict[tuple[str, ...], Any] = {}
        #: called after every stored change (the fake records endpoints)
        self.on_change: Callable[[], None] = lambda: None
        self.any_namespace = namespaces is None
        for name in ("default", "kube-system", "kube-public", *(namespaces or ())):
            if self.find(NAMESPACES, "", name) is None:
                self.insert(NAMESPACES, {"metadata": {"name": name}})

    # -- reading ---------------------------------------------------------
    def find(self, resource: Resource, namespace: str, name: str) -> Obj | None:
        key = (namespace if resource.namespaced else "", name)
        found = self.data[resource.key].get(key)
        if found is None and resource is NAMESPACES and self.any_namespace and name:
            # every namespace exists, as if created beforehand: reading one
            # finds it too
            return self.insert(NAMESPACES, {"metadata": {"name": name}})
        return found

    def items(self, resource: Resource, namespace: str | None = None) -> list[Obj]:
        """The live objects (not copies), in the order they were created."""
        return [
            obj
            for (ns, _), obj in self.data[resource.key].items()
            if namespace is None or not resource.namespaced or ns == namespace
        ]

    def get(self, resource: Resource, namespace: str, name: str) -> Obj:
        live = self.find(resource, namespace, name)
        if live is None:
            raise not_found(resource, name)
        return copy.deepcopy(live)

    def list(
        self,
        resource: Resource,
        namespace: str | None,
        labels: str | None = None,
        fields: str | None = None,
    ) -> Obj:
        try:
            by_labels = label_selector(labels)
            by_fields = field_selector(resource.plural, fields)
        except SelectorError as exc:
            raise ApiError(400, str(exc)) from None
        items = [
            copy.deepcopy(obj)
            for obj in sorted(
                self.items(resource, namespace),
                key=lambda o: (
                    o["metadata"].get("namespace", ""),
                    o["metadata"]["name"],
                ),
            )
            if by_labels(obj["metadata"].get("labels") or {}) and by_fields(obj)
        ]
        for item in items:  # items of a list carry no kind and apiVersion
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": str(self.revision)},
            "items": items,
        }

    # -- the API's writes ------------------------------------------------
    def namespace_exists(self, resource: Resource, namespace: str) -> None:
        if not resource.namespaced or self.any_namespace:
            return
        if self.find(NAMESPACES, "", namespace) is None:
            raise not_found(NAMESPACES, namespace)

    # -- the bookkeeping every write does --------------------------------
    def commit(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        body: Obj,
        live: Obj | None,
        manager: str,
        operation: str,
        subresource: str | None = None,
        dry_run: bool = False,
        controller: bool = False,
    ) -> Obj:
        new = copy.deepcopy(body) if controller else without_nulls(body)
        if live is not None and subresource == "status":
            new = {**copy.deepcopy(live), "status": new.get("status") or {}}
        meta = new.setdefault("metadata", {})
        meta["name"] = name
        if resource.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        new["apiVersion"], new["kind"] = resource.api_version, resource.kind
        if live is not None:
            before = live["metadata"]
            if meta.get("resourceVersion") not in (None, before["resourceVersion"]):
                raise conflict(resource, name)
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
                if key in before:
                    meta[key] = before[key]
                else:
                    meta.pop(key, None)
            if resource.status and subresource != "status":
                new.pop("status", None)
                if "status" in live:
                    new["status"] = copy.deepcopy(live["status"])
        else:
            meta.pop("resourceVersion", None)
            meta.pop("deletionTimestamp", None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
            if resource.status and not controller:
                new.pop("status", None)
        defaults(resource, new)
        validate(resource, new, live)
        if resource.generation:
            meta["generation"] = 1
            if live is not None:
                meta["generation"] = int(live["metadata"].get("generation") or 1)
                if new.get("spec") != live.get("spec"):
                    meta["generation"] += 1
        self._manage(meta, manager, operation, resource.api_version, subresource)
        if live is not None and _volatile(new) == _volatile(live):
            return copy.deepcopy(live)
        if dry_run:
            return new
        if live is not None and operation != "Apply":
            self._disown(resource, live, new, manager)
        return self._store(resource, new)

    def _manage(
        self,
        meta: Obj,
        manager: str,
        operation: str,
        api_version: str,
        subresource: str | None,
    ) -> None:
        entries = [
            e
            for e in meta.get("managedFields") or []
            if (e.get("manager"), e.get("operation"), e.get("subresource"))
            != (manager, operation, subresource)
        ]
        entry = {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": now(),
        }
        if subresource:
            entry["subresource"] = subresource
        meta["managedFields"] = [*entries, entry]

    def _disown(self, resource: Resource, live: Obj, new: Obj, manager: str) -> None:
        """Fields another writer changed are no longer an applier's to remove."""
        meta = live["metadata"]
        prefix = (*resource.key, meta.get("namespace", ""), meta["name"])
        configs = [v for k, v in self.applied.items() if k[:4] == prefix]
        if not configs:
            return
        for path in patches.changed_paths(live, new):
            for config in configs:
                patches.prune(config, path)

    def _store(self, resource: Resource, obj: Obj) -> Obj:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if resource.namespaced else "", meta["name"])
        self.data[resource.key][key] = obj
        self.on_change()
        return copy.deepcopy(obj)

    # -- the controllers' writes -----------------------------------------
    def insert(self, resource: Resource, obj: Obj) -> Obj:
        """Create ``obj`` as a controller does (no checks of who may)."""
        meta = obj["metadata"]
        return self.commit(
            resource,
            meta.get("namespace", ""),
            meta["name"],
            obj,
            None,
            "kube-controller-manager",
            "Update",
            controller=True,
        )

    def save(self, resource: Resource, obj: Obj) -> Obj:
        """Store a controller's change to ``obj`` (spec, metadata and status)."""
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if resource.namespaced else "", meta["name"])
        live = self.data[resource.key].get(key)
        if live is not None and _volatile(obj) == _volatile(live):
            return copy.deepcopy(live)
        new = copy.deepcopy(obj)
        if live is not None:
            if resource.generation and new.get("spec") != live.get("spec"):
                new["metadata"]["generation"] = int(live["metadata"]["generation"]) + 1
            self._disown(resource, live, new, "kube-controller-manager")
        return self._store(resource, new)

    def remove(self, resource: Resource, namespace: str, name: str) -> None:
        key = (namespace if resource.namespaced else "", name)
        if self.data[resource.key].pop(key, None) is not None:
            self.revision += 1
            for k in [k for k in self.applied if k[:4] == (*resource.key, *key)]:
                del self.applied[k]
            self.on_change()

    def orphan(self, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for resource_key, objects in self.data.items():
            for obj in objects.values():
                refs = obj["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    obj["metadata"]["ownerReferences"] = [
                        r for r in refs if r.get("uid") != uid
                    ]

    def emit(
        self,
        involved: Obj,
        reason: str,
        message: str,
        type_: str = "Normal",
        component: str = "deployment-controller",
    ) -> None:
        """Record an Event on ``involved``; a repeat counts up, as the real
        event recorder aggregates them."""
        meta = involved["metadata"]
        namespace = meta.get("namespace", "default")
        for event in self.items(EVENTS, namespace):
            obj = event["involvedObject"]
            if (obj.get("uid"), event["reason"], event["message"]) == (
                meta["uid"],
                reason,
                message,
            ):
                again = copy.deepcopy(event)
                again["count"] = int(event.get("count") or 1) + 1
                again["lastTimestamp"] = now()
                self.save(EVENTS, again)
                return
        stamp = now()
        event = {
            "metadata": {
                "name": f"{meta['name']}.{secrets.token_hex(8)}",
                "namespace": namespace,
            },
            "involvedObject": {
                "kind": involved["kind"],
                "namespace": namespace,
                "name": meta["name"],
                "uid": meta["uid"],
                "apiVersion": involved["apiVersion"],
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": "",
        }
        self.insert(EVENTS, event)


def owner_reference(obj: Obj) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
