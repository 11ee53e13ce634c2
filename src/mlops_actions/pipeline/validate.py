"""``mlops pipeline validate`` as a use case: Azure ML's verdict plus ours.

azure-ai-ml's load and validation always run, whether our graph checks pass
or not, and both are reported. What the local backend cannot run is a
warning (an error with ``target="local"``); it is an error only for what
Azure ML would reject too, or for one of our documented graph checks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions.errors import MissingDependency, UsageError
from mlops_actions.pipeline import sweep
from mlops_actions.pipeline.azure_check import (
    azure_component_problems,
    azure_problems,
)
from mlops_actions.pipeline.checks import (
    Finding,
    Problem,
    check_component,
    check_pipeline,
    execution_order,
    pipeline_warnings,
)
from mlops_actions.pipeline.spec import (
    Component,
    Job,
    Pipeline,
    component_from,
    input_value,
    component_type,
    load_pipeline,
    pipeline_from,
)
from mlops_actions.yamlfile import Where, load_yaml

TARGETS = ("azure", "local")


@dataclass(frozen=True)
class Validation:
    """What validating a file found; empty ``problems`` means valid."""

    file: Path
    spec: Pipeline | None
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()
    #: the component, when the file is a component file
    component: Component | None = None

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def jobs(self) -> list[str]:
        """Execution order when valid; file order otherwise (there may be no
        order, e.g. with a cycle)."""
        if self.spec is None:
            return []
        return execution_order(self.spec) if self.valid else list(self.spec.jobs)

    def to_json(self) -> dict[str, Any]:
        """The report ``--json`` prints."""
        return {
            "file": str(self.file),
            "kind": "component" if self.component else "pipeline",
            "valid": self.valid,
            "jobs": self.jobs,
            "problems": [_json(p) for p in self.problems],
            "warnings": [_json(p) for p in self.warnings],
        }

    def error(self) -> UsageError | None:
        """The first problem as the error to exit with, the rest as its detail."""
        if not self.problems:
            return None
        return UsageError(str(self.problems[0]), detail=more_problems(self.problems))


def _json(problem: Problem) -> dict[str, Any]:
    return problem.__dict__ | {"file": str(problem.file)}


def validate_file(file: Path, target: str = "azure") -> Validation:
    """Validate ``file`` as what it is: a pipeline job or a component."""
    doc = load_yaml(file, "pipeline file")
    if is_component(doc.data, file):
        return validate_component(file)
    return validate_pipeline(file, target)


def is_component(data: Any, file: Path) -> bool:
    """A component file: its ``$schema`` says so, or its type is not
    ``pipeline`` (pipeline jobs and pipeline components share that type)."""
    if not isinstance(data, dict):
        return False
    schema = str(data.get("$schema", ""))
    if schema:
        return "Component" in schema or "promptflow" in schema
    return component_type(data, file) != "pipeline"


def validate_pipeline(file: Path, target: str = "azure") -> Validation:
    """Our graph checks and azure-ai-ml's validation, both always run; what
    the local backend cannot run is a warning unless ``target`` is local."""
    spec = load_pipeline(file)
    ours = check_pipeline(spec)
    warnings = pipeline_warnings(spec)
    theirs, note = _azure(file, lambda: azure_problems(spec), ours)
    refusals = local_refusals(spec)
    if target == "local":
        ours += refusals
    else:
        warnings += [dataclasses.replace(p, severity="warning") for p in refusals]
    return Validation(
        file, spec, _merged(ours, theirs), tuple(sorted(warnings, key=_order) + note)
    )


def validate_component(file: Path) -> Validation:
    """A component file: azure-ai-ml's ``load_component`` and our checks."""
    doc = load_yaml(file, "component file")
    component = component_from(doc)
    spec = pipeline_from(doc, ()) if component.type == "pipeline" else None
    if spec is not None:
        found = check_pipeline(spec)
    else:
        found = [Finding(doc, w, w, m).problem() for w, m in check_component(component)]
    theirs, note = _azure(file, lambda: azure_component_problems(component), found)
    return Validation(file, spec, _merged(found, theirs), tuple(note), component)


def _azure(
    file: Path, check: Any, ours: list[Problem]
) -> tuple[list[Problem], list[Problem]]:
    """azure-ai-ml's problems; without the SDK, our errors are still reported
    and its absence is a warning (exit 4 only when there is nothing else)."""
    try:
        return check(), []
    except MissingDependency as exc:
        if not ours:
            raise
        skipped = f"Azure ML's own validation skipped: {exc.message}"
        return [], [Problem(file, None, "azure-ai-ml", skipped, "warning")]


def _merged(ours: list[Problem], theirs: list[Problem]) -> tuple[Problem, ...]:
    """Both reports in file order; the SDK's line for a field ours already
    names is dropped (the same problem said twice)."""
    named = {(str(p.file), p.where) for p in ours}
    extra = [p for p in theirs if (str(p.file), p.where) not in named]
    return tuple(sorted(ours + extra, key=_order))


def _order(problem: Problem) -> tuple[str, int]:
    return (str(problem.file), problem.line or 0)


