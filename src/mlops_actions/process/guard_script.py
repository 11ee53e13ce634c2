"""Ends the process groups of our children when the CLI that started them is gone.

Run as a script (``python -I -S guard_script.py FD GRACE``), one per
:class:`~mlops_actions.process.guard.Guard` (a pipeline run shares one among
its steps), in a session of its own so that a signal to the CLI's process group
does not reach it. It imports nothing but the standard library's basics, to start in a
few milliseconds.

It reads lines from the pipe at file descriptor FD, whose write end only the
CLI holds: ``+PGID`` (a child's process group started), ``-PGID`` (that group
has been ended by the CLI). End of file means the CLI exited, however it
exited (``kill -9`` included): every group still listed gets SIGTERM, then
SIGKILL after GRACE seconds if any of its processes remain.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def end_groups(groups: set[int], grace: float) -> None:
    """TERM every group, wait up to ``grace`` seconds, KILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in sorted(groups):
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                groups.discard(pgid)
        deadline = time.monotonic() + grace
        while groups and time.monotonic() < deadline:
            time.sleep(0.05)
            for pgid in sorted(groups):
                try:
                    os.killpg(pgid, 0)
                except (ProcessLookupError, PermissionError):
                    groups.discard(pgid)
        if not groups:
            return


class _Terminated(Exception):
    pass


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def watch(fd: int, groups: set[int]) -> None:
    """Keep ``groups`` up to date from the pipe until it reaches end of file."""
    pending = b""
    while chunk := os.read(fd, 4096):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if line[:1] == b"+":
                groups.add(int(line[1:]))
            elif line[:1] == b"-":
                groups.discard(int(line[1:]))


def main(argv: list[str]) -> None:
    # Our own session already keeps terminal signals away; a TERM aimed at us
    # ends the children instead of leaving them unguarded.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminated)
    groups: set[int] = set()
    try:
        watch(int(argv[1]), groups)
    except _Terminated:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    end_groups(groups, float(argv[2]))


if __name__ == "__main__":
    main(sys.argv)
