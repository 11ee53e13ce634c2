"""Typed errors, each carrying the exit code the CLI ends with.

Domain code raises these; only ``mlops_actions.cli`` turns them into a message
and an exit status, so every exit code has exactly one meaning (see the table in
the README).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    BACKEND = 3
    MISSING_DEPENDENCY = 4
    INTERNAL = 70


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success, check passed",
    ExitCode.CHECK_FAILED: (
        "check failed: gate rejected, drift found, lint/test failed, "
        "smoke test failed"
    ),
    ExitCode.USAGE: (
        "usage or configuration error: bad flag, invalid YAML, missing file"
    ),
    ExitCode.BACKEND: (
        "backend or remote failure: Azure/Kubernetes error, job failed/cancelled, "
        "timeout"
    ),
    ExitCode.MISSING_DEPENDENCY: (
        "optional dependency missing (names the extra to install)"
    ),
    ExitCode.INTERNAL: "internal error (traceback only with `MLOPS_DEBUG=1`)",
}


class MlopsError(Exception):
    """Base of every error a user can act on. The message names what to change."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: extra lines shown after the message (a failed step's log tail)
        self.detail = detail


class CheckFailed(MlopsError):
    """A check ran and said no (gate rejected, drift, tests failed)."""

    exit_code = ExitCode.CHECK_FAILED


class UsageError(MlopsError):
    """Bad flag, bad value or bad file: the user fixes their input."""

    exit_code = ExitCode.USAGE


class BackendError(MlopsError):
    """The backend failed: a step or job failed, was cancelled or timed out."""

    exit_code = ExitCode.BACKEND


class MissingDependency(MlopsError):
    """An optional extra is needed for this command."""

    exit_code = ExitCode.MISSING_DEPENDENCY

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs {module}: pip install 'mlops-actions[{extra}]'"
        )
        self.module = module
        self.extra = extra


class ToolMissing(MlopsError):
    """A program this command runs is not installed (a builder, the Azure CLI,
    pip); the message says how to install it."""

    exit_code = ExitCode.MISSING_DEPENDENCY
