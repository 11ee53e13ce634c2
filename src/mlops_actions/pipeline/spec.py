"""The pipeline and component files as data: what a pipeline YAML declares.

Loading is lenient and structural; :mod:`.checks` says what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.yamlfile import Where, YamlDoc, load_yaml

LITERAL_TYPES = ("string", "integer", "number", "boolean")
DATA_TYPES = ("uri_file", "uri_folder", "mlflow_model", "custom_model", "mltable")


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
        return found


def _ports(raw: Any) -> dict[str, Port]:
    ports = {}
    for name, spec in (raw or {}).items():
        spec = spec if isinstance(spec, dict) else {"type": "string", "default": spec}
        ports[str(name)] = Port(
            name=str(name),
            type=str(spec.get("type", "string")),
            default=spec.get("default"),
            optional=bool(spec.get("optional", False)),
            enum=tuple(spec.get("enum") or ()),
            min=spec.get("min"),
            max=spec.get("max"),
        )
    return ports


def load_component(path: Path) -> Component:
    doc = load_yaml(path, "component file")
    data = doc.data
    if data.get("type", "command") != "command":
        raise UsageError(
            f"{path}: type: only command components run locally, "
            f"got {data.get('type')!r}"
        )
    code = data.get("code")
    code_path = None
    if isinstance(code, str) and not code.startswith(("azureml:", "http")):
        code_path = (path.parent / code.removeprefix("file:")).resolve()
    return Component(
        doc=doc,
        name=str(data.get("name") or path.parent.name),
        inputs=_ports(data.get("inputs")),
        outputs=_ports(data.get("outputs")),
        command=str(data.get("command") or ""),
        code=code_path,
        environment=data.get("environment"),
        deterministic=bool(data.get("is_deterministic", True)),
    )


def component_path(pipeline_file: Path, ref: str) -> Path | None:
    """Local file a ``component:`` value points to; None for registry refs."""
    if ref.startswith("azureml:"):
        return None
    return pipeline_file.parent / ref.removeprefix("file:")


def load_pipeline(path: Path) -> Pipeline:
    """Parse a pipeline job file and the component files it names."""
    doc = load_yaml(path, "pipeline file")
    data = doc.data
    if data.get("type", "pipeline") != "pipeline":
        raise UsageError(f"{path}: type: expected pipeline, got {data.get('type')!r}")
    raw_jobs = data.get("jobs")
    if not isinstance(raw_jobs, dict) or not raw_jobs:
        raise UsageError(f"{path}: jobs: a pipeline needs at least one job")
    problems: list[tuple[Where, str, Path]] = []
    jobs = {}
    for name, raw in raw_jobs.items():
        name = str(name)
        where = ("jobs", name)
        if not isinstance(raw, dict):
            problems.append((where, "expected a mapping", path))
            continue
        ref = raw.get("component")
        component = None
        if not isinstance(ref, str):
            problems.append(((*where, "component"), "component file not set", path))
            ref = ""
        elif (file := component_path(path, ref)) is None:
            problems.append(
                (
                    (*where, "component"),
                    f"{ref} is a registry component; use a file to run locally",
                    path,
                )
            )
        elif not file.is_file():
            problems.append(
                ((*where, "component"), f"component file {file} not found", path)
            )
        else:
            try:
                component = load_component(file)
            except UsageError as exc:
                problems.append(((*where, "component"), exc.message, path))
        settings = data.get("settings") or {}
        limits = raw.get("limits") or {}
        jobs[name] = Job(
            name=name,
            component_ref=ref,
            component=component,
            inputs=dict(raw.get("inputs") or {}),
            outputs=dict(raw.get("outputs") or {}),
            compute=raw.get("compute") or settings.get("default_compute"),
            timeout=limits.get("timeout") if isinstance(limits, dict) else None,
        )
    settings = data.get("settings") or {}
    return Pipeline(
        doc=doc,
        name=str(data.get("display_name") or data.get("name") or path.stem),
        experiment=str(data.get("experiment_name") or path.stem),
        inputs=dict(data.get("inputs") or {}),
        outputs=dict(data.get("outputs") or {}),
        jobs=jobs,
        default_compute=settings.get("default_compute"),
        load_problems=problems,
    )


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
