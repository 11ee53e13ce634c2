"""Graph checks for what azure-ai-ml's validation misses.

Dangling bindings, unknown input names, literals of the wrong type, cycles,
missing component files and scripts. Pure: reads the loaded spec, no SDK.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions.pipeline.expressions import (
    Binding,
    command_references,
    parse_binding,
)
from mlops_actions.pipeline.spec import (
    Component,
    Job,
    Pipeline,
    Port,
    input_type,
    input_value,
    literal_type,
    ports,
)
from mlops_actions.yamlfile import Where, YamlDoc
from mlops_actions.redact import redact

#: Job and output names become folders under ``.mlops/runs/<run-id>/``, and
#: Azure ML wants node names that are identifiers.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NAME_RULE = (
    "{} name must be letters, digits and _ (not starting with a digit): "
    "it names a folder"
)


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int | None
    where: str
    message: str
    #: "error" (Azure ML would refuse it too, or a documented graph check) or
    #: "warning" (what could not be checked, what runs on Azure only)
    severity: str = "error"

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{at}: {self.where}: {self.message}"


@dataclass(frozen=True)
class Finding:
    """A problem before its line is looked up: ``at`` inside ``doc``, shown to
    the user as ``where`` (the path from the file they named)."""

    doc: YamlDoc
    at: Where
    where: Where
    message: str
    severity: str = "error"

    def problem(self) -> Problem:
        # A message may quote a value: never a credential in it.
        line = self.doc.line(self.at)
        text = redact(self.message)
        return Problem(self.doc.path, line, ".".join(self.where), text, self.severity)


def check_pipeline(pipeline: Pipeline) -> list[Problem]:
    """Every error found, in file order; empty when the pipeline is valid."""
    return _problems(f for f in findings(pipeline) if f.severity == "error")


def pipeline_warnings(pipeline: Pipeline) -> list[Problem]:
    """What could not be checked offline (registered components' interfaces)."""
    return _problems(f for f in findings(pipeline) if f.severity == "warning")


def _problems(found: Iterable[Finding]) -> list[Problem]:
    problems = [f.problem() for f in found]
    return sorted(problems, key=lambda p: (str(p.file), p.line or 0))


def findings(pipeline: Pipeline) -> list[Finding]:
    """Every finding of ``pipeline`` and of the pipelines nested in it."""
    doc, prefix = pipeline.doc, pipeline.prefix
    found = [
        Finding(doc, where, (*prefix, *where), message)
        for where, message, _ in pipeline.load_problems
    ]
    for job in pipeline.jobs.values():
        at = ("jobs", job.name)
        if not NAME.fullmatch(job.name):
            found.append(Finding(doc, at, (*prefix, *at), NAME_RULE.format("job")))
        found += [
            Finding(doc, (*at, *w), (*prefix, *at, *w), m, s)
            for w, m, s in _check_job(pipeline, job)
        ]
        if job.component is not None:
            component = job.component
            found += [
                Finding(component.doc, w, (*prefix, *at, *w), m)
                for w, m in check_component(component)
            ]
        if job.pipeline is not None:
            found += findings(job.pipeline)
    if cycle := find_cycle(pipeline):
        at = ("jobs", cycle[0])
        found.append(Finding(doc, at, (*prefix, *at), "cycle: " + " -> ".join(cycle)))
    return found


def interface(job: Job) -> tuple[dict[str, Port], dict[str, Any]] | None:
    """The inputs and outputs a job's component declares; None when unknown
    offline (registered components, AutoML, inline parallel and spark) or
    only in part (a prompt flow also takes ``data`` and the run's settings)."""
    if job.kind == "flow":
        return None
    if job.component is not None:
        return job.component.inputs, job.component.outputs
    if job.pipeline is not None:
        return ports(job.pipeline.inputs), job.pipeline.outputs
    return None


def _check_job(pipeline: Pipeline, job: Job) -> list[tuple[Where, str, str]]:
    """Findings ``(where in the job, message, severity)`` for ``job``."""
    known = interface(job)
    found: list[tuple[Where, str, str]] = []
    if known is None:
        if job.kind == "registered":
            found.append(
                (
                    ("component",),
                    f"{job.component_ref}: a registered component; its inputs "
                    "and outputs are not known offline and were not checked",
                    "warning",
                )
            )
        for name, value in job.inputs.items():
            if problem := _check_binding(pipeline, None, value):
                found.append((("inputs", name), problem, "error"))
        return found + _check_outputs(pipeline, job, None)
    inputs, outputs = known
    owner = job.component.name if job.component else job.component_ref
    for name, value in job.inputs.items():
        port = inputs.get(name)
        if port is None:
            names = ", ".join(inputs) or "none"
            message = f"unknown input of {owner} (known: {names})"
            found.append((("inputs", name), message, "error"))
        elif problem := _check_value(pipeline, port, value):
            found.append((("inputs", name), problem, "error"))
    swept = job.raw.get("search_space") if job.kind == "sweep" else None
    swept = swept if isinstance(swept, dict) else {}
    if job.component is not None and not job.component.inline:
        for name, port in inputs.items():
            given = name in job.inputs or name in swept
            if not given and port.default is None and not port.optional:
                found.append((("inputs", name), "required input not set", "error"))
    if job.kind == "sweep":
        for name in (job.raw.get("search_space") or {}) if job.raw else ():
            if name not in inputs:
                names = ", ".join(inputs) or "none"
                message = f"not an input of the trial {owner} (known: {names})"
                found.append((("search_space", str(name)), message, "error"))
    return found + _check_outputs(pipeline, job, outputs)


def _check_outputs(
    pipeline: Pipeline, job: Job, declared: dict[str, Any] | None
) -> list[tuple[Where, str, str]]:
    found: list[tuple[Where, str, str]] = []
    owner = job.component.name if job.component else job.component_ref or job.name
    for name, value in job.outputs.items():
        at = ("outputs", name)
        if declared is not None and name not in declared:
            known = ", ".join(declared) or "none"
            found.append((at, f"unknown output of {owner} (known: {known})", "error"))
        binding = parse_binding(value)
        if isinstance(binding, Binding) and binding.kind != "parent-output":
            found.append((at, "outputs bind only to ${{parent.outputs.NAME}}", "error"))
        elif isinstance(binding, Binding) and binding.name not in pipeline.outputs:
            message = f"pipeline output {binding.name!r} is not declared"
            found.append((at, message, "error"))
    return found


def _check_binding(pipeline: Pipeline, port: Port | None, value: Any) -> str | None:
    """What is wrong with a ``${{parent...}}`` value, whatever the port."""
    binding = parse_binding(value)
    if isinstance(binding, str):
        return f"unsupported expression {binding!r}"
    if binding is None:
        return None
    if binding.kind == "parent-output":
        return "inputs cannot bind to ${{parent.outputs...}}"
    if binding.kind == "parent-input":
        if binding.name not in pipeline.inputs:
            known = ", ".join(pipeline.inputs) or "none"
            return f"pipeline input {binding.name!r} is not declared (known: {known})"
        return None
    source = pipeline.jobs.get(binding.job or "")
    if source is None:
        return f"binds to job {binding.job!r}, which does not exist"
    declared = interface(source)
    if declared is not None and binding.name not in declared[1]:
        names = ", ".join(declared[1]) or "none"
        return (
            f"binds to {binding.job}.outputs.{binding.name}, which does not exist "
            f"(known: {names})"
        )
    if port is not None and not port.is_data:
        return f"{port.type} input cannot bind to an output"
    return None


def _check_value(pipeline: Pipeline, port: Port, value: Any) -> str | None:
    binding = parse_binding(value)
    if binding is not None:
        if problem := _check_binding(pipeline, port, value):
            return problem
        if isinstance(binding, Binding) and binding.kind == "parent-input":
            return _check_parent_input(pipeline, port, binding.name)
        return None
    if port.is_data:
        path = input_value(value)
        return None if isinstance(path, str) else f"{port.type} needs a path"
    if isinstance(value, dict):
        value = input_value(value)
    if problem := _type_mismatch(port.type, value):
        return problem
    return port.refuses(coerced(port.type, value))


def _check_parent_input(pipeline: Pipeline, port: Port, name: str) -> str | None:
    raw = pipeline.inputs[name]
    if port.is_data:
        return None
    value = coerced(port.type, input_value(raw))
    if refused := port.refuses(value):
        return f"pipeline input {name!r}: {refused}"
    declared = input_type(raw)
    if declared in (None, port.type) or (declared, port.type) == ("integer", "number"):
        return None
    if port.type == "string" and declared in ("integer", "number", "boolean"):
        return None
    if declared == "string" and _type_mismatch(port.type, input_value(raw)) is None:
        return None  # a string the SDK parses, e.g. "False" for a boolean
    return (
        f"expects {port.type} but pipeline input {name!r} is "
        f"{declared} ({input_value(raw)!r})"
    )


def _type_mismatch(expected: str, value: Any) -> str | None:
    """Why a literal is not of the ``expected`` type, after the coercion
    azure-ai-ml applies to strings (``Input._parse``): ``"3"`` is an integer,
    ``"0.5"`` a number, ``"False"``/``"true"`` a boolean."""
    actual = literal_type(value)
    ok = {
        "string": ("string", "integer", "number", "boolean"),
        "integer": ("integer",),
        "number": ("integer", "number"),
        "boolean": ("boolean",),
    }.get(expected)
    if ok is None or actual in ok or value is None:
        return None
    if isinstance(value, str) and coerced(expected, value) is not value:
        return None
    return f"expects {expected}, got {actual or type(value).__name__} {value!r}"


def coerced(expected: str, value: Any) -> Any:
    """``value`` parsed the way azure-ai-ml parses a string literal for an input
    of type ``expected``; ``value`` itself when it does not parse."""
    if not isinstance(value, str):
        return value
    try:
        if expected == "integer":
            return int(float(value))
        if expected == "number":
            return float(value)
    except ValueError:
        return value
    if expected == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def check_component(component: Component) -> list[tuple[Where, str]]:
    found: list[tuple[Where, str]] = []
    for kind, name in command_references(component.command):
        ports = component.inputs if kind == "inputs" else component.outputs
        if kind == "?" or name not in ports:
            found.append((("command",), f"refers to undeclared {kind}.{name}"))
    for port in component.inputs.values():
        if port.default is not None and not port.is_data:
            if problem := _type_mismatch(port.type, port.default):
                found.append((("inputs", port.name, "default"), problem))
    for name in component.outputs:
        if not NAME.fullmatch(name):
            found.append((("outputs", name), NAME_RULE.format("output")))
    env = component.environment
    if isinstance(env, str) and env.startswith("file:"):
        env_file = component.path.parent / env.removeprefix("file:")
        if not env_file.is_file():
            found.append((("environment",), f"environment file {env_file} not found"))
    for i, item in enumerate(component.includes):
        if not item.exists():
            message = f"additional include {item} not found"
            found.append((("additional_includes", str(i)), message))
    if component.type != "command":
        return found  # parallel, spark, flow: Azure ML's validation checks them
    if not component.command.strip():
        found.append((("command",), "command is empty"))
    if component.code is None:
        return found
    if not component.code.is_dir():
        found.append((("code",), f"code folder {component.code} not found"))
    elif script := _script(component.command):
        included = {item.name for item in component.includes}
        if not (component.code / script).is_file() and (
            Path(script).parts[0] not in included
        ):
            found.append(
                (("command",), f"script {script} not found in {component.code}")
            )
    return found


def _script(command: str) -> str | None:
    """The script a ``python script.py ...`` command runs, if it names one."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        return None
    if len(tokens) > 1 and Path(tokens[0]).name.startswith("python"):
        if tokens[1].endswith(".py"):
            return tokens[1]
    return None


def find_cycle(pipeline: Pipeline) -> list[str] | None:
    """A cycle of jobs (first job repeated at the end), or None."""
    edges = dependencies(pipeline)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(job: str) -> list[str] | None:
        state[job] = 1
        stack.append(job)
        for dep in edges.get(job, ()):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if state.get(dep) is None and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[job] = 2
        return None

    for job in pipeline.jobs:
        if state.get(job) is None and (cycle := visit(job)):
            return cycle
    return None


def dependencies(pipeline: Pipeline) -> dict[str, list[str]]:
    """For each job, the jobs whose outputs it reads (existing jobs only)."""
    edges: dict[str, list[str]] = {}
    for job in pipeline.jobs.values():
        deps = []
        for value in job.inputs.values():
            binding = parse_binding(value)
            if isinstance(binding, Binding) and binding.kind == "job-output":
                if binding.job in pipeline.jobs and binding.job not in deps:
                    deps.append(binding.job)
        edges[job.name] = deps
    return edges


def execution_order(pipeline: Pipeline) -> list[str]:
    """Jobs in dependency order, ties kept in file order (assumes no cycle)."""
    edges = dependencies(pipeline)
    done: list[str] = []
    while len(done) < len(edges):
        for job, deps in edges.items():
            if job not in done and all(d in done for d in deps):
                done.append(job)
                break
    return done
