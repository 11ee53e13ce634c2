"""The pipeline and component files as data: what a pipeline YAML declares.

Loading is lenient and structural; :mod:`.checks` says what is wrong with it.
Every job form Azure ML's documentation writes is recognised:

- a component file (``component: ./train.yml`` or ``file:./train.yml``);
- an inline command job (``command:``, ``code:``, ``environment:`` and its
  inputs and outputs on the job itself): a :class:`Component` is built from the
  job, so the local runner runs it like any other;
- an anonymous component written inline (``component: {type: command, ...}``);
- a registered or registry component (``azureml:train@latest``,
  ``azureml:train:1``, ``azureml://registries/...``): its interface is not
  known offline;
- a pipeline component (``type: pipeline`` with a pipeline component file, or
  an inline ``jobs:``), nested to any depth;
- parallel, spark, sweep (``trial:``), AutoML and prompt flow nodes.

Each :class:`Job` says its ``kind`` so a backend can tell what
it can run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.expressions import Binding, parse_binding
from mlops_actions.yamlfile import Where, YamlDoc, load_yaml

LITERAL_TYPES = ("string", "integer", "number", "boolean")
DATA_TYPES = ("uri_file", "uri_folder", "mlflow_model", "custom_model", "mltable")
#: What a job is, as far as a backend cares.
KINDS = (
    "command",
    "pipeline",
    "sweep",
    "parallel",
    "spark",
    "automl",
    "flow",
    "registered",
)


@dataclass(frozen=True)
class Port:
    """A declared input or output of a component or pipeline."""

    name: str
    type: str
    default: Any = None
    optional: bool = False
    enum: tuple[Any, ...] = ()
    min: float | None = None
    max: float | None = None

    @property
    def is_data(self) -> bool:
        return self.type not in LITERAL_TYPES

    def refuses(self, value: Any) -> str | None:
        """Why ``value`` breaks this input's ``enum``/``min``/``max``, if it does."""
        if self.enum and value not in self.enum:
            return f"{value!r} is not one of {', '.join(map(str, self.enum))}"
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and self.min is not None and value < self.min:
            return f"{value!r} is below the minimum {self.min:g}"
        if number and self.max is not None and value > self.max:
            return f"{value!r} is above the maximum {self.max:g}"
        return None


@dataclass(frozen=True)
class Component:
    doc: YamlDoc
    name: str
    inputs: dict[str, Port]
    outputs: dict[str, Port]
    command: str
    code: Path | None
    environment: Any
    deterministic: bool
    #: the component's ``type``: command, parallel, spark, pipeline, flow
    type: str = "command"
    #: built from an inline job (``command:`` on the job): ``doc`` is the job's
    #: part of the pipeline file
    inline: bool = False
    #: ``additional_includes``: files and folders copied into the code snapshot
    #: beside ``code``, as Azure ML adds them to the upload
    includes: tuple[Path, ...] = ()

    @property
    def path(self) -> Path:
        return self.doc.path


@dataclass(frozen=True)
class Job:
    name: str
    component_ref: str
    component: Component | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    compute: str | None
    timeout: float | None
    #: one of :data:`KINDS`
    kind: str = "command"
    #: the nested pipeline of a ``type: pipeline`` job, when it could be read
    pipeline: Pipeline | None = None
    #: the job's own mapping, as written
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pipeline:
    doc: YamlDoc
    name: str
    experiment: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    jobs: dict[str, Job]
    default_compute: str | None
    #: problems found while loading: (where, message, file)
    load_problems: list[tuple[Where, str, Path]] = field(default_factory=list)
    #: where this pipeline sits in the file the user named (nested pipelines)
    prefix: Where = ()

    @property
    def path(self) -> Path:
        return self.doc.path

    def literals(self) -> list[Any]:
        """Every value the file and its components hand to steps, unresolved:
        pipeline inputs, job inputs, component input defaults."""
        found: list[Any] = [self.inputs]
        for job in self.jobs.values():
            found.append(job.inputs)
            if job.component is not None:
                found += [port.default for port in job.component.inputs.values()]
            if job.pipeline is not None:
                found += job.pipeline.literals()
        return found


def ports(raw: Any) -> dict[str, Port]:
    """Declared inputs or outputs (``{name: {type, default, ...}}``) as ports."""
    found = {}
    for name, spec in (raw or {}).items() if isinstance(raw, dict) else ():
        spec = spec if isinstance(spec, dict) else {"type": "string", "default": spec}
        found[str(name)] = Port(
            name=str(name),
            type=str(spec.get("type", "string")),
            default=spec.get("default"),
            optional=bool(spec.get("optional", False)),
            enum=tuple(spec.get("enum") or ()),
            min=spec.get("min"),
            max=spec.get("max"),
        )
    return found


