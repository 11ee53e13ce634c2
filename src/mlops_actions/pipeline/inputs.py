"""Pipeline input values: the file's literals, with ``--set`` overrides applied.

``--set NAME=VALUE`` sets a pipeline input; ``--set jobs.NODE.inputs.NAME=VALUE``
sets one job's input, in place of what the pipeline file binds it to (a
pipeline job's input reaches the steps inside it; a job inside a nested
pipeline is named by its path, ``jobs.outer/inner.inputs.NAME``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.expressions import Binding, parse_binding
from mlops_actions.pipeline.spec import Job, Pipeline, input_type, input_value, ports
from mlops_actions.redact import redact

JOB_INPUT = re.compile(r"jobs\.([^.]+)\.inputs\.([^.]+)")
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def parse_overrides(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``name=value`` strings from ``--set`` as a mapping (last one wins)."""
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set {redact(pair)!r}: expected NAME=VALUE")
        found[name.strip()] = value
    return found


def resolve_inputs(pipeline: Pipeline, overrides: dict[str, str]) -> dict[str, Any]:
    """Every pipeline input's value, typed; data paths made absolute."""
    mine = {k: v for k, v in overrides.items() if not k.startswith("jobs.")}
    unknown = sorted(set(mine) - set(pipeline.inputs))
    if unknown:
        known = ", ".join(pipeline.inputs) or "none"
        raise UsageError(
            f"--set {unknown[0]}: {pipeline.path} has no input {unknown[0]!r} "
            f"(known: {known})"
        )
    values: dict[str, Any] = {}
    for name, raw in pipeline.inputs.items():
        declared = input_type(raw) or "string"
        if name in mine:
            values[name] = coerce(name, mine[name], declared, Path.cwd())
        else:
            value = input_value(raw)
            if isinstance(raw, dict) and "path" in raw and value is not None:
                value = _absolute(str(value), pipeline.path.parent)
            values[name] = value
    for name in mine:
        if refused := _refused(pipeline, name, values[name]):
            raise UsageError(redact(f"--set {name}={mine[name]}: {refused}"))
    return values


def resolve_job_inputs(
    pipeline: Pipeline, overrides: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """The ``--set jobs.NODE.inputs.NAME=VALUE`` values per job, typed as the
    job's component (or, for a pipeline job, its pipeline) declares the input
    and checked against its limits. A NODE inside a nested pipeline is named
    by its path, ``outer/inner``."""
    found: dict[str, dict[str, Any]] = {}
    for key, text in overrides.items():
        if not key.startswith("jobs."):
            continue
        match = JOB_INPUT.fullmatch(key)
        if not match:
            raise UsageError(f"--set {key}: expected jobs.NODE.inputs.NAME=VALUE")
        node, name = match.groups()
        job = _job_at(pipeline, node, key)
        if job.component is not None:
            declared = job.component.inputs
        elif job.pipeline is not None:
            declared = ports(job.pipeline.inputs)
        else:
            declared = {}
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise UsageError(
                f"--set {key}: job {node} has no input {name!r} (known: {known})"
            )
        value = coerce(key, text, declared[name].type, Path.cwd())
        if refused := declared[name].refuses(value):
            raise UsageError(redact(f"--set {key}={text}: {refused}"))
        found.setdefault(node, {})[name] = value
    return found


def _job_at(pipeline: Pipeline, node: str, key: str) -> Job:
    """The job ``node`` names: a job of ``pipeline``, or ``outer/inner`` of
    the pipelines nested in it."""
    here: Pipeline | None = pipeline
    path = ""
    job = None
    for part in node.split("/"):
        jobs = here.jobs if here is not None else {}
        job = jobs.get(part)
        if job is None:
            known = ", ".join(path + name for name in jobs) or "none"
            where = f"job {path[:-1]}" if path else str(pipeline.path)
            raise UsageError(
                f"--set {key}: {where} has no job {path + part!r} (known: {known})"
            )
        here = job.pipeline
        path += f"{part}/"
    assert job is not None
    return job


def _refused(pipeline: Pipeline, name: str, value: Any) -> str | None:
    """Why a step's input bound to pipeline input ``name`` refuses ``value``."""
    for job in pipeline.jobs.values():
        if job.component is None:
            continue
        for port_name, raw in job.inputs.items():
            binding = parse_binding(raw)
            port = job.component.inputs.get(port_name)
            if port is None or not isinstance(binding, Binding):
                continue
            if binding.kind == "parent-input" and binding.name == name:
                if refused := port.refuses(value):
                    return f"{refused} (input {port_name} of step {job.name})"
    return None


def coerce(name: str, text: str, declared: str, base: Path) -> Any:
    """``text`` as the type the input declares; a clear error otherwise.

    The error shows ``text`` with credentials redacted.
    """
    shown = redact(text)
    try:
        if declared == "integer":
            return int(text)
        if declared == "number":
            return float(text)
    except ValueError:
        article = "an" if declared == "integer" else "a"
        raise UsageError(
            f"--set {name}={shown}: expected {article} {declared}"
        ) from None
    if declared == "boolean":
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise UsageError(f"--set {name}={shown}: expected true or false")
    if declared in ("string",):
        return text
    return _absolute(text, base)


def _absolute(path: str, base: Path) -> str:
    if path.startswith("azureml:") or "://" in path and not path.startswith("file://"):
        return path
    return str((base / path.removeprefix("file://")).resolve())
