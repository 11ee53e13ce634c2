"""The few azure-ai-ml calls about one job, in the toolkit's words.

Every function takes an ``MLClient`` and a job name. States are Azure's own
strings (``Running``, ``Failed``); :func:`has_ended` and :func:`succeeded` say
what they mean for a workflow. Only ``Completed`` is success: a stream that
returns, a cancelled job and a state this code has never heard of are not.
The SDK is imported inside the functions (the CLI starts without it).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from mlops_actions.errors import BackendError
from mlops_actions.redact import redact

COMPLETED = "Completed"
#: states of a job that is still on its way; any other state has ended it
NOT_ENDED = frozenset(
    {
        "NotStarted",
        "Queued",
        "Preparing",
        "Provisioning",
        "Starting",
        "Running",
        "Finalizing",
        "CancelRequested",
    }
)


def has_ended(state: str | None) -> bool:
    """Whether ``state`` is final: Completed, Failed, Canceled, NotResponding,
    Paused, and any state not in :data:`NOT_ENDED` (unknown ones included)."""
    return state not in NOT_ENDED


def succeeded(state: str | None) -> bool:
    return state == COMPLETED


#: Azure ML's job states that have not started running yet
_QUEUED = frozenset({"NotStarted", "Queued", "Preparing", "Provisioning", "Starting"})


def run_status(state: str | None) -> str:
    """The pipeline backend interface's word (``RUN_STATUSES``) for an Azure ML
    job state."""
    if state == COMPLETED:
        return "completed"
    if state == "Canceled":
        return "cancelled"
    if has_ended(state):
        return "failed"  # Failed, NotResponding, Paused and unknown states
    return "queued" if state in _QUEUED else "running"


@dataclass(frozen=True)
class JobState:
    """What ``jobs.get`` says of a job now."""

    name: str
    #: Azure's word for it (``Running``, ``Failed``); None when it gave none
    state: str | None
    #: the job's page in Azure ML studio
    url: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class Failure:
    """Why a job ended badly, as far as the service says."""

    #: the service's error text (the failing step's own, when it has one)
    error: str | None
    #: the pipeline step (child job) that failed first
    failing_step: str | None


def service_error(exc: Exception, doing: str) -> BackendError:
    """``exc`` from azure-core as one line saying what failed; SAS signatures
    and tokens in it are masked."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
    )

    text = redact(_first_line(getattr(exc, "message", None) or str(exc)))
    if isinstance(exc, ResourceNotFoundError):
        return BackendError(f"{doing}: not found in the workspace ({text})")
    if isinstance(exc, ClientAuthenticationError):
        return BackendError(
            f"{doing}: Azure refused the credential ({text}); check the "
            "azure/login step or MLOPS_AZURE_AUTH"
        )
    if isinstance(exc, HttpResponseError) and exc.status_code:
        return BackendError(f"{doing}: Azure ML answered {exc.status_code}: {text}")
    return BackendError(f"{doing}: {type(exc).__name__}: {text}")


def get_state(client: Any, name: str) -> JobState:
    """The job's state now (one ``GET jobs/{name}``)."""
    from azure.core.exceptions import AzureError

    try:
        job = client.jobs.get(name)
    except AzureError as exc:
        raise service_error(exc, f"reading job {name}") from exc
    return _state_of(job)


def children(client: Any, name: str) -> list[JobState]:
    """The steps of pipeline job ``name`` (its child jobs), as run history
    lists them."""
    from azure.core.exceptions import AzureError

    try:
        steps = client.jobs.list(parent_job_name=name)
        # the SDK lists a child it cannot parse as None
        return [_state_of(child) for child in steps if child is not None]
    except AzureError as exc:
        raise service_error(exc, f"listing the steps of job {name}") from exc


def failure(client: Any, name: str) -> Failure:
    """The error text and the failing step of a job that ended badly.

    The failing step is a child job whose state is Failed (a cancelled or
    paused pipeline names none: all its steps share its state). Its own error
    text says more than the pipeline's "has failed child jobs", so it is
    preferred. Best effort: the state already decided the exit code, so a
    service that cannot say more leaves the fields empty.
    """
    try:
        steps = children(client, name)
    except BackendError:
        steps = []
    failed = [step for step in steps if step.state == "Failed"]
    step_name = None
    error = None
    if failed:
        step_name = failed[0].display_name or failed[0].name
        error = _run_error(client, failed[0].name)
    return Failure(error=error or _run_error(client, name), failing_step=step_name)


def _run_error(client: Any, name: str) -> str | None:
    from azure.core.exceptions import AzureError

    # Job entities carry no error text; run history's details do (the same
    # endpoint jobs.stream reads), and the SDK exposes it only here.
    try:
        details = client.jobs._runs_operations.get_run_details(name)
    except AzureError:
        return None
    root = getattr(getattr(details, "error", None), "error", None)
    message = getattr(root, "message", None)
    return redact(str(message).strip()) if message else None


def cancel(client: Any, name: str) -> None:
    """Send the cancel request (``POST jobs/{name}/cancel``), without waiting
    for the job to wind down."""
    from azure.core.exceptions import AzureError

    try:
        # polling=False: the POST is the request that matters; following the
        # operation would keep a thread polling after the CLI has exited
        client.jobs.begin_cancel(name, polling=False)
    except AzureError as exc:
        raise service_error(exc, f"cancelling job {name}") from exc


class StreamStopped(Exception):
    """Raised inside a log stream whose reader no longer wants it."""


def stream(
    client: Any,
    name: str,
    out: IO[str],
    stopped: Callable[[], bool] = lambda: False,
) -> None:
    """Write the job's logs to ``out`` until the SDK's stream ends.

    The SDK's ``jobs.stream`` returns when the job leaves the running states,
    Canceled and CancelRequested included: callers read the state afterwards.
    It writes to ``sys.stdout`` and has no file parameter, so while it runs
    this thread's writes to ``sys.stdout`` go to ``out`` (other threads'
    output is untouched). Once ``stopped()`` is true, its next write or
    flush raises :class:`StreamStopped`.
    """
    with _stdout_of_this_thread(out, stopped):
        client.jobs.stream(name)


def _state_of(job: Any) -> JobState:
    status = getattr(job, "status", None)
    # jobs.get answers an enum, run history's children a plain string
    status = getattr(status, "value", status)
    return JobState(
        name=job.name,
        state=None if status is None else str(status),
        url=getattr(job, "studio_url", None),
        display_name=getattr(job, "display_name", None),
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


class _StdoutByThread:
    """``sys.stdout`` that sends some threads' writes elsewhere."""

    def __init__(self, default: Any) -> None:
        self.default = default
        self.routes: dict[int, tuple[IO[str], Callable[[], bool]]] = {}

    def _target(self) -> Any:
        route = self.routes.get(threading.get_ident())
        if route is None:
            return self.default
        out, stopped = route
        if stopped():
            raise StreamStopped()
        return out

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.default, name)


_routing = threading.Lock()


@contextmanager
def _stdout_of_this_thread(out: IO[str], stopped: Callable[[], bool]) -> Iterator[None]:
    ident = threading.get_ident()
    with _routing:
        current: Any = sys.stdout
        if isinstance(current, _StdoutByThread):
            router = current
        else:
            router = _StdoutByThread(current)
            sys.stdout = router
        router.routes[ident] = (out, stopped)
    try:
        yield
    finally:
        with _routing:
            router.routes.pop(ident, None)
            if not router.routes and sys.stdout is router:
                sys.stdout = router.default
