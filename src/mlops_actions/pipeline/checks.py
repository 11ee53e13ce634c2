"""Graph checks for what azure-ai-ml's validation misses.

Dangling bindings, unknown input names, literals of the wrong type, cycles,
missing component files and scripts. Pure: reads the loaded spec, no SDK.
"""

from __future__ import annotations

import re
import shlex
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
)
from mlops_actions.yamlfile import Where
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

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{at}: {self.where}: {self.message}"


def check_pipeline(pipeline: Pipeline) -> list[Problem]:
    """Every problem found, in file order; empty when the pipeline can run."""
    found: list[tuple[Where, str, Path]] = list(pipeline.load_problems)
    for job in pipeline.jobs.values():
        if not NAME.fullmatch(job.name):
            found.append((("jobs", job.name), NAME_RULE.format("job"), pipeline.path))
        found += _check_job(pipeline, job)
    if cycle := find_cycle(pipeline):
        found.append(
            (("jobs", cycle[0]), "cycle: " + " -> ".join(cycle), pipeline.path)
        )
    problems = []
    for where, message, file in found:
        doc = pipeline.doc
        if file != pipeline.path:
            owner = pipeline.jobs.get(where[1]) if len(where) > 1 else None
            doc = owner.component.doc if owner and owner.component else doc
        line = doc.line(where if file == pipeline.path else where[2:])
        # A message may quote a value: never a credential in it.
        problems.append(Problem(file, line, ".".join(where), redact(message)))
    return sorted(problems, key=lambda p: (str(p.file), p.line or 0))


def _check_job(pipeline: Pipeline, job: Job) -> list[tuple[Where, str, Path]]:
    component = job.component
    if component is None:
        return []
    where = ("jobs", job.name)
    found = [(w, m, component.path) for w, m in _check_component(component)]
    found = [((*where, *w), m, f) for w, m, f in found]
    for name, value in job.inputs.items():
        port = component.inputs.get(name)
        at = (*where, "inputs", name)
        if port is None:
            known = ", ".join(component.inputs) or "none"
            found.append(
                (
                    at,
                    f"unknown input of {component.name} (known: {known})",
                    pipeline.path,
                )
            )
            continue
        if problem := _check_value(pipeline, port, value):
            found.append((at, problem, pipeline.path))
    for name, port in component.inputs.items():
        if name not in job.inputs and port.default is None and not port.optional:
            found.append(
                ((*where, "inputs", name), "required input not set", pipeline.path)
            )
    for name, value in job.outputs.items():
        at = (*where, "outputs", name)
        if name not in component.outputs:
            known = ", ".join(component.outputs) or "none"
            found.append(
                (
                    at,
                    f"unknown output of {component.name} (known: {known})",
                    pipeline.path,
                )
            )
        binding = parse_binding(value)
        if isinstance(binding, Binding) and binding.kind != "parent-output":
            found.append(
                (at, "outputs bind only to ${{parent.outputs.NAME}}", pipeline.path)
            )
        elif isinstance(binding, Binding) and binding.name not in pipeline.outputs:
            found.append(
                (at, f"pipeline output {binding.name!r} is not declared", pipeline.path)
            )
    return found


def _check_value(pipeline: Pipeline, port: Port, value: Any) -> str | None:
    binding = parse_binding(value)
    if isinstance(binding, str):
        return f"unsupported expression {binding!r}"
    if binding is None:
        if port.is_data:
            path = input_value(value)
            return None if isinstance(path, str) else f"{port.type} needs a path"
        return _type_mismatch(port.type, value) or port.refuses(value)
    if binding.kind == "parent-output":
        return "inputs cannot bind to ${{parent.outputs...}}"
    if binding.kind == "parent-input":
        if binding.name not in pipeline.inputs:
            known = ", ".join(pipeline.inputs) or "none"
            return f"pipeline input {binding.name!r} is not declared (known: {known})"
        raw = pipeline.inputs[binding.name]
        if port.is_data:
            return None
        if refused := port.refuses(input_value(raw)):
            return f"pipeline input {binding.name!r}: {refused}"
        declared = input_type(raw)
        if declared in (None, port.type) or (declared, port.type) == (
            "integer",
            "number",
        ):
            return None
        if port.type == "string" and declared in ("integer", "number"):
            return None
        return (
            f"expects {port.type} but pipeline input {binding.name!r} is "
            f"{declared} ({input_value(raw)!r})"
        )
    source = pipeline.jobs.get(binding.job or "")
    if source is None:
        return f"binds to job {binding.job!r}, which does not exist"
    if source.component and binding.name not in source.component.outputs:
        known = ", ".join(source.component.outputs) or "none"
        return (
            f"binds to {binding.job}.outputs.{binding.name}, which does not exist "
            f"(known: {known})"
        )
    if not port.is_data:
        return f"{port.type} input cannot bind to an output"
    return None


def _type_mismatch(expected: str, value: Any) -> str | None:
    actual = literal_type(value)
    ok = {
        "string": ("string", "integer", "number", "boolean"),
        "integer": ("integer",),
        "number": ("integer", "number"),
        "boolean": ("boolean",),
    }.get(expected)
    if ok is None or actual in ok:
        return None
    return f"expects {expected}, got {actual or type(value).__name__} {value!r}"


def _check_component(component: Component) -> list[tuple[Where, str]]:
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
    if not component.command.strip():
        found.append((("command",), "command is empty"))
    if component.code is None:
        return found
    if not component.code.is_dir():
        found.append((("code",), f"code folder {component.code} not found"))
    elif script := _script(component.command):
        if not (component.code / script).is_file():
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
