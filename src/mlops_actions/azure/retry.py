"""Our retry policy for every Azure ML call: bounded, jittered, honest about why.

azure-core's default retries for up to 7 days (``timeout=604800``) and retries
a POST on 500/503/504, which may run a job submission twice. This one:

- retries 408 and 429 on any method (a throttled request never reached the
  service), and 500, 502, 503, 504 and connection errors only on idempotent
  methods (GET, HEAD, PUT, DELETE, OPTIONS);
- waits what ``Retry-After`` (or ``x-ms-retry-after-ms``) says, otherwise an
  exponential backoff with full jitter (base 1 s, cap 30 s);
- gives up once the next try would start past the call's deadline (default
  120 s) or after :data:`MAX_ATTEMPTS`, and bounds each try's connection and
  read timeouts by the time left;
- records on the last response (or error) how many tries it made over how
  long, for :func:`mlops_actions.azure.client.azure_error`.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import urllib.parse
from typing import Any

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: retried whatever the method: the service did not act on the request
THROTTLED = frozenset({408, 429})
#: retried on idempotent methods only
TRANSIENT = frozenset({500, 502, 503, 504})
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0
DEFAULT_DEADLINE_S = 120.0
MAX_ATTEMPTS = 10
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
#: attribute set on the final response or exception: (tries, seconds)
ATTEMPTS_ATTR = "mlops_attempts"


def should_retry(method: str, status: int) -> bool:
    if status in THROTTLED:
        return True
    return status in TRANSIENT and method.upper() in IDEMPOTENT


def backoff_s(attempt: int, rand: Any = random.random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2 ** (attempt - 1)))."""
    return rand() * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))


def retry_policy(deadline_s: float | None = None) -> Any:
    """An azure-core ``RetryPolicy`` to give MLClient as ``retry_policy=``."""
    deadline = DEFAULT_DEADLINE_S if deadline_s is None else float(deadline_s)
    return _policy_class()(deadline_s=deadline)


@functools.lru_cache(maxsize=None)
def _policy_class() -> type:
    # Defined on first use: importing this module must not import azure.
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        ServiceRequestError,
        ServiceResponseError,
    )
    from azure.core.pipeline.policies import RetryPolicy

    class MlopsRetryPolicy(RetryPolicy):
        def __init__(self, *, deadline_s: float) -> None:
            # The base's settings are kept sane for any SDK code that reads
            # them; send() below is what decides.
            super().__init__(
                retry_total=MAX_ATTEMPTS - 1,
                retry_backoff_factor=BACKOFF_BASE_S,
                retry_backoff_max=BACKOFF_CAP_S,
                timeout=deadline_s,
            )
            self.deadline_s = deadline_s

        def send(self, request: Any) -> Any:
            # Pops the per-call retry options (retry_total=, timeout=, ...) an
            # SDK call may pass, which the transport would otherwise receive.
            settings = self.configure_retries(request.context.options)
            most = max(1, min(MAX_ATTEMPTS, int(settings["total"]) + 1))
            started = time.monotonic()
            deadline = started + float(settings["timeout"])
            method = request.http_request.method.upper()
            transport = request.context.transport
            body = request.http_request.body
            position = _tell(body)
            attempts = 0
            while True:
                attempts += 1
                left = max(deadline - time.monotonic(), 0.1)
                options = request.context.options
                options["connection_timeout"] = min(CONNECT_TIMEOUT_S, left)
                options["read_timeout"] = min(READ_TIMEOUT_S, left)
                try:
                    response = self.next.send(request)
                except ClientAuthenticationError:
                    raise
                except AzureError as err:
                    retryable = method in IDEMPOTENT and isinstance(
                        err, (ServiceRequestError, ServiceResponseError)
                    )
                    pause = backoff_s(attempts)
                    if not (retryable and _may_retry(attempts, most, pause, deadline)):
                        setattr(err, ATTEMPTS_ATTR, (attempts, _since(started)))
                        raise
                    if not _rewind(body, position):
                        raise
                    _log_retry(request, type(err).__name__, attempts, pause)
                    transport.sleep(pause)
                    continue
                status = response.http_response.status_code
                if not should_retry(method, status):
                    return response
                asked = self.get_retry_after(response)
                pause = backoff_s(attempts) if asked is None else asked
                if not _may_retry(attempts, most, pause, deadline) or not _rewind(
                    body, position
                ):
                    _mark(response.http_response, attempts, started)
                    return response
                _log_retry(request, str(status), attempts, pause)
                transport.sleep(pause)

    return MlopsRetryPolicy


def _may_retry(attempts: int, most: int, pause: float, deadline: float) -> bool:
    return attempts < most and time.monotonic() + pause < deadline


def _log_retry(request: Any, why: str, attempts: int, pause: float) -> None:
    # The path only: a query string may hold a SAS signature.
    http = request.http_request
    path = urllib.parse.urlsplit(http.url).path
    log.info(
        "Azure answered %s to %s %s (try %d); retrying in %.1f s",
        why,
        http.method,
        path,
        attempts,
        pause,
    )


def _since(started: float) -> float:
    return time.monotonic() - started


def _mark(response: Any, attempts: int, started: float) -> None:
    try:
        setattr(response, ATTEMPTS_ATTR, (attempts, _since(started)))
    except AttributeError:  # a response type with __slots__: no count shown
        pass


def _tell(body: Any) -> int | None:
    if body is not None and hasattr(body, "read") and hasattr(body, "tell"):
        try:
            return body.tell()
        except (OSError, ValueError):
            return None
    return None


def _rewind(body: Any, position: int | None) -> bool:
    """Put a stream body back where it started; False when it cannot be."""
    if body is None or not hasattr(body, "read"):
        return True
    if position is None:
        return False
    try:
        body.seek(position)
    except (OSError, ValueError, AttributeError):
        return False
    return True
