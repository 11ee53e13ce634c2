"""Run a command to its end: its own process group, its output in a log.

Every command starts in a session (and so a process group) of its own: a
Ctrl-C at the terminal reaches the CLI alone, which then ends the whole group,
TERM first and KILL after a grace period. How each way out ends the group:

- the command exits: whatever it left running in its group gets the same
  TERM-then-KILL;
- SIGINT or SIGTERM to the CLI, or the timeout: the CLI ends the group and
  raises :class:`~.supervise.Interrupted` or :class:`~.supervise.TimedOut`
  (see :mod:`.supervise`);
- the CLI killed outright (``kill -9``): a :class:`~.guard.Guard` ends it.

:func:`run` merges stdout and stderr into a log file and passes them on as
they come (to a stream, or line by line to a callback), for steps, builds and
test runs. :func:`capture` keeps stdout and stderr apart in memory, for short
tool calls whose output is parsed.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlops_actions import logs
from mlops_actions.process.group import KILL_GRACE_S
from mlops_actions.process.guard import Guard
from mlops_actions.process.supervise import (
    CannotStart,
    Interrupted,
    Outcome,
    TimedOut,
    recorded_signals,
    supervised,
)
from mlops_actions.process.tee import tee

#: Lines of output kept in :attr:`Finished.tail`, unless a caller says otherwise.
TAIL_LINES = 20


@dataclass(frozen=True)
class Finished:
    """A command that ran to its end. ``log``: where its output is, None when
    it went to a temporary file; ``tail``: its last lines (see
    :func:`mlops_actions.logs.tail`)."""

    argv: tuple[str, ...]
    returncode: int
    seconds: float
    log: Path | None
    tail: tuple[str, ...]


@dataclass(frozen=True)
class Captured:
    """A short command's exit status and output, decoded as UTF-8 (bytes that
    are not UTF-8 shown as U+FFFD), line ends read as universal newlines."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run(
    argv: Sequence[str],
    *,
    log: Path | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    echo: IO[str] | None = None,
    on_line: Callable[[str], None] | None = None,
    timeout: float | None = None,
    grace: float = KILL_GRACE_S,
    guard: Guard | None = None,
    tail_lines: int = TAIL_LINES,
    stop: list[int] | None = None,
) -> Finished:
    """Run ``argv`` (no shell) to its end, stdout and stderr merged into
    ``log`` (a temporary file when None) and, as they come, to ``echo`` and,
    line by line without line ends, to ``on_line``.

    ``guard`` may be shared by many runs (a pipeline's steps); without one the
    run starts its own. Raises :class:`CannotStart`, :class:`TimedOut` past
    ``timeout`` seconds, :class:`Interrupted` on SIGINT/SIGTERM; the last two
    after ending the process group, which a normal exit ends too.

    ``stop``: signals recorded by the caller (the main thread, for runs in
    worker threads, which cannot set handlers); a signal added to it while the
    command runs stops it as if this run had received it.
    """
    argv = tuple(argv)
    with ExitStack() as stack:
        if guard is None:
            guard = stack.enter_context(Guard(grace))
        if log is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="mlops-"))
            path = Path(folder, "output.log")
        else:
            path = log
            path.parent.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        outcome, returncode, signum = _run_logged(
            argv, path, cwd, env, echo, on_line, timeout, grace, guard, stop
        )
        seconds = time.monotonic() - began
        lines = tuple(logs.tail(path, tail_lines))
    if outcome is Outcome.TIMED_OUT:
        assert timeout is not None
        raise TimedOut(argv, timeout, lines)
    if outcome is Outcome.INTERRUPTED:
        raise Interrupted(argv, signum, lines)
    assert returncode is not None  # it exited: the waiter saw it
    return Finished(argv, returncode, seconds, log, lines)