def component_type(data: Any, path: Path) -> str:
    """A component file's type; prompt flow's ``flow.dag.yaml`` is ``flow``."""
    schema = str(data.get("$schema", "")) if isinstance(data, dict) else ""
    if path.name.startswith("flow.dag.") or "promptflow" in schema:
        return "flow"
    return str(data.get("type", "command")) if isinstance(data, dict) else "command"


def component_from(doc: YamlDoc, *, inline: bool = False) -> Component:
    """The component a file (or an inline job's mapping) declares."""
    data = doc.data if isinstance(doc.data, dict) else {}
    code = data.get("code")
    code_path = None
    if isinstance(code, str) and not code.startswith(("azureml:", "http")):
        code_path = (doc.path.parent / code.removeprefix("file:")).resolve()
    return Component(
        doc=doc,
        name=str(data.get("name") or doc.path.parent.name),
        inputs=ports(data.get("inputs")),
        outputs=ports(data.get("outputs")),
        command=str(data.get("command") or ""),
        code=code_path,
        environment=data.get("environment"),
        deterministic=bool(data.get("is_deterministic", True)),
        type=component_type(data, doc.path),
        inline=inline,
        includes=tuple(
            (doc.path.parent / str(item)).resolve()
            for item in data.get("additional_includes") or ()
            if isinstance(data.get("additional_includes"), list)
        ),
    )


def load_component(path: Path) -> Component:
    """A component file, any type (the runner tells what it can run)."""
    return component_from(load_yaml(path, "component file"))


def component_path(pipeline_file: Path, ref: str) -> Path | None:
    """Local file a ``component:`` value points to; None for registry refs."""
    if ref.startswith("azureml:"):
        return None
    return Path(os.path.normpath(pipeline_file.parent / ref.removeprefix("file:")))


def load_pipeline(path: Path) -> Pipeline:
    """Parse a pipeline job file and the component files it names."""
    doc = load_yaml(path, "pipeline file")
    data = doc.data if isinstance(doc.data, dict) else {}
    if data.get("type", "pipeline") != "pipeline":
        raise UsageError(f"{path}: type: expected pipeline, got {data.get('type')!r}")
    return pipeline_from(doc, ())


