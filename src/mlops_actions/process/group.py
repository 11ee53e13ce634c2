"""Ending a process group: TERM first, KILL after a grace period.

Every child we start leads a process group of its own (a session, in fact), so
that whatever it starts in turn ends with it: a signal to the group reaches the
grandchildren a signal to the child alone would leave running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

from mlops_actions.process.identity import ProcessId

#: Seconds between TERM and KILL, unless a caller chooses otherwise.
KILL_GRACE_S = 5.0


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def end_group(
    proc: subprocess.Popen[bytes],
    grace: float = KILL_GRACE_S,
    hurry: Callable[[], bool] = lambda: False,
) -> None:
    """TERM the group ``proc`` leads, then KILL it after ``grace`` seconds, or
    at once when ``hurry()`` turns true (a second Ctrl-C). Returns when no
    process of the group is left, or 5 s after the KILL."""
    if not signal_group(proc.pid, signal.SIGTERM):
        proc.poll()
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not hurry():
        time.sleep(0.05)
        proc.poll()  # reap the leader: a zombie still counts as in the group
        if not signal_group(proc.pid, 0):
            return
    signal_group(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def stop_group(leader: ProcessId, grace: float = KILL_GRACE_S) -> None:
    """TERM the group ``leader`` leads, KILL it after ``grace`` seconds; each
    signal only while ``leader`` is still that same process, so that a pid the
    kernel has since given to another process is never signalled.

    For a leader this CLI did not start or no longer holds a handle on (a
    detached server recorded in a file).
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not leader.alive():
            return
        if not signal_group(leader.pid, sig):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            _reap(leader.pid)
            if not leader.alive():
                return
            time.sleep(0.1)


def _reap(pid: int) -> None:
    """Collect the exit status when ``pid`` is our child (no zombie left)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
