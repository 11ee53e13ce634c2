"""The four PATCH flavours the API server takes, on plain JSON documents.

- JSON merge patch (RFC 7386): maps merge, ``null`` deletes, lists replace.
- Strategic merge patch: a merge patch that merges the lists Kubernetes keys
  (containers and volumes by name, ports by number, ...) item by item, and
  honours ``$patch: delete`` / ``$patch: replace``.
- JSON patch (RFC 6902): add, remove, replace, move, copy, test.
- Server-side apply, simplified: the applied fields merged over the live
  object (lists replaced whole), and the fields this manager applied last time
  but no longer applies removed, which is what field ownership does for a
  single manager.
"""

from __future__ import annotations

import copy
from typing import Any

#: list field -> the key its items merge by (strategic merge patch)
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "ports": None,  # containerPort in a container, port in a Service
    "conditions": "type",
    "hostAliases": "ip",
}


class PatchError(ValueError):
    """A patch that cannot be applied (the server answers 422)."""


class BadPatch(ValueError):
    """A patch that cannot be read (the server answers 400)."""


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field not in MERGE_KEYS:
        return None
    key = MERGE_KEYS[field]
    if key is None:  # ports: whichever key the items carry
        sample = next((i for i in items if isinstance(i, dict)), {})
        key = "containerPort" if "containerPort" in sample else "port"
    return key


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    if isinstance(patch, list):
        return _strategic_list(target, patch, field)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in copy.deepcopy(patch).items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):  # $setElementOrder/..., $retainKeys
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge(result.get(key), value, key)
    return result


def _strategic_list(target: Any, patch: list[Any], field: str) -> list[Any]:
    key = _merge_key(field, patch)
    if key is None or not isinstance(target, list):
        return [i for i in copy.deepcopy(patch) if i != {"$patch": "replace"}]
    if {"$patch": "replace"} in patch:
        return [i for i in copy.deepcopy(patch) if i != {"$patch": "replace"}]
    result = copy.deepcopy(target)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise BadPatch(f"map: {item!r} does not contain declared merge key: {key}")
        index = next(
            (i for i, live in enumerate(result) if live.get(key) == item[key]), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge({}, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


# -- JSON patch -----------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"doc is missing path: {path!r}")
    return node


def _index(node: list[Any], part: str, path: str, *, adding: bool) -> int:
    if adding and part == "-":
        return len(node)
    if not part.isdigit() or int(part) > len(node) - (0 if adding else 1):
        raise PatchError(f"doc is missing path: {path!r}: index out of range")
    return int(part)


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    node = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        return node[last]
    if isinstance(node, list):
        return node[_index(node, last, path, adding=False)]
    raise PatchError(f"doc is missing path: {path!r}")


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    node = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(node, dict):
        if last not in node:
            raise PatchError(f"doc is missing key: {path!r}")
        return node.pop(last)
    if isinstance(node, list):
        return node.pop(_index(node, last, path, adding=False))
    raise PatchError(f"doc is missing path: {path!r}")


def _add(doc: Any, path: str, value: Any, *, replace: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    node = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(node, dict):
        if replace and last not in node:
            raise PatchError(
                f"replace operation does not apply: doc is missing key: {path}"
            )
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list):
        index = _index(node, last, path, adding=not replace)
        if replace:
            node[index] = copy.deepcopy(value)
        else:
            node.insert(index, copy.deepcopy(value))
    else:
        raise PatchError(f"doc is missing path: {path!r}")
    return doc


def unmarshal_error(value: Any, go_type: str) -> str:
    """Go's words for JSON of the wrong shape (a string where a map belongs)."""
    kind = {dict: "object", list: "array", str: "string", bool: "bool"}.get(
        type(value), "number"
    )
    return f"json: cannot unmarshal {kind} into Go value of type {go_type}"


def json_patch(target: Any, ops: Any) -> Any:
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise BadPatch(unmarshal_error(ops, "jsonpatch.Patch"))
    doc = copy.deepcopy(target)
    for op in ops:
        name, path = op.get("op"), op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"Unexpected kind: {name} is missing path")
        if name in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"Unexpected kind: {name} is missing value")
        if name == "add":
            doc = _add(doc, path, op["value"], replace=False)
        elif name == "replace":
            doc = _add(doc, path, op["value"], replace=True)
        elif name == "remove":
            _remove(doc, path)
        elif name == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value {path} failed: test failed")
        elif name in ("move", "copy"):
            source = op.get("from")
            value = _remove(doc, source) if name == "move" else _get(doc, source)
            doc = _add(doc, path, value, replace=False)
        else:
            raise PatchError(f"Unexpected kind: {name}")
    return doc


# -- server-side apply ----------------------------------------------------
def _forget(live: Any, before: Any, now: Any) -> None:
    """Drop from ``live`` what ``before`` applied and ``now`` no longer does."""
    if not (isinstance(live, dict) and isinstance(before, dict)):
        return
    now = now if isinstance(now, dict) else {}
    for key, value in before.items():
        if key not in now:
            live.pop(key, None)
        elif isinstance(value, dict):
            _forget(live.get(key), value, now[key])


def _over(live: Any, applied: Any) -> Any:
    if not (isinstance(live, dict) and isinstance(applied, dict)):
        return copy.deepcopy(applied)
    result = copy.deepcopy(live)
    for key, value in applied.items():
        if value is None:  # no opinion on the field: it goes
            result.pop(key, None)
        else:
            result[key] = _over(result.get(key), value)
    return result


def apply(live: dict[str, Any] | None, applied: dict[str, Any], before: Any) -> Any:
    """The object after applying ``applied``; ``before``: the last config this
    field manager applied to it (None the first time)."""
    result = copy.deepcopy(live or {})
    _forget(result, before, applied)
    return _over(result, applied)


# -- field ownership, as far as apply needs it ------------------------------
def changed_paths(a: Any, b: Any, at: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The leaf paths (lists count as leaves) where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in a.keys() | b.keys():
            if a.get(key, _MISSING) != b.get(key, _MISSING):
                found += changed_paths(a.get(key), b.get(key), (*at, key))
        return found
    return [at] if a != b else []


def prune(config: Any, path: tuple[str, ...]) -> None:
    """Forget ``path`` from an applied config (another writer now owns it),
    and the maps the forgetting left empty."""
    if not path or not isinstance(config, dict) or path[0] not in config:
        return
    if len(path) == 1:
        del config[path[0]]
        return
    child = config[path[0]]
    prune(child, path[1:])
    if isinstance(child, dict) and not child:
        del config[path[0]]


_MISSING = object()
