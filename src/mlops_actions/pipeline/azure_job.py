"""The Azure ML job object for one submission, made from the user's YAML.

The same file the local backend runs is loaded with azure-ai-ml's own loader;
then only what a submission decides is changed on it: the input values given
with ``--set`` (and the light variant's), every step's compute for the light
variant, a server-side timeout on every step (an orphaned job dies on its
own), data assets named ``@latest`` pinned to the version they resolve to
now (recorded: the lineage of the model this run trains), the job's name and
tags. Nothing else of the user's pipeline is touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.spec import Pipeline, input_type

#: ``azureml:NAME@latest`` or ``azureml:NAME:VERSION`` (a data asset reference)
DATA_ASSET = re.compile(r"azureml:(?!//)([A-Za-z0-9][A-Za-z0-9._-]*)(?:@latest|:(.+))")
_DATA_TYPES = ("uri_file", "uri_folder", "mltable")


@dataclass(frozen=True)
class Light:
    """The CI variant: every step on ``compute``, ``inputs`` as its values."""

    compute: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Prepared:
    """The job to submit and what the submission decided for it."""

    job: Any  # azure.ai.ml.entities.PipelineJob
    #: pipeline input -> "NAME:VERSION" of the data asset it reads
    data: dict[str, str] = field(default_factory=dict)
    #: every compute a step runs on (without the ``azureml:`` prefix)
    computes: set[str] = field(default_factory=set)


def prepare_job(
    pipeline: Pipeline,
    overrides: Mapping[str, str],
    *,
    name: str,
    step_timeout_s: int,
    light: Light | None = None,
    tags: Mapping[str, str] | None = None,
    resolve_data: Callable[[str], str] | None = None,
) -> Prepared:
    """Load ``pipeline``'s file with azure-ai-ml and apply the submission.

    ``overrides`` are ``--set`` values (pipeline inputs, or
    ``jobs.NODE.inputs.NAME``) already checked against the pipeline;
    ``resolve_data`` turns ``azureml:NAME@latest`` / ``azureml:NAME:V`` into
    ``NAME:VERSION`` (the data asset's current version).
    """
    from azure.ai.ml import load_job

    job: Any = load_job(pipeline.path)  # a PipelineJob: the file says type: pipeline
    job.name = name
    job.tags = {**(job.tags or {}), **(tags or {})}
    values: dict[str, Any] = dict(light.inputs) if light else {}
    values.update(overrides)
    for key, value in values.items():
        if key.startswith("jobs."):
            node, _, port = key[len("jobs.") :].partition(".inputs.")
            setattr(_node(job, node).inputs, port, value)
        elif key not in pipeline.inputs:
            raise UsageError(
                f"light.inputs.{key} in mlops.yaml: {pipeline.path} has no input "
                f"{key!r} (known: {', '.join(pipeline.inputs) or 'none'})"
            )
        else:
            setattr(job.inputs, key, _input(pipeline, key, value))
    if light and light.compute:
        job.settings.default_compute = light.compute
    prepared = Prepared(job)
    for node in _steps(job):
        if light and light.compute:
            node.compute = light.compute
        if hasattr(node, "set_limits"):
            node.set_limits(timeout=step_timeout_s)
        compute = node.compute or job.settings.default_compute
        if compute and str(compute) != "serverless":
            prepared.computes.add(str(compute).removeprefix("azureml:"))
    if resolve_data is not None:
        prepared.data = _pin_data(job, resolve_data)
    for input_name, asset in sorted(prepared.data.items()):
        job.tags[f"mlops.data.{input_name}"] = asset
    return prepared


def _input(pipeline: Pipeline, key: str, value: Any) -> Any:
    """A data input as an ``Input`` of its declared type; a literal as itself."""
    declared = input_type(pipeline.inputs[key])
    if declared in _DATA_TYPES or declared == "mlflow_model":
        from azure.ai.ml import Input

        return Input(type=declared, path=str(value))
    return value


def _pin_data(job: Any, resolve: Callable[[str], str]) -> dict[str, str]:
    """Pin every pipeline input naming a data asset to its current version."""
    from azure.ai.ml import Input

    pinned: dict[str, str] = {}
    for key, given in list(job.inputs.items()):
        data = getattr(given, "_data", given)
        path = getattr(data, "path", data)
        if not isinstance(path, str) or not DATA_ASSET.fullmatch(path):
            continue
        asset = resolve(path)
        pinned[key] = asset
        kind = getattr(data, "type", None)
        # a data input stays one; a string input (a step that reads the
        # reference itself) stays a string, pinned all the same
        reference = f"azureml:{asset}"
        pinned_to = Input(type=kind, path=reference) if kind else reference
        setattr(job.inputs, key, pinned_to)
    return pinned


def _steps(job: Any) -> Iterator[Any]:
    """Every node that runs, nested pipelines' nodes included."""
    for node in job.jobs.values():
        inner = getattr(getattr(node, "component", None), "jobs", None)
        if isinstance(inner, dict) and inner:
            yield from _steps(node.component)
        else:
            yield node


def _node(job: Any, path: str) -> Any:
    current = job
    for part in path.split("/"):
        jobs = getattr(current, "jobs", None) or getattr(
            getattr(current, "component", None), "jobs", {}
        )
        if part not in jobs:
            raise UsageError(f"--set jobs.{path}: no job {part!r} in the pipeline")
        current = jobs[part]
    return current


def pin_environments(
    job: Any, pipeline: Pipeline, registered: Mapping[str, str]
) -> int:
    """Point every step's component at its registered environment.

    ``registered`` maps :func:`~mlops_actions.azure.environments.environment_key`
    of a component's ``environment:`` (as our spec read it) to
    ``azureml:NAME:VERSION``; the SDK job's nodes are matched to the spec's
    jobs by name, nested pipelines included. Returns how many were pinned.
    """
    from mlops_actions.azure.environments import environment_key

    pinned = 0
    for name, spec_job in pipeline.jobs.items():
        node = job.jobs.get(name)
        if node is None:
            continue
        if spec_job.pipeline is not None:
            pinned += pin_environments(node.component, spec_job.pipeline, registered)
            continue
        component = spec_job.component
        if component is None or component.environment is None:
            continue
        reference = registered.get(
            environment_key(component.environment, component.path.parent)
        )
        target = getattr(node, "trial", None) or getattr(node, "component", None)
        if reference and target is not None and not isinstance(target, str):
            target.environment = reference
            pinned += 1
    return pinned
