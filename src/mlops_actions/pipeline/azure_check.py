"""Azure ML's own validation of a pipeline or component file, run offline with
azure-ai-ml, its report turned into one line per problem.

The SDK reports in three shapes: a schema error whose text carries a JSON
report (often with text before and after it), the ``_validate()`` result (a
``{field path: message}`` map), and plain exceptions naming an expression.
Each becomes ``file:line: field: message``, the line found from the YAML.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from pathlib import Path
from typing import Any

from mlops_actions.errors import MissingDependency
from mlops_actions.pipeline.checks import Problem
from mlops_actions.pipeline.spec import Component, Pipeline
from mlops_actions.yamlfile import Where, YamlDoc, load_yaml


def azure_problems(pipeline: Pipeline) -> list[Problem]:
    """Load ``pipeline``'s file with ``azure.ai.ml.load_job`` and run its
    validation, as ``az ml job validate`` does."""
    sdk = _sdk()
    load_environments(pipeline)
    return _run(pipeline.doc, lambda: sdk.load_job(source=pipeline.path))


def azure_component_problems(component: Component) -> list[Problem]:
    """Load a component file with ``azure.ai.ml.load_component`` and run its
    validation."""
    sdk = _sdk()
    _load_environment(component)
    return _run(component.doc, lambda: sdk.load_component(source=component.path))


def _sdk() -> Any:
    try:
        import azure.ai.ml as sdk
    except ImportError:
        raise MissingDependency(
            "azure-ai-ml", "azure", "validation against Azure ML's schema"
        ) from None
    # The SDK logs each validation error at WARNING on top of returning it.
    logging.getLogger("azure.ai.ml").setLevel(logging.ERROR)
    return sdk


def _run(doc: YamlDoc, load: Any) -> list[Problem]:
    from azure.ai.ml.exceptions import ValidationException
    from marshmallow.exceptions import ValidationError

    try:
        entity = load()
    except (ValidationException, ValidationError) as exc:
        return report_problems(doc, str(exc))
    except Exception as exc:  # noqa: BLE001 - the SDK raises many unrelated types
        return report_problems(doc, str(exc))
    result = entity._validate()  # the CLI's `az ml job validate` runs the same
    problems = []
    for where, message in sorted(result.error_messages.items()):
        parts = tuple(str(where).split("."))
        problems.append(
            Problem(doc.path, doc.line(parts), str(where), one_line(message))
        )
    return problems


def load_environments(pipeline: Pipeline) -> None:
    """Load, bounded, the environment and conda files the components name.

    azure-ai-ml reads every YAML file a pipeline names (pipeline, components,
    environments, conda files) with an unbounded ``yaml.safe_load`` and then
    walks the data expanded: an alias bomb in any of them must be refused by
    our loader first. The pipeline and component files already were, by
    ``load_pipeline``; this does the others, nested pipelines' included.
    Raises UsageError.
    """
    for job in pipeline.jobs.values():
        if job.component is not None:
            _load_environment(job.component)
        if job.pipeline is not None:
            load_environments(job.pipeline)


def _load_environment(component: Component) -> None:
    env = component.environment
    if not (isinstance(env, str) and env.startswith("file:")):
        return
    env_file = (component.path.parent / env.removeprefix("file:")).resolve()
    if not env_file.is_file():
        return  # check_pipeline names it
    conda = load_yaml(env_file, "environment file").data.get("conda_file")
    if isinstance(conda, str) and not conda.startswith(("azureml:", "http")):
        conda_file = env_file.parent / conda.removeprefix("file:")
        if conda_file.is_file():
            load_yaml(conda_file, "conda file")


def report_problems(doc: YamlDoc, text: str) -> list[Problem]:
    """One problem per error of an SDK report: the JSON ``errors`` list
    wherever it sits in the text, else the text itself, located from an
    expression or field it names."""
    errors = _json_errors(text)
    if errors is None:
        at = _locate(doc, text)
        where = ".".join(at) if at else "azure-ai-ml"
        first = text.strip().split("\n")[0]  # the rest is the SDK's advice
        return [Problem(doc.path, doc.line(at or ()), where, one_line(first))]
    problems = []
    for error in errors:
        location = str(error.get("location", ""))
        file, _, line = location.partition("#line ")
        path = str(error.get("path", "")) or "azure-ai-ml"
        message = sdk_message(str(error.get("message", "")))
        if not line.isdigit():
            line = str(doc.line(tuple(path.split("."))) or "")
        problems.append(
            Problem(
                _shown(Path(file), doc) if file else doc.path,
                int(line) if line.isdigit() else None,
                path,
                one_line(message),
            )
        )
    return problems


def sdk_message(text: str) -> str:
    """The first message of an SDK error text: marshmallow nests them in the
    repr of dicts and lists (``{'type': ["Value 'x' passed is not in set
    [...]"]}; ...``); the most specific leaf is kept."""
    first = re.split(r";\s|\n", text)[0]
    try:
        nested = ast.literal_eval(first)
    except (ValueError, SyntaxError):
        return first.strip("[]'\" ")
    leaves: list[str] = []
    stack = [nested]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            stack += list(item.values())
        elif isinstance(item, (list, tuple)):
            stack += list(item)
        elif isinstance(item, str):
            leaves.append(item)
    specific = [leaf for leaf in leaves if "not in set" in leaf]
    return (specific or leaves or [first])[0]


def _shown(file: Path, doc: YamlDoc) -> Path:
    """``file`` as the user named it when it is the file being validated."""
    try:
        return doc.path if file.resolve() == doc.path.resolve() else file
    except OSError:
        return file


def _json_errors(text: str) -> list[dict[str, Any]] | None:
    """The ``errors`` of the first JSON object in ``text`` that has them."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            found, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(found, dict) and isinstance(found.get("errors"), list):
            return [e for e in found["errors"] if isinstance(e, dict)]
    return None


def _locate(doc: YamlDoc, text: str) -> Where | None:
    """Where in ``doc`` a value quoted by ``text`` sits (an expression such as
    ``${{parent.jobs.x.outputs.y}}``), if one is."""
    quoted = set(re.findall(r"\$\{\{[^{}]*\}\}", text))
    if not quoted:
        return None
    stack: list[tuple[Where, Any]] = [((), doc.data)]
    found = []
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack += [((*where, str(k)), v) for k, v in value.items()]
        elif isinstance(value, str) and value.strip() in quoted:
            found.append(where)
    return min(found, key=lambda w: doc.line(w) or 0) if found else None


def one_line(text: str) -> str:
    return " ".join(text.split())
