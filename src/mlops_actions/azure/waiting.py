"""Waiting on an Azure ML job from a workflow: logs, a bounded wait, cancel.

:func:`wait_for_job` streams the job's logs from a worker thread while the
main thread only watches the clock and the signals, so a timeout, SIGINT or
SIGTERM is acted on at once whatever the network is doing. GitHub cancels a
workflow with SIGINT, then SIGTERM 7.5 s later, then kills it: the cancel
request goes out within a fraction of a second of the first signal, and a
second signal cannot interrupt it. A stream that breaks (or returns early:
the SDK's stream stops at CancelRequested) hands over to status polling; the
outcome is always the state ``jobs.get`` reports, never "the stream ended".
"""

from __future__ import annotations

import random
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from mlops_actions.azure import jobs
from mlops_actions.errors import BackendError, MlopsError, UsageError
from mlops_actions.redact import redact

#: how often the main thread looks at the clock and the signals
_TICK_S = 0.1
#: how long a cancel request may take before the wait gives up on it
_CANCEL_WITHIN_S = 5.0
#: service errors a status poll shrugs off (the client's retries gave up)
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
#: how Azure ML reports a step's process that exited with status 2
_REFUSED_INPUT = re.compile(r"exited with (?:status|exit) code 2\b")


@dataclass(frozen=True)
class JobOutcome:
    """A job that ended, as the wait saw it."""

    name: str
    state: str
    error: str | None
    failing_step: str | None
    #: how long the wait took
    seconds: float
    url: str | None


@dataclass(frozen=True)
class Cancellation:
    name: str
    #: the job's state when the cancel was asked for
    state: str | None
    #: False: the job had already ended and was left as it was
    requested: bool


class WorkflowCancelled(BackendError):
    """The workflow was cancelled (SIGINT/SIGTERM) while waiting; the job was
    cancelled with it (exit 3)."""


