"""Environments a pipeline uses, registered on Azure ML under content versions.

A component's ``environment:`` is a file (``file:../environments/cpu/
environment.yml``), an inline mapping, or a registered one
(``azureml:NAME:V`` / ``azureml:NAME@latest``, left as it is). Each of the
first two is registered as ``NAME:VERSION`` where VERSION hashes what the image
is made of: the environment's own fields except ``version``, the conda file's
bytes and the Docker build context's files. So the same definition is one
version however often it is submitted (a GET finds it and nothing is
uploaded), and a changed pin is a new version, hence a new image: Azure ML
builds each version into the workspace's ACR the first time a job uses it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mlops_actions.data.versions import VERSION_DIGITS, content_digest
from mlops_actions.azure.client import azure_error, quiet_uploads
from mlops_actions.errors import UsageError
from mlops_actions.redact import redact

#: Error codes Azure ML gives a failed image build (jobs, registries, endpoints).
BUILD_FAILURE_CODES = ("ImageBuildFailure", "EnvironmentBuildFailed")
_BUILD_FAILED = re.compile(
    r"image build fail|failed building the environment|environment build fail",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s'\"<>]+")
_LOG_WORDS = re.compile(r"\bbuild log\b|for more details", re.IGNORECASE)
#: The run's log that holds the image build (``azureml-logs/20_image_build_log.txt``).
_BUILD_LOG_NAME = re.compile(r"image_build_log|imagebuild|build\.log$", re.IGNORECASE)


def environment_key(raw: Any, base: Path) -> str:
    """What :func:`register_environments` keys a use of ``raw`` by: a
    registered reference as written, a file by its resolved path, an inline
    mapping by its canonical JSON and the folder its paths are relative to."""
    if isinstance(raw, Mapping):
        canonical = json.dumps(raw, sort_keys=True, default=str)
        return f"inline:{base.resolve().as_posix()}:{canonical}"
    text = str(raw)
    if text.startswith("azureml:"):
        return text
    return (base / text.removeprefix("file:")).resolve().as_posix()


def _definition(raw: Any, base: Path) -> tuple[dict[str, Any], Path]:
    """The environment's mapping and the folder its paths are relative to."""
    if isinstance(raw, Mapping):
        return dict(raw), base
    path = (base / str(raw).removeprefix("file:")).resolve()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"environment {raw}: cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"environment {raw}: {path} is not a mapping")
    return data, path.parent


def environment_version(raw: Any, base: Path) -> tuple[str, str]:
    """(name, content version) of a file or inline environment; see the
    module docstring for what the version covers. An environment with no
    ``name`` is named after its version (``mlops-env-<version>``)."""
    data, folder = _definition(raw, base)
    fields = {k: v for k, v in data.items() if k != "version"}
    h = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
    conda = data.get("conda_file")
    if isinstance(conda, str):
        conda_path = folder / conda.removeprefix("file:")
        try:
            h.update(b"\0conda\0" + conda_path.read_bytes())
        except OSError as exc:
            raise UsageError(
                f"environment {raw}: conda_file {conda_path}: {exc.strerror}"
            ) from None
    build = data.get("build")
    if isinstance(build, Mapping) and build.get("path"):
        context = folder / str(build["path"])
        if not context.is_dir():
            raise UsageError(
                f"environment {raw}: build.path {context} is not a folder: "
                "point it at the Docker build context"
            )
        h.update(b"\0build\0" + content_digest(context).encode())
    version = h.hexdigest()[:VERSION_DIGITS]
    name = str(data.get("name") or f"mlops-env-{version}")
    return name, version


def register_environment(client: Any, raw: Any, base: Path) -> str:
    """Register one environment (``raw`` as a component writes it, files
    relative to ``base``) unless that content version exists; return
    ``azureml:NAME:VERSION``. A registered reference is returned unchanged."""
    if not isinstance(raw, Mapping) and str(raw).startswith("azureml:"):
        return str(raw)
    from azure.ai.ml import load_environment
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    name, version = environment_version(raw, base)
    reference = f"azureml:{name}:{version}"
    try:
        client.environments.get(name=name, version=version)
        return reference
    except ResourceNotFoundError:
        pass
    except HttpResponseError as exc:
        raise azure_error(exc, f"read environment {name}:{version}") from None
    data, folder = _definition(raw, base)
    override = [{"name": name}, {"version": version}]
    stream = io.StringIO(yaml.safe_dump(data))
    entity = load_environment(
        stream,
        relative_origin=str(folder / "environment.yml"),
        params_override=override,
    )
    try:
        with quiet_uploads():
            client.environments.create_or_update(entity)
    except HttpResponseError as exc:
        raise azure_error(exc, f"register environment {name}:{version}") from None
    return reference


