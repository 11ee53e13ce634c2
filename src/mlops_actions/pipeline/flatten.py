"""Nested pipelines as one pipeline of steps, the form the local runner runs.

Every ``type: pipeline`` job is replaced, recursively, by its inner jobs, each
named by its path (``outer/inner/prep``), so its folder nests under the run's
(``.mlops/runs/<run-id>/outer/inner/prep/``). Bindings are rewritten as the
strings the runner already reads, into the top pipeline's namespace:

- an inner ``${{parent.inputs.X}}`` becomes what the pipeline job gives X (a
  literal, a ``{path: ...}``, a binding of the pipeline around it), else the
  nested pipeline's declared default, else nothing (the component's default);
- an inner ``${{parent.jobs.K.outputs.o}}`` becomes ``parent.jobs.outer/K``;
- a reference to the pipeline job's output Y becomes one to the inner step
  whose output is ``${{parent.outputs.Y}}``; that step's output is the run's
  pipeline output when the pipeline job's ``outputs.Y`` is one.

Relative paths written in a nested file are made absolute against that file:
the runner resolves what is left relative to the top pipeline's file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.expressions import Binding, parse_binding
from mlops_actions.pipeline.spec import Job, Pipeline, Port, input_value, ports

#: ``--set jobs.NODE.inputs.NAME`` values per job path, typed
Given = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class _Flat:
    """A pipeline's steps in its own namespace, and which step writes each of
    its outputs: ``{output: (step, step's output)}``."""

    jobs: dict[str, Job]
    writes: dict[str, tuple[str, str]]


def flatten(pipeline: Pipeline, given: Given | None = None) -> Pipeline:
    """``pipeline`` with every pipeline job replaced by its steps, to any
    depth; ``given`` replaces the inputs of the pipeline jobs it names by path
    (``outer``, ``outer/inner``) before their values reach the steps."""
    if not any(job.kind == "pipeline" for job in pipeline.jobs.values()):
        return pipeline
    flat = _flatten(pipeline, given or {}, "", nested=False)
    return dataclasses.replace(pipeline, jobs=flat.jobs)


def _flatten(pipeline: Pipeline, given: Given, path: str, nested: bool) -> _Flat:
    jobs: dict[str, Job] = {}
    writes: dict[str, dict[str, tuple[str, str]]] = {}
    base = pipeline.path.parent
    for job in pipeline.jobs.values():
        if nested:
            job = dataclasses.replace(job, inputs=_absolute_inputs(job, base))
        inner = job.pipeline
        if job.kind != "pipeline" or inner is None:
            jobs[job.name] = job
            continue
        given_here = given.get(path + job.name, {})
        job = dataclasses.replace(job, inputs={**job.inputs, **given_here})
        sub = _flatten(inner, given, f"{path}{job.name}/", nested=True)
        for step in sub.jobs.values():
            moved = _moved(step, job, inner)
            jobs[moved.name] = moved
        writes[job.name] = {
            out: (f"{job.name}/{step}", name)
            for out, (step, name) in sub.writes.items()
        }
    jobs = {name: _rerouted(job, writes) for name, job in jobs.items()}
    return _Flat(jobs, _pipeline_writes(jobs))


def _moved(step: Job, job: Job, inner: Pipeline) -> Job:
    """``step`` of pipeline job ``job`` (whose pipeline is ``inner``), its
    bindings in the namespace of the pipeline around ``job``."""
    inputs = {}
    for name, raw in step.inputs.items():
        binding = parse_binding(raw)
        if not isinstance(binding, Binding):
            inputs[name] = raw
        elif binding.kind == "job-output":
            source = f"{job.name}/{binding.job}"
            inputs[name] = _with_path(raw, _output_of(source, binding.name))
        elif binding.kind == "parent-input":
            value = _given(job, inner, binding.name)
            if value is not None:
                inputs[name] = _with_path(raw, value)
        else:
            inputs[name] = raw  # check_pipeline refused it already
    outputs = {}
    for name, raw in step.outputs.items():
        binding = parse_binding(raw)
        if not isinstance(binding, Binding) or binding.kind != "parent-output":
            outputs[name] = raw
            continue
        around = parse_binding(job.outputs.get(binding.name))
        if isinstance(around, Binding) and around.kind == "parent-output":
            outputs[name] = job.outputs[binding.name]
    return dataclasses.replace(
        step,
        name=f"{job.name}/{step.name}",
        inputs=inputs,
        outputs=outputs,
        compute=step.compute or job.compute,
    )


def _given(job: Job, inner: Pipeline, name: str) -> Any:
    """What input ``name`` of the nested pipeline is for pipeline job ``job``:
    the job's value, else the declared default; None when neither is set."""
    if name in job.inputs:
        return job.inputs[name]
    declared = inner.inputs.get(name)
    value = input_value(declared)
    if value is None:
        return None
    port = ports({name: declared})[name]
    if isinstance(declared, dict) and "path" in declared or port.is_data:
        return _absolute(value, inner.path.parent)
    return value


def _with_path(raw: Any, value: Any) -> Any:
    """``value`` in the place of the binding ``raw`` holds: a ``{path: ...}``
    mapping keeps its other keys (``mode``, ``type``)."""
    if not isinstance(raw, dict):
        return value
    if isinstance(value, dict):
        return {**raw, **value}
    return {**raw, "path": value}


def _rerouted(job: Job, writes: dict[str, dict[str, tuple[str, str]]]) -> Job:
    """``job`` reading the steps that write the pipeline jobs' outputs it
    names (``parent.jobs.outer.outputs.Y`` -> ``parent.jobs.outer/J.outputs.o``)."""
    inputs = {}
    for name, raw in job.inputs.items():
        binding = parse_binding(raw)
        if (
            isinstance(binding, Binding)
            and binding.kind == "job-output"
            and binding.job in writes
        ):
            source = writes[binding.job].get(binding.name)
            if source is None:
                raise UsageError(
                    f"jobs.{job.name}.inputs.{name}: no step of pipeline job "
                    f"{binding.job} writes its output {binding.name!r} (bind one "
                    f"step's output to ${{{{parent.outputs.{binding.name}}}}})"
                )
            step, output = source
            raw = _with_path(raw, _output_of(step, output))
        inputs[name] = raw
    return dataclasses.replace(job, inputs=inputs)


def _output_of(step: str, output: str) -> str:
    return "${{parent.jobs.%s.outputs.%s}}" % (step, output)


def _pipeline_writes(jobs: dict[str, Job]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for job in jobs.values():
        for name, raw in job.outputs.items():
            binding = parse_binding(raw)
            if isinstance(binding, Binding) and binding.kind == "parent-output":
                found.setdefault(binding.name, (job.name, name))
    return found


def _absolute_inputs(job: Job, base: Path) -> dict[str, Any]:
    """The job's inputs with relative local paths made absolute against
    ``base``, the folder of the file the job is written in."""
    declared: dict[str, Port] = {}
    if job.component is not None:
        declared = job.component.inputs
    elif job.pipeline is not None:
        declared = ports(job.pipeline.inputs)
    found = {}
    for name, raw in job.inputs.items():
        port = declared.get(name)
        if parse_binding(raw) is not None:
            found[name] = raw
        elif isinstance(raw, dict) and isinstance(raw.get("path"), str):
            found[name] = {**raw, "path": _absolute(raw["path"], base)}
        elif isinstance(raw, str) and port is not None and port.is_data:
            found[name] = _absolute(raw, base)
        else:
            found[name] = raw
    return found


def _absolute(value: Any, base: Path) -> Any:
    """A local path made absolute against ``base``; URIs, ``azureml:`` assets
    and bindings as they are."""
    if not isinstance(value, str) or parse_binding(value) is not None:
        return value
    if (
        value.startswith("azureml:")
        or "://" in value
        and not value.startswith("file://")
    ):
        return value
    return str((base / value.removeprefix("file://")).resolve())
