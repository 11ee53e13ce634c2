"""Submitting one pipeline job to Azure ML, or attaching to the one that was.

The order is chosen so that nothing is created on the workspace for a
pipeline that would be refused: our checks and the ``--set`` values first,
then the clusters, then the data assets, the environments, and only then the
job itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.spec import Pipeline

if TYPE_CHECKING:
    from mlops_actions.pipeline.azure import AzureBackend


@dataclass(frozen=True)
class Submission:
    """What ``submit`` leaves for the steps after it (``submitted.json``)."""

    name: str
    url: str
    pipeline: str
    file: str
    #: True when a job of that name existed: this submission attached to it
    attached: bool = False
    experiment: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    #: pipeline input -> "NAME:VERSION" of the data asset it reads
    data: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"schema": "mlops-actions/azure-submission", "version": 1} | asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Submission:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in body.items() if k in known})


def submit_job(
    backend: AzureBackend, pipeline: Pipeline, overrides: dict[str, str]
) -> Submission:
    """Submit ``pipeline`` with ``overrides``; see the module docstring."""
    from mlops_actions.pipeline.azure_job import prepare_job
    from mlops_actions.pipeline.checks import check_pipeline
    from mlops_actions.pipeline.inputs import resolve_inputs, resolve_job_inputs
    from mlops_actions.pipeline.job_names import JOB_NAME, job_name
    from mlops_actions.pipeline.validate import more_problems
    from mlops_actions.registry.base import Audit

    if problems := check_pipeline(pipeline):
        raise UsageError(f"{problems[0]}", detail=more_problems(problems))
    typed = resolve_inputs(pipeline, overrides)
    resolve_job_inputs(pipeline, overrides)
    values: dict[str, Any] = {
        key: (value if key.startswith("jobs.") else typed[key])
        for key, value in overrides.items()
    }
    name = backend.job_name or job_name(
        pipeline.name, light=backend.light, environ=backend.environ
    )
    if not JOB_NAME.fullmatch(name):
        raise UsageError(
            f"--name {name!r}: an Azure ML job name is up to 255 letters, digits, "
            "'_' and '-', starting with a letter or digit"
        )
    client = backend.client
    existing = _existing_job(client, name)
    if existing is not None:
        return Submission(
            name=name,
            url=_studio_url(existing),
            pipeline=pipeline.name,
            file=str(pipeline.path),
            attached=True,
            experiment=str(getattr(existing, "experiment_name", "") or ""),
            inputs=_plain(typed),
            data=_data_tags(existing),
        )
    audit = Audit.from_env(backend.environ)
    tags = {"mlops.pipeline": pipeline.name, "mlops.file": str(pipeline.path)}
    if audit.commit:
        tags["mlops.commit"] = audit.commit
    if audit.run_url:
        tags["mlops.run_url"] = audit.run_url
    prepared = prepare_job(
        pipeline,
        values,
        name=name,
        step_timeout_s=int(backend.wait_timeout()),
        light=_light(backend) if backend.light else None,
        tags=tags,
        resolve_data=lambda uri: _resolve_data(client, uri),
    )
    _check_computes(backend, prepared.computes)
    _register_environments(backend, prepared.job, pipeline)
    created = _create(client, prepared.job)
    experiment = str(getattr(created, "experiment_name", "") or pipeline.experiment)
    return Submission(
        name=name,
        url=_studio_url(created),
        pipeline=pipeline.name,
        file=str(pipeline.path),
        experiment=experiment,
        inputs=_plain(typed),
        data=prepared.data,
    )


def _light(backend: AzureBackend) -> Any:
    from mlops_actions.pipeline.azure_job import Light

    config = getattr(backend.azure_config, "light", None)
    if config is None:
        raise UsageError(
            "--light: mlops.yaml has no azure.light section: name the CPU cluster "
            "every step runs on (azure.light.compute) and the inputs of a short "
            "run (azure.light.inputs)"
        )
    return Light(compute=config.compute, inputs=dict(config.inputs or {}))


def _existing_job(client: Any, name: str) -> Any:
    from azure.core.exceptions import ResourceNotFoundError

    from mlops_actions.azure.client import azure_error

    try:
        return client.jobs.get(name)
    except ResourceNotFoundError:
        return None
    except Exception as exc:  # azure-core and SDK errors, mapped in one place
        raise azure_error(exc, f"GET jobs/{name}") from None


def _create(client: Any, job: Any) -> Any:
    from mlops_actions.azure.client import azure_error, quiet_uploads

    try:
        with quiet_uploads():
            return client.jobs.create_or_update(job)
    except UsageError:
        raise
    except Exception as exc:
        raise azure_error(exc, f"submit job {job.name}") from None


def _resolve_data(client: Any, uri: str) -> str:
    from mlops_actions.data.azure import resolve_data_input

    name, version = resolve_data_input(client, uri)
    return f"{name}:{version}"


def _check_computes(backend: AzureBackend, names: set[str]) -> None:
    from mlops_actions.azure.compute import check_computes

    azure = backend.azure_config
    problems = check_computes(
        backend.client,
        sorted(names),
        getattr(azure, "compute", None) or {},
        create=backend.create_compute,
        warn=lambda line: print(f"warning: {line}", file=backend.log),
    )
    if problems:
        raise UsageError(problems[0], detail="\n".join(problems[1:]) or None)


def _register_environments(backend: AzureBackend, job: Any, pipeline: Pipeline) -> None:
    """Each environment the steps use, registered under its content version
    (idempotent), and the steps pointed at it."""
    from mlops_actions.azure.environments import (
        pipeline_environments,
        register_environments,
    )
    from mlops_actions.pipeline.azure_job import pin_environments

    registered = register_environments(
        backend.client, pipeline_environments(pipeline.path)
    )
    pin_environments(job, pipeline, registered)


def _studio_url(job: Any) -> str:
    services = getattr(job, "services", None) or {}
    studio = services.get("Studio") if isinstance(services, dict) else None
    return str(getattr(studio, "endpoint", "") or getattr(job, "studio_url", "") or "")


def _data_tags(job: Any) -> dict[str, str]:
    tags = getattr(job, "tags", None) or {}
    return {
        key.removeprefix("mlops.data."): str(value)
        for key, value in tags.items()
        if key.startswith("mlops.data.")
    }


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, (str, int, float, bool)) else str(value)
        for key, value in values.items()
    }
