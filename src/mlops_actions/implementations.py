"""Implementations chosen by name and imported only when chosen.

The registry, the pipeline backend and the deploy target each keep a table
``name -> "module:class"``; importing the table imports none of them, so
``mlops --help`` never pays for MLflow, azure-ai-ml or the Kubernetes client.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TypeVar

from mlops_actions.errors import UsageError

T = TypeVar("T")


def implementation(
    name: str,
    base: Callable[..., T],
    table: Mapping[str, str],
    *,
    kind: str,
    later: Mapping[str, str] | None = None,
) -> Callable[..., T]:
    """The class ``table`` names for ``name``, an implementation of ``base``.

    ``later`` maps names that are planned but not built yet to the message
    that says so; any other unknown name is refused listing the known ones.
    """
    if later and name in later:
        raise UsageError(later[name])
    if name not in table:
        known = ", ".join(sorted(table))
        raise UsageError(f"unknown {kind} {name!r}: use one of {known}")
    module, _, attr = table[name].partition(":")
    # ``base`` types the result; the tables are ours and their contract tests
    # prove each entry is a ``base``.
    found: Callable[..., T] = getattr(importlib.import_module(module), attr)
    return found
