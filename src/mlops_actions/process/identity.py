"""Telling a process of ours from whatever process later reuses its pid.

A pid alone names a process only while it lives: once it exits, the kernel
hands the number to the next process started. A pid together with the time its
process started names one process for good, so a record holding both can be
checked before anything is signalled or a "running" record is believed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessId:
    """One process: its pid and when it started (None where unknown)."""

    pid: int
    started: str | None

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        return cls(pid, start_time(pid))

    def alive(self) -> bool:
        """True while this very process runs: False once it has exited, even
        if its pid now belongs to another process. Without a recorded start
        time, only that the pid exists."""
        if not _exists(self.pid):
            return False
        return self.started is None or start_time(self.pid) == self.started


def start_time(pid: int) -> str | None:
    """When ``pid`` started, as an opaque string; None if it does not exist.

    Linux: the start time in clock ticks since boot (field 22 of
    ``/proc/PID/stat``), prefixed with the boot id so a reboot cannot make a
    match; None for a zombie too. Elsewhere: what ``ps -o lstart=`` prints.
    """
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            return None
        # the command name (field 2) may hold spaces and parentheses: split after it
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] in (b"Z", b"X"):
            return None  # exited, only its exit status is left to collect
        return f"{_boot_id()}:{int(fields[19])}"
    try:
        shown = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return shown or None


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
