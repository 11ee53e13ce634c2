"""azure-ai-ml's ``MLClient`` for a workspace, and Azure errors in one line.

``MLClient`` forwards its keyword arguments to every generated service client
it builds (ARM: jobs, models, data, environments, computes; and the run
history client behind ``jobs.stream``), and each takes ``retry_policy=``: so
the policy of :mod:`mlops_actions.azure.retry` is the one in force for all of
them. (azure-ai-ml swaps in its own for log and discovery downloads.)
"""

from __future__ import annotations

import contextlib
import re
import sys
import urllib.parse
from collections.abc import Iterator
from typing import Any

from mlops_actions.azure.retry import ATTEMPTS_ATTR, retry_policy
from mlops_actions.azure.workspace import DEFAULT_CLOUD, Workspace
from mlops_actions.errors import BackendError
from mlops_actions.redact import redact

#: longest service message kept in an error line
MAX_MESSAGE = 300


def ml_client(
    workspace: Workspace,
    *,
    credential: Any = None,
    deadline_s: float | None = None,
) -> Any:
    """An ``azure.ai.ml.MLClient`` for ``workspace`` with our credential and retries.

    ``deadline_s`` bounds each call, retries included (default 120 s).
    """
    from azure.ai.ml import MLClient

    if credential is None:
        from mlops_actions.azure.credential import credential_for

        credential = credential_for(workspace)
    # No upload progress bars: in a workflow log they are lines of noise.
    kwargs: dict[str, Any] = {
        "retry_policy": retry_policy(deadline_s),
        "show_progress": False,
    }
    if workspace.cloud != DEFAULT_CLOUD or workspace.cloud_metadata is not None:
        kwargs["cloud"] = workspace.cloud
        # azure-ai-ml keeps clouds in a process-wide table and refuses to add a
        # name twice: a second client for the same custom cloud passes the name
        # only.
        if workspace.cloud_metadata is not None and not _cloud_known(workspace.cloud):
            kwargs["cloud_metadata"] = dict(workspace.cloud_metadata)
    return MLClient(
        credential,
        workspace.subscription_id,
        workspace.resource_group,
        workspace.name,
        **kwargs,
    )


def _cloud_known(name: str) -> bool:
    from azure.ai.ml._azure_environments import _environments

    return name in _environments


def azure_error(exc: BaseException, doing: str) -> BackendError:
    """One line a user can read: status, request, tries, the service's words.

    No URL query string (a SAS signature), no token: paths are shown from the
    workspace on, and the message goes through :func:`mlops_actions.redact`.
    """
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    if isinstance(exc, BackendError):  # ours already (the OIDC token request)
        return exc
    message = _service_message(exc)
    response = getattr(exc, "response", None)
    if isinstance(exc, ClientAuthenticationError):
        return BackendError(f"Azure sign-in failed to {doing}: {message}")
    if isinstance(exc, HttpResponseError) and response is not None:
        status = getattr(response, "status_code", None) or exc.status_code
        reason = getattr(response, "reason", None) or exc.reason or ""
        request = getattr(response, "request", None)
        what = f"{request.method} {_short(request.url)}" if request else doing
        tries = getattr(response, ATTEMPTS_ATTR, None)
        head = f"Azure ML answered {status} {reason}".rstrip() + f" to {what}"
        if tries and tries[0] > 1:
            return BackendError(
                f"{head} {tries[0]} times over {tries[1]:.0f} s; giving up: {message}"
            )
        return BackendError(f"{head}: {message}")
    tries = getattr(exc, ATTEMPTS_ATTR, None)
    over = ""
    if tries:
        count = "1 try" if tries[0] == 1 else f"{tries[0]} tries"
        over = f" ({count} over {tries[1]:.0f} s)"
    return BackendError(f"could not {doing} on Azure ML{over}: {message}")


def _short(url: str) -> str:
    """The path from the workspace on (``jobs/NAME``), never the query."""
    path = urllib.parse.urlsplit(url).path
    match = re.search(r"/workspaces/[^/]+/(.+)$", path, re.IGNORECASE)
    return match.group(1) if match else path


def _service_message(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    text = getattr(error, "message", None) or getattr(exc, "message", None)
    text = str(text or exc or type(exc).__name__)
    # azure-core appends "Code: ...\nMessage: ..." blocks: the first line says it.
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = redact(line)
    if len(line) > MAX_MESSAGE:
        line = line[: MAX_MESSAGE - 3] + "..."
    return line or type(exc).__name__


class _WithoutColourResets:
    """stderr, minus what azure-ai-ml prints after every upload whatever its
    show_progress says: a colour reset and blank lines (noise in a log)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if text.replace("\x1b[39m", "").strip():
            return int(self._stream.write(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def quiet_uploads() -> Iterator[None]:
    """Around SDK calls that upload (job code, data, models, environments)."""
    real = sys.stderr
    sys.stderr = _WithoutColourResets(real)
    try:
        yield
    finally:
        sys.stderr = real
