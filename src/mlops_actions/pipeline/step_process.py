"""One step as a process group that ends on every exit path.

The step runs in a session (and so a process group) of its own: a Ctrl-C at
the terminal reaches the CLI alone, which then stops the whole group, TERM
first and KILL after a grace period. How each way out ends the group:

- the step exits: whatever it left running in its group gets the same
  TERM-then-KILL;
- SIGINT or SIGTERM to the CLI, or the step's ``limits.timeout``: the CLI
  stops the group. Signals are only recorded while a step runs, never raised
  in the middle of stopping it, so a second Ctrl-C cannot cut the stop short;
  it shortens the grace to an immediate KILL;
- the CLI killed outright (``kill -9``): the run's :class:`StepGuard`, a small
  process in its own session, sees the pipe from the CLI close and ends the
  groups it was told about (see :mod:`.step_guard`).
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

KILL_GRACE_S = 5.0
_POLL_S = 0.1
_GUARD_SCRIPT = str(Path(__file__).with_name("step_guard.py"))


class StepInterrupted(Exception):
    """SIGINT or SIGTERM reached the CLI while the step ran; the step was ended."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StepTimedOut(Exception):
    """The step ran past its timeout and was ended."""


class StepGuard:
    """A run's guard process: ends the steps' process groups if the CLI dies.

    Use as a context manager around a run. Only the CLI holds the pipe's write
    end (pipes are not inherited by the steps), so the guard reads end of file
    exactly when the CLI has exited or closed the guard.

    Between a step's start and :meth:`watch` the guard does not know its group
    yet: a CLI killed in that instant (microseconds) leaves the step running.
    """

    def __init__(self, grace: float = KILL_GRACE_S) -> None:
        self.grace = grace
        self._proc: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None

    def __enter__(self) -> StepGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._proc is not None:
            # It exits as soon as it reads end of file; reap it without waiting.
            threading.Thread(target=self._proc.wait, daemon=True).start()

    def start(self) -> None:
        """Start the guard process, once; a run whose steps are all reused
        starts none."""
        if self._proc is not None:
            return
        read_end, self._fd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                # -I -S: no site packages, no PYTHON* variables: a fast start
                [sys.executable, "-I", "-S", _GUARD_SCRIPT, str(read_end)]
                + [str(self.grace)],
                pass_fds=(read_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                cwd="/",
            )
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise
        finally:
            os.close(read_end)

    def watch(self, pgid: int) -> None:
        """Tell the guard that process group ``pgid`` is a running step."""
        self.start()
        self._send(f"+{pgid}\n")

    def release(self, pgid: int) -> None:
        """Tell the guard that process group ``pgid`` has been ended."""
        self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, line.encode())  # a short write to a pipe is atomic
        except OSError:
            pass  # the guard is gone: the CLI's own stopping still applies


@contextmanager
def _recorded_signals() -> Iterator[list[int]]:
    """SIGINT/SIGTERM recorded, not raised, while the block runs."""
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


def run_step(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    guard: StepGuard,
    echo: IO[str] | None = None,
    timeout: float | None = None,
    grace: float = KILL_GRACE_S,
) -> int:
    """Run ``argv`` to its end with its output in ``log_path`` (and ``echo``).

    Returns the exit code. Raises :class:`StepInterrupted` on SIGINT/SIGTERM
    and :class:`StepTimedOut` past ``timeout`` seconds, after ending the
    step's process group; the group is ended on a normal exit too.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    guard.start()  # before the step, so that it is guarded from its start
    with log_path.open("wb") as log, _recorded_signals() as received:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if echo else log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        tee = None

        def hurry() -> bool:
            return len(received) > 1  # a second Ctrl-C: KILL, no grace

        try:
            guard.watch(proc.pid)
            if echo is not None:
                tee = threading.Thread(
                    target=_tee, args=(proc.stdout, log, echo), daemon=True
                )
                tee.start()
            _wait(proc, received, timeout)
        finally:
            _end_group(proc, grace, hurry)
            guard.release(proc.pid)
            if tee is not None:
                tee.join(timeout=5)
    if received:  # it came as the step was ending: the run stops all the same
        raise StepInterrupted(received[0])
    return int(proc.returncode)


def _wait(
    proc: subprocess.Popen[bytes], received: list[int], timeout: float | None
) -> None:
    # A thread blocks in wait() so that the exit is seen at once; the main
    # thread wakes every _POLL_S to look at signals and the deadline.
    waiter = threading.Thread(target=proc.wait, daemon=True)
    waiter.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        waiter.join(_POLL_S)
        if not waiter.is_alive():
            return
        if received:
            raise StepInterrupted(received[0])
        if deadline is not None and time.monotonic() >= deadline:
            raise StepTimedOut()


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _end_group(
    proc: subprocess.Popen[bytes], grace: float, hurry: Callable[[], bool]
) -> None:
    """TERM the step's group, then KILL it after ``grace`` or once hurried."""
    if not _signal_group(proc.pid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not hurry():
        time.sleep(0.05)
        proc.poll()  # reap the leader: a zombie still counts as in the group
        if not _signal_group(proc.pid, 0):
            return
    _signal_group(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def _tee(stream: IO[bytes], log: IO[bytes], echo: IO[str]) -> None:
    # Chunks, not lines: a step printing a 1 GB line must not make us hold it.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    read = getattr(stream, "read1", stream.read)
    while chunk := read(1 << 16):
        log.write(chunk)
        log.flush()
        echo.write(decoder.decode(chunk))
        echo.flush()
