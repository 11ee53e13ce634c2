"""Azure ML's own validation of a pipeline file, run offline with azure-ai-ml."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from mlops_actions.errors import MissingDependency
from mlops_actions.pipeline.checks import Problem
from mlops_actions.pipeline.spec import Pipeline
from mlops_actions.yamlfile import load_yaml


def azure_problems(pipeline: Pipeline) -> list[Problem]:
    """Load ``pipeline``'s file with ``azure.ai.ml.load_job`` and run its
    validation."""
    try:
        from azure.ai.ml import load_job
        from azure.ai.ml.entities import PipelineJob
        from azure.ai.ml.exceptions import ValidationException
    except ImportError:
        raise MissingDependency(
            "azure-ai-ml", "azure", "validation against Azure ML's schema"
        ) from None
    # The SDK logs each validation error at WARNING on top of returning it.
    logging.getLogger("azure.ai.ml").setLevel(logging.ERROR)
    path, doc = pipeline.path, pipeline.doc
    load_environments(pipeline)
    try:
        job = load_job(source=path)
    except ValidationException as exc:
        return _schema_problems(path, str(exc))
    except Exception as exc:  # noqa: BLE001 - the SDK raises many unrelated types
        return [Problem(path, None, "azure-ai-ml", _one_line(f"{exc}"))]
    if not isinstance(job, PipelineJob):
        return [Problem(path, doc.line(("type",)), "type", "not a pipeline job")]
    result = job._validate()  # the CLI's `az ml job validate` runs the same
    problems = []
    for where, message in sorted(result.error_messages.items()):
        parts = tuple(str(where).split("."))
        problems.append(Problem(path, doc.line(parts), str(where), _one_line(message)))
    return problems


def load_environments(pipeline: Pipeline) -> None:
    """Load, bounded, the environment and conda files the components name.

    azure-ai-ml reads every YAML file a pipeline names (pipeline, components,
    environments, conda files) with an unbounded ``yaml.safe_load`` and then
    walks the data expanded: an alias bomb in any of them must be refused by
    our loader first. The pipeline and component files already were, by
    ``load_pipeline``; this does the others. Raises UsageError.
    """
    for job in pipeline.jobs.values():
        component = job.component
        env = component.environment if component else None
        if component is None or not (isinstance(env, str) and env.startswith("file:")):
            continue
        env_file = (component.path.parent / env.removeprefix("file:")).resolve()
        if not env_file.is_file():
            continue  # check_pipeline names it
        conda = load_yaml(env_file, "environment file").data.get("conda_file")
        if isinstance(conda, str) and not conda.startswith(("azureml:", "http")):
            conda_file = env_file.parent / conda.removeprefix("file:")
            if conda_file.is_file():
                load_yaml(conda_file, "conda file")


def _schema_problems(path: Path, text: str) -> list[Problem]:
    """Problems from the JSON report a schema ValidationException carries."""
    start = text.find("{")
    try:
        errors = json.loads(text[start:])["errors"]
    except (ValueError, KeyError, TypeError):
        return [Problem(path, None, "azure-ai-ml", _one_line(text))]
    problems = []
    for error in errors:
        file, _, line = str(error.get("location", "")).partition("#line ")
        message = re.split(r"[;\n]", str(error.get("message", "")))[0]
        problems.append(
            Problem(
                Path(file) if file else path,
                int(line) if line.isdigit() else None,
                str(error.get("path", "azure-ai-ml")),
                _one_line(message.strip("[]'\" ")),
            )
        )
    return problems


def _one_line(text: str) -> str:
    return " ".join(text.split())
