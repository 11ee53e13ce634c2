"""Waiting for a child while watching the clock and the CLI's own signals.

SIGINT and SIGTERM are only recorded while a child runs, never raised in the
middle of ending it, so that a second Ctrl-C cannot cut the stop short; it
shortens the grace to an immediate KILL instead. Whatever way the wait ends,
the child's group is ended after it (see :func:`supervised`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Any

from mlops_actions.errors import BackendError
from mlops_actions.process.group import end_group

_POLL_S = 0.1


class Outcome(Enum):
    EXITED = "exited"
    TIMED_OUT = "timed out"
    INTERRUPTED = "interrupted"


class ProcessError(BackendError):
    """A command that did not run to its own exit: the base of the three below."""


class CannotStart(ProcessError):
    """The command could not be started: no such program, not executable,
    or no such working folder."""

    def __init__(self, argv: Sequence[str], exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        if exc.filename not in (None, argv[0]):
            reason = f"{reason}: {exc.filename}"
        super().__init__(f"cannot start {argv[0]}: {reason}")
        self.executable = argv[0]
        self.reason = reason


class TimedOut(ProcessError):
    """The command ran past its timeout; its process group was ended.
    ``tail``: the last lines of its output."""

    def __init__(
        self, argv: Sequence[str], timeout: float, tail: Sequence[str] = ()
    ) -> None:
        super().__init__(
            f"{_name(argv)} ran past its timeout of {timeout:g} s and was stopped",
            detail="\n".join(tail) or None,
        )
        self.timeout = timeout
        self.tail = tuple(tail)


class Interrupted(ProcessError):
    """SIGINT or SIGTERM reached the CLI while the command ran; its process
    group was ended. ``tail``: the last lines of its output."""

    def __init__(
        self, argv: Sequence[str], signum: int, tail: Sequence[str] = ()
    ) -> None:
        self.signame = signal.Signals(signum).name
        super().__init__(f"interrupted ({self.signame}): {_name(argv)} was stopped")
        self.signum = signum
        self.tail = tuple(tail)


@contextmanager
def recorded_signals() -> Iterator[list[int]]:
    """SIGINT/SIGTERM recorded, not raised, while the block runs (only the
    main thread can set handlers; elsewhere nothing is recorded)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def supervised(
    proc: subprocess.Popen[bytes],
    received: list[int],
    timeout: float | None,
    grace: float,
) -> Outcome:
    """Wait for ``proc`` to exit, past ``timeout`` or until a signal was
    recorded in ``received``; then end its group, whichever came first (a
    child's own children may outlive it otherwise). A signal that came as the
    child was ending still counts: the caller stops all the same."""
    try:
        outcome = _wait(proc, received, timeout)
    finally:
        end_group(proc, grace, hurry=lambda: len(received) > 1)
    return Outcome.INTERRUPTED if received else outcome


def _wait(
    proc: subprocess.Popen[bytes], received: list[int], timeout: float | None
) -> Outcome:
    # A thread blocks in wait() so that the exit is seen at once; this thread
    # wakes every _POLL_S to look at signals and the deadline.
    waiter = threading.Thread(target=proc.wait, daemon=True)
    waiter.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        waiter.join(_POLL_S)
        if not waiter.is_alive():
            return Outcome.EXITED
        if received:
            return Outcome.INTERRUPTED
        if deadline is not None and time.monotonic() >= deadline:
            return Outcome.TIMED_OUT


def _name(argv: Sequence[str]) -> str:
    return os.path.basename(argv[0]) or argv[0]
