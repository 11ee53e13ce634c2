"""What each write verb of the API does, over a :class:`~.store.Store`:
create (POST), replace (PUT), the four PATCH flavours with server-side apply
among them, DELETE with its propagation policies, and the ``/scale``
subresource. Bodies of the wrong shape are answered as the real decoder
answers them. Callers hold :attr:`FakeKube.lock`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from tests.fakes.kube import patches
from tests.fakes.kube.admission import check_names
from tests.fakes.kube.kinds import Resource
from tests.fakes.kube.status import (
    ApiError,
    already_exists,
    conflict,
    not_found,
    success,
)
from tests.fakes.kube.store import Obj, Store, now, suffix

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def require_object(body: Any) -> None:
    """A body that is not a JSON object: 400, as the decoder answers it
    (a JSON string of a manifest, sent by encoding it twice, is one)."""
    if not isinstance(body, dict):
        said = patches.unmarshal_error(body, _TYPE_META)
        raise ApiError(400, f"couldn't get version/kind; json parse error: {said}")


_TYPE_META = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)


def _patch_shape(kind: str, body: Any) -> None:
    if kind == STRATEGIC and not isinstance(body, dict):
        raise ApiError(400, patches.unmarshal_error(body, "map[string]interface {}"))
    if kind == MERGE and not isinstance(body, dict):
        # a merge patch that is no object replaces the whole object with
        # itself, which then does not decode
        said = patches.unmarshal_error(body, _TYPE_META)
        raise ApiError(
            422,
            f'"" is invalid: patch: Invalid value: {json.dumps(body)[:200]}: '
            f"couldn't get version/kind; json parse error: {said}",
        )


def patched(kind: str, target: Obj, body: Any) -> Obj:
    """``target`` after a JSON, merge or strategic merge patch."""
    _patch_shape(kind, body)
    try:
        if kind == JSON_PATCH:
            return patches.json_patch(target, body)
        if kind == MERGE:
            return patches.merge_patch(target, body)
        return patches.strategic_merge(target, body)
    except patches.BadPatch as exc:
        raise ApiError(400, str(exc)) from None
    except patches.PatchError as exc:
        raise ApiError(422, str(exc)) from None


def create(
    store: Store,
    resource: Resource,
    namespace: str,
    body: Any,
    manager: str,
    dry_run: bool = False,
) -> Obj:
    check_names(resource, body, namespace, None)
    store.namespace_exists(resource, namespace)
    meta = body.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + suffix()
    name = meta.get("name")
    if not name:
        raise ApiError(
            422,
            f'{resource.kind} in version "{resource.version}" cannot be '
            "handled as a "
            f"{resource.kind}: metadata.name: Required value: name or "
            "generateName is required",
        )
    if store.find(resource, namespace, name) is not None:
        raise already_exists(resource, name)
    return store.commit(
        resource, namespace, name, body, None, manager, "Update", dry_run=dry_run
    )


def replace(
    store: Store,
    resource: Resource,
    namespace: str,
    name: str,
    body: Any,
    manager: str,
    subresource: str | None = None,
    dry_run: bool = False,
) -> Obj:
    check_names(resource, body, namespace, name)
    live = store.find(resource, namespace, name)
    if live is None:
        raise not_found(resource, name)
    return store.commit(
        resource,
        namespace,
        name,
        body,
        live,
        manager,
        "Update",
        subresource=subresource,
        dry_run=dry_run,
    )


def patch(
    store: Store,
    resource: Resource,
    namespace: str,
    name: str,
    content_type: str,
    raw: bytes,
    manager: str | None,
    subresource: str | None = None,
    dry_run: bool = False,
) -> Obj:
    kind = content_type.split(";")[0].strip().lower()
    try:
        body = yaml.safe_load(raw) if kind == APPLY else json.loads(raw or b"null")
    except ValueError as exc:
        raise ApiError(400, f"error decoding patch: {exc}") from None
    live = store.find(resource, namespace, name)
    if kind == APPLY:
        return _apply(
            store, resource, namespace, name, body, live, manager, subresource, dry_run
        )
    if kind not in (MERGE, STRATEGIC, JSON_PATCH):
        raise ApiError(
            415,
            f"the body of the request was in an unknown format - accepted "
            f"media types include: {JSON_PATCH}, {MERGE}, {APPLY}, {STRATEGIC}",
        )
    if live is None:
        raise not_found(resource, name)
    merged = patched(kind, live, body)
    check_names(resource, merged, namespace, name)
    return store.commit(
        resource,
        namespace,
        name,
        merged,
        live,
        manager or "unknown",
        "Update",
        subresource=subresource,
        dry_run=dry_run,
    )


def _apply(
    store: Store,
    resource: Resource,
    namespace: str,
    name: str,
    body: Any,
    live: Obj | None,
    manager: str | None,
    subresource: str | None,
    dry_run: bool,
) -> Obj:
    if not manager:
        raise ApiError(
            400,
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
            "value: is required for apply patch",
        )
    if not isinstance(body, dict):
        said = patches.unmarshal_error(body, "map[string]interface {}")
        raise ApiError(
            400,
            "error decoding YAML: error unmarshaling JSON: while decoding "
            f"JSON: {said}",
        )
    if not body.get("apiVersion"):
        raise ApiError(400, "invalid object type: /, Kind=")
    if not body.get("kind"):
        raise ApiError(400, f"invalid object type: {body['apiVersion']}, Kind=")
    check_names(resource, body, namespace, name)
    if live is None:
        store.namespace_exists(resource, namespace)
    key = (*resource.key, namespace, name, manager)
    merged = patches.apply(live, body, store.applied.get(key))
    merged.setdefault("metadata", {})["name"] = name
    result = store.commit(
        resource,
        namespace,
        name,
        merged,
        live,
        manager,
        "Apply",
        subresource=subresource,
        dry_run=dry_run,
    )
    if not dry_run:
        store.applied[key] = copy.deepcopy(body)
    return result


def delete(
    store: Store,
    resource: Resource,
    namespace: str,
    name: str,
    options: Any,
    dry_run: bool = False,
) -> Obj:
    """The answer to a DELETE: a ``Status``, or the object still going."""
    live = store.find(resource, namespace, name)
    if live is None:
        raise not_found(resource, name)
    if options is None:
        options = {}
    require_object(options)
    wanted = options.get("preconditions") or {}
    meta = live["metadata"]
    if wanted.get("uid") not in (None, meta["uid"]) or wanted.get(
        "resourceVersion"
    ) not in (None, meta["resourceVersion"]):
        raise conflict(resource, name)
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is not None:
        policy = "Orphan" if options["orphanDependents"] else "Background"
    if dry_run:
        return copy.deepcopy(live)
    if policy == "Foreground" and resource.kind not in ("Pod", "Event"):
        # the garbage collector (the controller) deletes the dependents,
        # then the object; until then GET shows it with a deletionTimestamp
        gone = copy.deepcopy(live)
        gone["metadata"].setdefault("deletionTimestamp", now())
        gone["metadata"]["deletionGracePeriodSeconds"] = 0
        finalizers = gone["metadata"].setdefault("finalizers", [])
        if "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        return store.save(resource, gone)
    if policy == "Orphan":
        store.orphan(live)
    store.remove(resource, namespace, name)
    if resource.kind == "Pod" or resource.group.endswith("coreos.com"):
        gone = copy.deepcopy(live)
        gone["metadata"]["deletionTimestamp"] = now()
        return gone
    return success(resource, name, meta["uid"])


def scale(
    store: Store,
    resource: Resource,
    namespace: str,
    name: str,
    method: str,
    content_type: str,
    raw: bytes,
    manager: str,
) -> Obj:
    """The ``/scale`` subresource (``kubectl scale``, an HPA): a
    ``Scale`` read, replaced or patched, writing ``spec.replicas``."""
    live = store.find(resource, namespace, name)
    if live is None:
        raise not_found(resource, name)
    current = _scale_of(live)
    if method == "GET":
        return current
    kind = content_type.split(";")[0].strip().lower()
    body = json.loads(raw or b"null") if raw else None
    if method == "PUT":
        require_object(body)
        wanted = body
    elif kind in (MERGE, STRATEGIC, JSON_PATCH):
        wanted = patched(kind, current, body)
    else:
        raise ApiError(415, f"the fake does not apply {kind} to a Scale")
    replicas = (wanted.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise ApiError(
            422,
            f'Scale.autoscaling "{name}" is invalid: '
            "spec.replicas: Invalid value: must be a number >= 0",
        )
    new = {**live, "spec": {**live["spec"], "replicas": replicas}}
    return _scale_of(
        store.commit(
            resource,
            namespace,
            name,
            new,
            live,
            manager,
            "Update",
            subresource="scale",
        )
    )


def _scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    labels = (obj["spec"].get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in (
                "name",
                "namespace",
                "uid",
                "resourceVersion",
                "creationTimestamp",
            )
            if k in meta
        },
        "spec": {"replicas": obj["spec"].get("replicas", 1)},
        "status": {
            "replicas": int((obj.get("status") or {}).get("replicas") or 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }
