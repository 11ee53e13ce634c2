"""The one way this package runs child processes.

- :func:`run`: a command to its end in its own process group, its output
  teed to a log and, as it comes, to the terminal or a line callback; a
  timeout; TERM then KILL on timeout or on the CLI's own interruption; the
  exit status, duration and log tail back (pipeline steps, image builds,
  pytest);
- :func:`capture`: a short call with stdout and stderr kept apart (linters,
  version probes);
- :func:`spawn` and :func:`stop_group`: a server left running past this
  command, stopped later by its recorded identity (local deploy);
- :class:`ProcessId`: telling a process of ours from whatever process later
  reuses its pid.
"""

from __future__ import annotations

from mlops_actions.process.group import KILL_GRACE_S, stop_group
from mlops_actions.process.guard import Guard
from mlops_actions.process.identity import ProcessId, start_time
from mlops_actions.process.runner import (
    TAIL_LINES,
    Captured,
    Finished,
    capture,
    run,
    spawn,
)
from mlops_actions.process.supervise import (
    CannotStart,
    Interrupted,
    ProcessError,
    TimedOut,
    recorded_signals,
)

__all__ = [
    "KILL_GRACE_S",
    "TAIL_LINES",
    "CannotStart",
    "Captured",
    "Finished",
    "Guard",
    "Interrupted",
    "ProcessError",
    "ProcessId",
    "TimedOut",
    "capture",
    "recorded_signals",
    "run",
    "spawn",
    "start_time",
    "stop_group",
]
