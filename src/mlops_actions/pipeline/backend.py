"""The pipeline backend interface: submit a pipeline, get a run handle back.

Pure: no SDK is imported here. The docstrings of :class:`PipelineBackend` and
:class:`SubmittedRun` are the contract; ``tests/contracts/test_pipeline_backend.py``
runs it against every implementation. Callers (``mlops pipeline run``, the
release loop) hold these types only, so another backend is a choice of
implementation, not an edit of theirs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mlops_actions.implementations import implementation
from mlops_actions.records.pipeline import RunRecord
from mlops_actions.pipeline.spec import Pipeline

#: Every status a run reports; the last three are final.
RUN_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
FINAL_STATUSES = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class StepEvent:
    """Progress of one step, for whoever renders it."""

    step: str
    index: int
    total: int
    #: started | completed | reused | changed | failed | cancelled; ``changed``:
    #: a cached step's outputs changed since its run, so it runs again
    status: str
    seconds: float = 0.0
    reused_from: str | None = None
    reason: str | None = None
    #: what else to say when it ended (a sweep: its best trial)
    note: str | None = None


class SubmittedRun(ABC):
    """One submitted pipeline run: wait for it, ask after it, cancel it."""

    @property
    @abstractmethod
    def run_id(self) -> str:
        """The run's id on its backend, as ``mlops pipeline run`` prints it."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> str:
        """Block until the run ends; return ``completed``.

        Raises :class:`~mlops_actions.errors.BackendError` (exit 3) when the
        run failed or was cancelled, and when ``timeout`` seconds pass first
        (the run is cancelled then); :class:`~mlops_actions.errors.UsageError`
        (exit 2) when a step refused input the user can fix. A run that has
        already ended answers at once.
        """

    @abstractmethod
    def status(self) -> str:
        """One of :data:`RUN_STATUSES`, as the backend reports it now."""

    @abstractmethod
    def cancel(self) -> None:
        """Ask the backend to stop the run. A run that has ended stays as it
        ended: cancelling it changes nothing and raises nothing."""

    @abstractmethod
    def outputs(self) -> dict[str, str]:
        """The pipeline's outputs once completed: name -> local path or URI."""

    @abstractmethod
    def record(self) -> RunRecord:
        """What the run left behind (``run.json``'s body): steps, metrics,
        where each output came from. The release loop registers from it."""


class PipelineBackend(ABC):
    """Where pipelines run."""

    #: the ``--backend`` name
    name: str

    @abstractmethod
    def submit(self, pipeline: Pipeline, overrides: dict[str, str]) -> SubmittedRun:
        """Start ``pipeline`` with ``overrides`` for its inputs.

        Raises :class:`~mlops_actions.errors.UsageError` before anything runs
        for a pipeline that does not check or an override it does not declare.
        A backend may run the pipeline here and return a run that has ended;
        a run that fails then raises here what :meth:`SubmittedRun.wait`
        would raise.
        """


#: backend name -> "module:class"; importing one never imports the others.
BACKENDS = {
    "local": "mlops_actions.pipeline.local:LocalRunner",
    "azure": "mlops_actions.pipeline.azure:AzureBackend",
}


def open_pipeline_backend(
    backend: str,
    *,
    state: Path,
    use_cache: bool = True,
    on_event: Callable[[StepEvent], None] | None = None,
    echo: IO[str] | None = None,
    jobs: int | None = None,
    **options: Any,
) -> PipelineBackend:
    """The pipeline backend named ``backend`` (``local`` or ``azure``).

    ``state`` is the folder for runs, cache and tracking (``.mlops``);
    ``on_event`` receives each step's progress, ``echo`` the steps' output;
    ``jobs``: how many steps may run at once (None: one per core); ``options``
    go to that backend alone (the local one's ``environments``; the Azure
    one's ``workspace``, ``light``, ``timeout_s``, ``job_name``,
    ``create_compute``, ``announce``).
    """
    chosen = implementation(backend, PipelineBackend, BACKENDS, kind="pipeline backend")
    return chosen(
        state,
        use_cache=use_cache,
        on_event=on_event,
        echo=echo,
        jobs=jobs,
        **options,
    )
