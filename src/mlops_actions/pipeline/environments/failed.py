"""An environment that could not be built, as the runner's "cannot start".

The runner records a step that cannot start as failed and says why (exit 3);
a venv or image that fails to build is exactly that for the step that needs it.
"""

from __future__ import annotations

from mlops_actions.process import CannotStart, ProcessError


class BuildFailed(CannotStart):
    """Building the step's environment failed; the message names the log."""

    def __init__(self, message: str) -> None:
        ProcessError.__init__(self, f"cannot build its environment: {message}")
        self.executable = ""
        self.reason = message