#: What each kind of job the local backend cannot run is, in the user's words.
AZURE_ONLY = {
    "spark": "spark",
    "parallel": "parallel",
    "automl": "AutoML",
    "flow": "prompt flow",
    "registered": "registered component",
}


def local_refusals(
    pipeline: Pipeline, overrides: dict[str, str] | None = None
) -> list[Problem]:
    """What the local backend cannot run, one problem per node: jobs that run
    on Azure only, and ``azureml:`` data inputs no ``--set`` replaces, in
    nested pipelines too (named from the file the user named)."""
    overrides = overrides or {}
    found: list[Finding] = []
    for name, raw in pipeline.inputs.items():
        if name not in overrides and _is_asset(input_value(raw)):
            found.append(_asset(pipeline, ("inputs", name), raw, name))
    found += _refused_jobs(pipeline, overrides, "")
    return [f.problem() for f in found]


def _refused_jobs(
    pipeline: Pipeline, overrides: dict[str, str], path: str
) -> list[Finding]:
    """The refusals of ``pipeline``'s jobs; ``path``: where it is nested, as
    ``--set jobs.PATH/NODE.inputs.NAME`` names its jobs (``outer/``)."""
    found: list[Finding] = []
    for job in pipeline.jobs.values():
        at: Where = ("jobs", job.name)
        if job.kind in AZURE_ONLY:
            what = AZURE_ONLY[job.kind]
            if job.kind == "registered":
                what += f" {job.component_ref}"
            where = (*pipeline.prefix, *at)
            found.append(
                Finding(pipeline.doc, at, where, f"runs on Azure only: {what}")
            )
            continue
        found += _job_assets(pipeline, job, overrides, path)
        if job.kind == "sweep":
            found += _sweep_plan(pipeline, job)
        if job.pipeline is not None:
            found += _default_assets(job, job.pipeline, overrides, path)
            found += _refused_jobs(job.pipeline, overrides, f"{path}{job.name}/")
    return found


def _sweep_plan(pipeline: Pipeline, job: Job) -> list[Finding]:
    """A sweep the local backend cannot plan (its trials, objective, limits)."""
    try:
        sweep.plan(job)
    except sweep.SweepError as exc:
        at = ("jobs", job.name, *exc.where)
        return [Finding(pipeline.doc, at, (*pipeline.prefix, *at), exc.reason)]
    return []


def _job_assets(
    pipeline: Pipeline, job: Job, overrides: dict[str, str], path: str
) -> list[Finding]:
    found = []
    for name, raw in job.inputs.items():
        at = ("jobs", job.name, "inputs", name)
        key = f"jobs.{path}{job.name}.inputs.{name}"
        if key not in overrides and _is_asset(input_value(raw)):
            found.append(_asset(pipeline, at, raw, key))
    return found


def _default_assets(
    job: Job, nested: Pipeline, overrides: dict[str, str], path: str
) -> list[Finding]:
    """``azureml:`` defaults of the nested pipeline's inputs the pipeline job
    leaves unset."""
    found = []
    for name, raw in nested.inputs.items():
        key = f"jobs.{path}{job.name}.inputs.{name}"
        if name in job.inputs or key in overrides:
            continue
        if _is_asset(input_value(raw)):
            found.append(_asset(nested, ("inputs", name), raw, key))
    return found


def _is_asset(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("azureml:")


def _asset(pipeline: Pipeline, at: Where, raw: Any, name: str) -> Finding:
    message = asset_message(input_value(raw), name)
    return Finding(pipeline.doc, at, (*pipeline.prefix, *at), message)


def asset_message(value: Any, name: str) -> str:
    """What to do about an ``azureml:`` data input, which only Azure resolves;
    ``name`` is what ``--set`` replaces it with."""
    return (
        f"{value} is a workspace data asset: pass a local path with "
        f"--set {name}=PATH, or run with --backend azure"
    )


def more_problems(problems: tuple[Problem, ...] | list[Problem]) -> str | None:
    """Problems after the first, one ``error:`` line each."""
    return "\n".join(f"error: {p}" for p in problems[1:]) or None


def output_warnings(
    result: Validation,
    rules: Path,
    model_output: str | None,
    metrics_output: str | None,
) -> list[str]:
    """Warning lines for a valid pipeline lacking the model or metrics output
    that ``rules`` (when the file exists) or the flags name; none for a
    component, or when neither says which names the project uses. A bad flag
    is a UsageError; a bad ``rules`` file only a warning (validate checks the
    pipeline, the gate checks its rules)."""
    from mlops_actions.gate.rules import load_rules, output_names
    from mlops_actions.pipeline.outputs import missing_outputs

    names = output_names(None, model=model_output, metrics=metrics_output)
    if result.spec is None or result.problems:
        return []
    if not rules.is_file() and not (model_output or metrics_output):
        return []
    if rules.is_file():
        try:
            spec = load_rules(rules)
        except UsageError as exc:
            return [
                f"{exc.message} (the pipeline's model and metrics outputs were "
                "not checked)"
            ]
        names = output_names(spec, model=model_output, metrics=metrics_output)
    found = missing_outputs(result.spec, model=names.model, metrics=names.metrics)
    return [str(problem) for problem in found]