def register_environments(
    client: Any, uses: Iterable[tuple[Any, Path]]
) -> dict[str, str]:
    """Register each environment of ``uses`` (``(raw, base)`` pairs, as
    :func:`pipeline_environments` lists them) once; return
    ``{environment_key(raw, base): "azureml:NAME:VERSION"}``."""
    done: dict[str, str] = {}
    for raw, base in uses:
        key = environment_key(raw, base)
        if key not in done:
            done[key] = register_environment(client, raw, base)
    return done


def pipeline_environments(pipeline_file: Path) -> list[tuple[Any, Path]]:
    """``(environment, component folder)`` of every component a pipeline file
    runs, nested pipelines included; components with none are skipped."""
    from mlops_actions.pipeline.spec import load_pipeline

    found: list[tuple[Any, Path]] = []

    def walk(pipeline: Any) -> None:
        for job in pipeline.jobs.values():
            if job.pipeline is not None:
                walk(job.pipeline)
            component = job.component
            if component is not None and component.environment is not None:
                found.append((component.environment, component.path.parent))

    walk(load_pipeline(pipeline_file))
    return found


def environment_build_error(
    error: Mapping[str, Any] | str | None,
    *,
    log_files: Mapping[str, str] | None = None,
    run_url: str | None = None,
    step: str | None = None,
) -> str | None:
    """One line saying an environment image build failed, with the build log's
    URL; None when ``error`` is no build failure.

    ``error`` is the service's error for a job or step: run details'
    ``error`` (``{"error": {"code", "message"}}``), a job's ``error`` mapping
    (``code``, ``message``) or a message. Azure ML reports a failed build as
    ``UserError: Image build failed. Build log: URL`` (environments, registry
    builds), as code ``ImageBuildFailure``/``EnvironmentBuildFailed``, or as a
    failed preparing phase whose log ``azureml-logs/20_image_build_log.txt``
    is among the run's ``logFiles``. The URL is taken from the message, else
    from that log file, else ``run_url`` (the studio page); SAS signatures in
    it are masked.
    """
    code, message = _code_and_message(error)
    if code not in BUILD_FAILURE_CODES and not _BUILD_FAILED.search(message):
        return None
    url = None
    after = re.search(r"build log[^:]*:\s*(\S+)", message, re.IGNORECASE)
    if after and _URL.match(after.group(1)):
        url = after.group(1).rstrip(".,;")
    if url is None:
        url = next(
            (u for n, u in (log_files or {}).items() if _BUILD_LOG_NAME.search(n)),
            None,
        )
    if url is None:
        any_url = _URL.search(message)
        url = any_url.group(0).rstrip(".,;") if any_url else run_url
    first = _reason(message) or code or "image build failed"
    where = f" for step {step}" if step else ""
    log = f"; build log: {redact(url)}" if url else "; no build log URL was given"
    return redact(f"environment image build failed{where}: {first}{log}")


def _reason(message: str) -> str:
    """The message's first line without the sentences that point at a log
    (the URL is given once, at the end of our line)."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    sentences = re.split(r"(?<=[.;])\s+", line)
    kept = [s for s in sentences if not (_URL.search(s) or _LOG_WORDS.search(s))]
    return " ".join(kept).rstrip(" :.;")


def _code_and_message(error: Mapping[str, Any] | str | None) -> tuple[str, str]:
    if error is None:
        return "", ""
    if isinstance(error, str):
        return "", error
    inner = error.get("error")
    if isinstance(inner, Mapping):
        return _code_and_message(inner)
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    details = error.get("details") or error.get("inner_error") or []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, Mapping):
            sub_code, sub_message = _code_and_message(detail)
            if sub_code in BUILD_FAILURE_CODES or _BUILD_FAILED.search(sub_message):
                return sub_code or code, sub_message
    return code, message
