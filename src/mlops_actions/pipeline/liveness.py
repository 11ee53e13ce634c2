"""Which process wrote a run record, and whether that process still runs.

A run record says ``running`` from its first write until the CLI writes its
end; a CLI killed with ``kill -9`` (or by a power cut) never writes it. The
record therefore names its writer: pid, start time (see
:mod:`mlops_actions.process`: a later process reusing the pid is not taken for
the writer) and host (a record copied from another machine, by a CI cache
restore say, cannot be checked here).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from mlops_actions.process import ProcessId


def this_process() -> dict[str, Any]:
    """This process, as a record stores it: ``{"pid", "host", "started"}``."""
    me = ProcessId.of(os.getpid())
    return {"pid": me.pid, "host": socket.gethostname(), "started": me.started}


def has_ended(process: Mapping[str, Any] | None) -> bool:
    """Whether the process a record names has provably ended.

    False when it may still run: it does, or the record names no process
    (written by an older version), or another host (which this machine cannot
    look into).
    """
    if not isinstance(process, Mapping) or not isinstance(process.get("pid"), int):
        return False
    if process.get("host") != socket.gethostname():
        return False
    started = process.get("started")
    return not ProcessId(process["pid"], started if started else None).alive()