def pipeline_from(doc: YamlDoc, prefix: Where, depth: int = 0) -> Pipeline:
    """The pipeline ``doc`` declares (a pipeline job or a pipeline component)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    raw_jobs = data.get("jobs")
    if not isinstance(raw_jobs, dict) or not raw_jobs:
        raise UsageError(f"{doc.path}: jobs: a pipeline needs at least one job")
    settings = data.get("settings") or {}
    settings = settings if isinstance(settings, dict) else {}
    problems: list[tuple[Where, str, Path]] = []
    jobs = load_jobs(doc, raw_jobs, settings, problems, prefix, depth)
    return Pipeline(
        doc=doc,
        name=str(data.get("display_name") or data.get("name") or doc.path.stem),
        experiment=str(data.get("experiment_name") or doc.path.stem),
        inputs=dict(data.get("inputs") or {}),
        outputs=dict(data.get("outputs") or {}),
        jobs=jobs,
        default_compute=settings.get("default_compute"),
        load_problems=problems,
        prefix=prefix,
    )


#: Pipeline components nest; a file that includes itself would never end.
MAX_DEPTH = 16
#: A component file's type, as the kind of the job that uses it.
KIND_OF_TYPE = {"parallel": "parallel", "spark": "spark", "flow": "flow"}

Problems = list[tuple[Where, str, Path]]


def sub_doc(doc: YamlDoc, at: Where) -> YamlDoc:
    """The part of ``doc`` at ``at`` as a document of its own (same file, same
    lines), so an inline component or pipeline reports lines like a file."""
    data: Any = doc.data
    for key in at:
        data = data.get(key) if isinstance(data, dict) else None
    n = len(at)
    lines = {w[n:]: line for w, line in doc.lines.items() if w[:n] == at}
    return YamlDoc(path=doc.path, data=data, lines=lines)


def load_jobs(
    doc: YamlDoc,
    raw_jobs: dict[Any, Any],
    settings: dict[str, Any],
    problems: Problems,
    prefix: Where,
    depth: int,
) -> dict[str, Job]:
    """Every job of the pipeline ``doc``; what cannot be read goes to
    ``problems`` as ``(where, message, file)``."""
    jobs = {}
    for name, raw in raw_jobs.items():
        name = str(name)
        if not isinstance(raw, dict):
            problems.append((("jobs", name), "expected a mapping", doc.path))
            continue
        jobs[name] = _load_job(doc, name, raw, settings, problems, prefix, depth)
    return jobs


def _load_job(
    doc: YamlDoc,
    name: str,
    raw: dict[str, Any],
    settings: dict[str, Any],
    problems: Problems,
    prefix: Where,
    depth: int,
) -> Job:
    where = ("jobs", name)
    job_type = str(raw.get("type", "command"))
    kind = job_type if job_type in KINDS else "command"
    key = "trial" if job_type == "sweep" else "component"
    ref = raw.get(key)
    component: Component | None = None
    nested: Pipeline | None = None
    target: YamlDoc | None = None
    if isinstance(ref, str) and ref.startswith("azureml:"):
        kind = "registered"
    elif isinstance(ref, str):
        file = component_path(doc.path, ref)
        assert file is not None
        if not file.is_file():
            problems.append(
                ((*where, key), f"component file {file} not found", doc.path)
            )
        else:
            target = _read(file, (*where, key), problems, doc.path)
    elif isinstance(ref, dict):
        target = sub_doc(doc, (*where, key))
    elif job_type == "pipeline" and isinstance(raw.get("jobs"), dict):
        target = sub_doc(doc, where)
    elif job_type == "command" and "command" in raw:
        component = inline_component(doc, name, raw)
    elif kind not in ("parallel", "spark", "automl"):
        problems.append(
            ((*where, key), "neither a component nor an inline command", doc.path)
        )
    if target is not None:
        ctype = component_type(target.data, target.path)
        if ctype == "pipeline":
            kind = "pipeline"
            nested = _nested(target, (*prefix, *where), depth, problems, doc.path)
        else:
            component = component_from(target)
            kind = KIND_OF_TYPE.get(ctype, kind)
    limits = raw.get("limits")
    return Job(
        name=name,
        component_ref=ref if isinstance(ref, str) else "",
        component=component,
        inputs=dict(raw.get("inputs") or {}),
        outputs=dict(raw.get("outputs") or {}),
        compute=raw.get("compute") or settings.get("default_compute"),
        timeout=limits.get("timeout") if isinstance(limits, dict) else None,
        kind=kind,
        pipeline=nested,
        raw=raw,
    )


def _read(file: Path, at: Where, problems: Problems, owner: Path) -> YamlDoc | None:
    try:
        return load_yaml(file, "component file")
    except UsageError as exc:
        problems.append((at, exc.message, owner))
        return None


def _nested(
    doc: YamlDoc, prefix: Where, depth: int, problems: Problems, owner: Path
) -> Pipeline | None:
    at = prefix[-2:]
    if depth >= MAX_DEPTH:
        message = f"pipelines nested deeper than {MAX_DEPTH} (one includes itself?)"
        problems.append((at, message, owner))
        return None
    try:
        return pipeline_from(doc, prefix, depth + 1)
    except UsageError as exc:
        problems.append((at, exc.message, owner))
        return None


def inline_component(doc: YamlDoc, name: str, raw: dict[str, Any]) -> Component:
    """The component an inline command job is: its inputs typed from their
    values, the way Azure ML builds an anonymous component from the job."""
    part = sub_doc(doc, ("jobs", name))
    base = component_from(part, inline=True)
    parent = doc.data.get("inputs") if isinstance(doc.data, dict) else None
    parent = parent if isinstance(parent, dict) else {}
    inputs = {
        key: Port(name=key, type=_inferred_type(value, parent))
        for key, value in (raw.get("inputs") or {}).items()
    }
    outputs = {
        key: Port(name=key, type=_declared(value) or "uri_folder")
        for key, value in (raw.get("outputs") or {}).items()
    }
    return Component(
        doc=part,
        name=name,
        inputs={str(k): v for k, v in inputs.items()},
        outputs={str(k): v for k, v in outputs.items()},
        command=base.command,
        code=base.code,
        environment=base.environment,
        deterministic=base.deterministic,
        inline=True,
    )


def _declared(value: Any) -> str | None:
    return str(value["type"]) if isinstance(value, dict) and "type" in value else None


def _inferred_type(value: Any, parent_inputs: dict[str, Any]) -> str:
    binding = parse_binding(value)
    if isinstance(binding, Binding) and binding.kind == "parent-input":
        return input_type(parent_inputs.get(binding.name)) or "string"
    if isinstance(binding, Binding):
        return "uri_folder"
    if declared := _declared(value):
        return declared
    if isinstance(value, dict) and "path" in value:
        return "uri_folder"
    return literal_type(value) or "string"


def input_value(raw: Any) -> Any:
    """The value of a pipeline-level input: literal, or ``{value|default|path}``."""
    if isinstance(raw, dict):
        for key in ("value", "default", "path"):
            if key in raw:
                return raw[key]
        return None
    return raw


def input_type(raw: Any) -> str | None:
    """The declared type of a pipeline-level input, or the type of its literal."""
    if isinstance(raw, dict) and "type" in raw:
        return str(raw["type"])
    return literal_type(input_value(raw))


def literal_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None