def wait_for_job(
    client: Any,
    name: str,
    *,
    timeout_s: float,
    out: IO[str] | None = None,
    poll_s: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> JobOutcome:
    """Wait for job ``name`` to end, its logs written to ``out`` (stderr).

    Returns the outcome when the job Completed. Raises
    :class:`~mlops_actions.errors.BackendError` (exit 3) when it ended any
    other way (Failed, Canceled, NotResponding, Paused, a state unknown
    here), with the service's error text and the failing step; when
    ``timeout_s`` passes first (the job is cancelled); and
    :class:`WorkflowCancelled` (exit 3) on SIGINT or SIGTERM (the job is
    cancelled). Signal handlers are installed only for the wait, and only
    when called from the main thread.
    """
    out = sys.stderr if out is None else out
    started = clock()
    watch = _Watch(client, name, out, poll_s)
    with _signals_noted() as noted:
        threading.Thread(target=watch.run, name=f"wait {name}", daemon=True).start()
        try:
            while not watch.done.wait(_TICK_S):
                if noted.signum is not None:
                    raise _cancelled_by_workflow(client, name, noted.signum)
                if clock() - started >= timeout_s:
                    # a job that has ended answers as it ended, whatever the
                    # timeout (0 included): only a running one is cancelled
                    now = jobs.get_state(client, name)
                    if jobs.has_ended(now.state):
                        return _outcome(client, now, clock() - started)
                    raise _timed_out(client, name, timeout_s)
            # a signal that comes as the job ends finds nothing to cancel:
            # the job's own end is the answer
        finally:
            watch.stop.set()
    if watch.error is not None:
        raise watch.error
    if watch.ended is None:  # the watch stops early only when told to
        raise BackendError(f"the wait for job {name} stopped before the job ended")
    return _outcome(client, watch.ended, clock() - started)


def cancel_job(client: Any, name: str) -> Cancellation:
    """Ask Azure ML to cancel job ``name``; a job that has ended stays as it
    ended, and that is no error."""
    now = jobs.get_state(client, name)
    if jobs.has_ended(now.state):
        return Cancellation(name=name, state=now.state, requested=False)
    try:
        jobs.cancel(client, name)
    except BackendError:
        # it may have ended between the two requests: then there is nothing
        # left to cancel
        if jobs.has_ended(jobs.get_state(client, name).state):
            return Cancellation(name=name, state=now.state, requested=False)
        raise
    return Cancellation(name=name, state=now.state, requested=True)


def _outcome(client: Any, ended: jobs.JobState, seconds: float) -> JobOutcome:
    if jobs.succeeded(ended.state):
        return JobOutcome(
            name=ended.name,
            state=str(ended.state),
            error=None,
            failing_step=None,
            seconds=seconds,
            url=ended.url,
        )
    from mlops_actions.azure.environments import environment_build_error

    why = jobs.failure(client, ended.name)
    message = f"job {ended.name} ended {ended.state or 'with no state'}"
    page = f"job page: {ended.url}" if ended.url else None
    built = environment_build_error(why.error, run_url=ended.url, step=why.failing_step)
    if built:  # the image, not the user's code: say so, with the build log
        raise BackendError(f"{message}: {built}", detail=page)
    if why.failing_step:
        message += f": step {why.failing_step} failed"
    message += f": {why.error or 'Azure ML gave no error text; see the job page'}"
    if why.failing_step and _REFUSED_INPUT.search(why.error or ""):
        # exit 2 is a step's way to say its input is wrong (as locally): the
        # user fixes the input, not the workspace
        raise UsageError(message, detail=page)
    raise BackendError(message, detail=page)


def _timed_out(client: Any, name: str, timeout_s: float) -> BackendError:
    problem = _send_cancel(client, name)
    if problem:
        return BackendError(
            f"timed out after {timeout_s:g} s; cancelling job {name} failed "
            f"({problem}): run `mlops pipeline cancel {name}`"
        )
    return BackendError(
        f"timed out after {timeout_s:g} s; job {name} cancelled "
        "(raise --timeout to wait longer)"
    )


def _cancelled_by_workflow(client: Any, name: str, signum: int) -> BackendError:
    what = signal.Signals(signum).name
    problem = _send_cancel(client, name)
    if problem:
        return WorkflowCancelled(
            f"the workflow was cancelled ({what}); cancelling job {name} failed "
            f"({problem}): run `mlops pipeline cancel {name}`"
        )
    return WorkflowCancelled(
        f"job {name} cancelled because the workflow was cancelled ({what})"
    )


def _send_cancel(client: Any, name: str) -> str | None:
    """Send the cancel request; what went wrong, or None.

    Bounded: GitHub kills the process 10 s after its first signal, and a
    cancel stuck in the client's retries must not use that time up silently.
    """
    problems: list[str] = []

    def send() -> None:
        try:
            jobs.cancel(client, name)
        except MlopsError as exc:
            problems.append(exc.message)

    sender = threading.Thread(target=send, name=f"cancel {name}", daemon=True)
    sender.start()
    sender.join(_CANCEL_WITHIN_S)
    if sender.is_alive():
        return f"no answer within {_CANCEL_WITHIN_S:g} s"
    return problems[0] if problems else None


class _Watch:
    """Runs in a worker thread: stream the logs, then poll until the end."""

    def __init__(self, client: Any, name: str, out: IO[str], poll_s: float) -> None:
        self.client = client
        self.name = name
        self.out = out
        self.poll_s = poll_s
        self.stop = threading.Event()
        self.done = threading.Event()
        self.ended: jobs.JobState | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.ended = self._follow()
        except BaseException as exc:  # handed to the main thread, raised there
            self.error = exc
        finally:
            self.done.set()

    def _follow(self) -> jobs.JobState | None:
        broke: Exception | None = None
        try:
            jobs.stream(self.client, self.name, self.out, self.stop.is_set)
        except jobs.StreamStopped:
            return None
        except Exception as exc:
            broke = exc
        now = self._poll_once()
        if now is not None and jobs.has_ended(now.state):
            return now
        if broke is not None:
            why = redact(f"{type(broke).__name__}: {_first_line(broke)}")
            self._say(f"log stream of job {self.name} broke ({why})")
        else:
            self._say(f"log stream of job {self.name} ended before the job did")
        return self._poll()

    def _poll(self) -> jobs.JobState | None:
        self._say(f"polling the status of job {self.name} every {self.poll_s:g} s")
        while not self.stop.wait(self.poll_s * random.uniform(0.8, 1.2)):
            now = self._poll_once()
            if now is not None and jobs.has_ended(now.state):
                return now
        return None

    def _poll_once(self) -> jobs.JobState | None:
        """The state now; None after a transient failure (said in one line)."""
        from azure.core.exceptions import (
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        try:
            return jobs.get_state(self.client, self.name)
        except BackendError as exc:
            cause = exc.__cause__
            transient = isinstance(
                cause, (ServiceRequestError, ServiceResponseError)
            ) or (
                isinstance(cause, HttpResponseError)
                and cause.status_code in _TRANSIENT_STATUS
            )
            if not transient:
                raise
            self._say(f"{exc.message}; asking again")
            return None

    def _say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


class _Noted:
    signum: int | None = None


@contextmanager
def _signals_noted() -> Iterator[_Noted]:
    """SIGINT and SIGTERM noted (not acted on) while the block runs.

    The handler only records the first signal: the main thread acts on it
    between ticks, so a second signal lands while the cancel request is in
    flight without raising into it.
    """
    noted = _Noted()
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return

    def note(signum: int, frame: object) -> None:
        if noted.signum is None:
            noted.signum = signum

    previous = {
        signum: signal.signal(signum, note)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield noted
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
