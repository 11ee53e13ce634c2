"""The Azure ML pipeline backend: the same YAML, submitted to a workspace.

``submit`` checks the pipeline as the local backend does, prepares the
azure-ai-ml job (:mod:`mlops_actions.pipeline.azure_job`), checks the clusters
it names (creating them from ``mlops.yaml`` when asked), registers the
environments it uses, and submits it under its deterministic name — or
attaches to the job a previous attempt of the same step submitted. The run
handle waits by streaming the job's logs (:mod:`mlops_actions.azure.waiting`)
and, once the job completed, downloads its outputs into the folders the
local backend would have written, so the gate and the registry read the same
files whichever backend ran the pipeline.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mlops_actions.errors import UsageError
from mlops_actions.jsonio import read_json, write_json
from mlops_actions.pipeline.backend import PipelineBackend, StepEvent, SubmittedRun
from mlops_actions.pipeline.spec import Pipeline
from mlops_actions.records.pipeline import RunRecord

#: Where ``submit`` leaves the job it submitted, for ``mlops pipeline cancel``
#: in an ``if: cancelled()`` step (relative to the state folder).
SUBMITTED = Path("azure") / "submitted.json"
#: A pipeline wait's bound when neither --timeout nor mlops.yaml sets one.
DEFAULT_TIMEOUT_S = 4 * 3600


class AzureBackend(PipelineBackend):
    """Pipelines on an Azure ML workspace."""

    name = "azure"

    def __init__(
        self,
        state: Path,
        *,
        use_cache: bool = True,
        on_event: Callable[[StepEvent], None] | None = None,
        echo: IO[str] | None = None,
        jobs: int | None = None,
        client: Any = None,
        workspace: Any = None,
        project: Any = None,
        light: bool = False,
        timeout_s: float | None = None,
        job_name: str | None = None,
        create_compute: bool = False,
        log: IO[str] | None = None,
        announce: Callable[[Any], None] | None = None,
        environ: dict[str, str] | None = None,
        **_ignored: Any,
    ) -> None:
        # use_cache, jobs and on_event are the local runner's: Azure ML reuses
        # steps itself (is_deterministic), runs as many as its clusters allow,
        # and its streamed log says how each step goes.
        self.state = state
        self._client = client
        self._workspace = workspace
        self._project = project
        self.light = light
        self.timeout_s = timeout_s
        self.job_name = job_name
        self.create_compute = create_compute
        self.log = log if log is not None else (echo or sys.stderr)
        #: told the Submission as soon as the job exists (name, studio URL)
        self.announce = announce
        self.environ = dict(os.environ if environ is None else environ)

    # -- the connection, made on first use ------------------------------------

    @property
    def project(self) -> Any:
        if self._project is None:
            from mlops_actions.project import load_project

            self._project = load_project()
        return self._project

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlops_actions.azure.client import ml_client
            from mlops_actions.azure.workspace import resolve_workspace

            workspace = self._workspace or resolve_workspace(project=self.project)
            self._client = ml_client(workspace)
        return self._client

    @property
    def azure_config(self) -> Any:
        """mlops.yaml's ``azure:`` section."""
        return getattr(self.project, "azure", None)

    def wait_timeout(self, given: float | None = None) -> float:
        config = self.azure_config
        for value in (given, self.timeout_s, getattr(config, "timeout", None)):
            if value is not None:
                return float(value)
        return float(DEFAULT_TIMEOUT_S)

    # -- the interface ------------------------------------------------------

    def submit(self, pipeline: Pipeline, overrides: dict[str, str]) -> AzureRun:
        from mlops_actions.pipeline.azure_submit import submit_job

        submitted = submit_job(self, pipeline, overrides)
        write_json(self.state / SUBMITTED, submitted.to_json())
        if self.announce is not None:
            self.announce(submitted)
        return AzureRun(self, submitted)

    def attach(self, name: str | None = None) -> AzureRun:
        """The run of job ``name`` (default: the one ``submit`` left here)."""
        from mlops_actions.pipeline.azure_submit import Submission

        if name is None:
            saved = read_json(self.state / SUBMITTED)
            if not saved or not saved.get("name"):
                raise UsageError(
                    f"no job named and none submitted from here "
                    f"({self.state / SUBMITTED} is missing): give the job name"
                )
            return AzureRun(self, Submission.from_json(saved))
        return AzureRun(self, Submission(name=name, url="", pipeline=name, file=""))


class AzureRun(SubmittedRun):
    """One pipeline job on the workspace."""

    def __init__(self, backend: AzureBackend, submission: Any) -> None:
        self.backend = backend
        self.submission = submission
        self._outputs: dict[str, str] | None = None

    @property
    def run_id(self) -> str:
        return str(self.submission.name)

    @property
    def url(self) -> str:
        return str(self.submission.url)

    @property
    def folder(self) -> Path:
        return (self.backend.state / "runs" / self.run_id).resolve()

    def wait(self, timeout: float | None = None) -> str:
        from mlops_actions.azure.waiting import wait_for_job

        wait_for_job(
            self.backend.client,
            self.run_id,
            timeout_s=self.backend.wait_timeout(timeout),
            out=self.backend.log,
        )
        return "completed"

    def status(self) -> str:
        from mlops_actions.azure.jobs import get_state, run_status

        return run_status(get_state(self.backend.client, self.run_id).state)

    def cancel(self) -> None:
        from mlops_actions.azure.waiting import cancel_job

        cancel_job(self.backend.client, self.run_id)

    def outputs(self) -> dict[str, str]:
        if self._outputs is None:
            from mlops_actions.pipeline.azure_outputs import download_outputs

            self._outputs = download_outputs(
                self.backend.client, self.run_id, self.folder / "outputs"
            )
        return dict(self._outputs)

    def record(self) -> RunRecord:
        from mlops_actions.pipeline.azure_outputs import run_record

        return run_record(self)