def _run_logged(
    argv: tuple[str, ...],
    path: Path,
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    echo: IO[str] | None,
    on_line: Callable[[str], None] | None,
    timeout: float | None,
    grace: float,
    guard: Guard,
    stop: list[int] | None,
) -> tuple[Outcome, int | None, int]:
    """How the run ended, the exit code and the first signal recorded."""
    guard.start()  # before the command, so that it is guarded from its start
    teeing = echo is not None or on_line is not None
    signals = recorded_signals() if stop is None else nullcontext(stop)
    with path.open("wb") as sink, signals as received:
        proc = _start(argv, cwd, env, subprocess.PIPE if teeing else sink)
        reader = None
        try:
            guard.watch(proc.pid)
            if teeing:
                assert proc.stdout is not None
                reader = threading.Thread(
                    target=tee, args=(proc.stdout, sink, echo, on_line), daemon=True
                )
                reader.start()
            outcome = supervised(proc, received, timeout, grace)
        finally:
            guard.release(proc.pid)
            if reader is not None:
                reader.join(timeout=5)
            _close(proc, [reader] if reader else [])
    return outcome, proc.returncode, received[0] if received else 0


def capture(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    grace: float = KILL_GRACE_S,
    input: str | None = None,
) -> Captured:
    """Run a short command (a version probe, a linter) to its end, stdout and
    stderr kept apart in memory, ``input`` (a secret, say) on its stdin.
    Raises as :func:`run` does; unguarded, since a short call outlives a
    killed CLI by little."""
    argv = tuple(argv)
    began = time.monotonic()
    stdin = subprocess.DEVNULL if input is None else subprocess.PIPE
    with recorded_signals() as received:
        proc = _start(argv, cwd, env, subprocess.PIPE, subprocess.PIPE, stdin)
        assert proc.stdout is not None and proc.stderr is not None
        chunks: dict[int, list[bytes]] = {1: [], 2: []}
        readers = [
            threading.Thread(target=_drain, args=(stream, chunks[n]), daemon=True)
            for n, stream in ((1, proc.stdout), (2, proc.stderr))
        ]
        if proc.stdin is not None:
            readers.append(
                threading.Thread(
                    target=_feed, args=(proc.stdin, input or ""), daemon=True
                )
            )
        for reader in readers:
            reader.start()
        try:
            outcome = supervised(proc, received, timeout, grace)
        finally:
            for reader in readers:
                reader.join(timeout=5)
            _close(proc, readers)
    if outcome is Outcome.TIMED_OUT:
        assert timeout is not None
        raise TimedOut(argv, timeout)
    if outcome is Outcome.INTERRUPTED:
        raise Interrupted(argv, received[0])
    stdout, stderr = (_text(b"".join(chunks[n])) for n in (1, 2))
    return Captured(
        argv, int(proc.returncode), stdout, stderr, time.monotonic() - began
    )


def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group, stdout and stderr into
    ``log``, and leave it running: a server meant to outlive this command.
    End it with :func:`~.group.stop_group`. Raises :class:`CannotStart`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        return _start(tuple(argv), cwd, env, sink)


def _start(
    argv: tuple[str, ...],
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    stdout: IO[bytes] | int,
    stderr: int = subprocess.STDOUT,
    stdin: int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    except OSError as exc:
        raise CannotStart(argv, exc) from None


def _close(proc: subprocess.Popen[bytes], readers: list[threading.Thread]) -> None:
    # A reader still blocked (a process outside the group holds the pipe)
    # holds its stream's lock: closing would wait for it. Leave those be.
    if any(reader.is_alive() for reader in readers):
        return
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


def _feed(stream: IO[bytes], text: str) -> None:
    try:
        stream.write(text.encode())
        stream.close()
    except OSError:
        pass  # it exited without reading all of it: its exit status says why


def _drain(stream: IO[bytes], into: list[bytes]) -> None:
    while chunk := stream.read(1 << 16):
        into.append(chunk)


def _text(data: bytes) -> str:
    # What text=True gives: universal newlines, and no failure on bad bytes.
    text = data.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")
