"""A guard process: ends our children's process groups if the CLI dies.

The CLI ends its children itself on every way out it lives through (see
:mod:`.runner`). ``kill -9`` leaves it no way out at all; the guard, a small
process in its own session, is what ends the children then (see
:mod:`.guard_script`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from mlops_actions.process.group import KILL_GRACE_S

_GUARD_SCRIPT = str(Path(__file__).with_name("guard_script.py"))


class Guard:
    """Ends the process groups it was told about once the CLI is gone.

    Use as a context manager around the runs it guards; one guard may serve
    many runs (a pipeline's steps). Only the CLI holds the pipe's write end
    (pipes are not inherited by children), so the guard reads end of file
    exactly when the CLI has exited or closed the guard.

    Between a child's start and :meth:`watch` the guard does not know its
    group yet: a CLI killed in that instant (microseconds) leaves it running.
    """

    def __init__(self, grace: float = KILL_GRACE_S) -> None:
        self.grace = grace
        self._proc: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None

    def __enter__(self) -> Guard:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._proc is not None:
            # It exits as soon as it reads end of file; reap it without waiting.
            threading.Thread(target=self._proc.wait, daemon=True).start()

    def start(self) -> None:
        """Start the guard process, once; a guard never asked to watch a
        group (a run whose steps are all reused) starts none."""
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
        """Tell the guard that process group ``pgid`` is running."""
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
