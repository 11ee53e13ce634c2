"""Label and field selectors, parsed the way the API server reads the query.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``,
``k`` and ``!k``, comma-separated. Field selectors: ``path=v``, ``path==v`` and
``path!=v`` over the fields a kind supports (anything else is a 400, as the
real server answers ``field label not supported``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Labels = Mapping[str, str]
Test = Callable[[Labels], bool]

_SET = re.compile(r"^\s*(!?)\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")
FIELDS = {
    "*": {"metadata.name", "metadata.namespace"},
    "events": {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    "pods": {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    },
    "replicasets": {"status.replicas"},
    "namespaces": {"status.phase"},
}


class SelectorError(ValueError):
    pass


def _split(text: str) -> list[str]:
    """Split on the commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [t for t in terms if t.strip()]


def _term(term: str) -> Test:
    if found := _SET.match(term):
        negated, key, op, values = found.groups()
        if negated:
            raise SelectorError(f"unable to parse requirement: {term!r}")
        wanted = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in wanted
        return lambda labels: labels.get(key) not in wanted
    if found := _EQ.match(term):
        key, op, value = found.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if found := _EXISTS.match(term):
        negated, key = found.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {term!r}")


def label_selector(text: str | None) -> Test:
    """A test of an object's labels: all the selector's terms must hold."""
    tests = [_term(t) for t in _split(text or "")]
    return lambda labels: all(test(labels or {}) for test in tests)


def matches(selector: Mapping[str, Any] | None, labels: Labels | None) -> bool:
    """Whether ``labels`` match a ``LabelSelector`` (matchLabels, matchExpressions).

    An empty selector matches everything, as it does for a PodDisruptionBudget.
    """
    labels = labels or {}
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op = expression.get("key"), expression.get("operator")
        values = set(expression.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _field(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if path == "source" and isinstance(value, Mapping):
        value = value.get("component")
    return "" if value is None else str(value)


def field_selector(plural: str, text: str | None) -> Callable[[Any], bool]:
    """A test of a whole object by its fields."""
    tests = []
    supported = FIELDS["*"] | FIELDS.get(plural, set())
    for term in _split(text or ""):
        found = re.match(r"^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not found:
            raise SelectorError(f"invalid selector: {term!r}; can't understand it")
        path, op, value = found.groups()
        if path not in supported:
            raise SelectorError(f"field label not supported: {path}")
        tests.append((path, op == "!=", value))
    return lambda obj: all(
        (_field(obj, path) != value) if negated else (_field(obj, path) == value)
        for path, negated, value in tests
    )
