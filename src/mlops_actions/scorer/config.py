"""What the scorer is told: the model, where to listen, batching, limits, logging."""

from __future__ import annotations

import secrets
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

LOG_FORMATS = ("jsonl", "parquet")


@dataclass(frozen=True)
class ScorerConfig:
    """Settings of one scorer process; every field has a ``mlops scorer serve`` flag.

    ``max_batch_rows`` bounds the rows coalesced into one predict call (1 turns
    micro-batching off); ``max_wait_ms`` bounds how long a batch that could
    still grow waits for clients that are sending (see ``batching``).
    ``body_limit`` is in bytes, and bounds a compressed body once decoded.
    Input logging is off while ``log_inputs`` is None.

    Connections (see ``http.connections``): a request whose target and headers
    are over ``header_limit`` bytes gets 431 (one still arriving, once it is
    over by 16 KiB); one whose headers and body have not all arrived
    ``request_timeout`` seconds after its first byte gets 408; both close
    the connection, and so does an answer the client leaves unread that
    long. A connection with no request in progress, a new one included, is
    closed after ``keep_alive_timeout`` seconds.
    """

    model_uri: str
    host: str = "127.0.0.1"
    port: int = 8080
    max_batch_rows: int = 256
    max_wait_ms: float = 2.0
    body_limit: int = 1 << 20
    log_inputs: Path | None = None
    log_sample_rate: float = 1.0
    log_format: str = "jsonl"
    log_rotate_bytes: int = 64 << 20
    log_rotate_seconds: float = 300.0
    log_queue_size: int = 10_000
    #: intra-op threads of the model's numeric libraries (OpenMP, MKL, torch);
    #: None: OMP_NUM_THREADS, else 1
    threads: int | None = None
    #: seconds in-flight requests get to finish after SIGTERM
    graceful_timeout: float = 30.0
    header_limit: int = 64 << 10
    request_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    #: ``/health/ready`` says it as ``instance``: a deployer checks that the
    #: server answering on the port is the one it started
    instance_id: str = field(default_factory=lambda: secrets.token_hex(8))

    def __post_init__(self) -> None:
        if self.max_batch_rows < 1:
            raise ValueError("max_batch_rows must be at least 1")
        if self.max_wait_ms < 0:
            raise ValueError("max_wait_ms must not be negative")
        if self.body_limit < 1:
            raise ValueError("body_limit must be at least 1 byte")
        if self.header_limit < 1:
            raise ValueError("header_limit must be at least 1 byte")
        if self.request_timeout <= 0 or self.keep_alive_timeout <= 0:
            raise ValueError("request_timeout and keep_alive_timeout must be positive")
        if not 0.0 <= self.log_sample_rate <= 1.0:
            raise ValueError("log_sample_rate must be between 0 and 1")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"log_format must be one of {', '.join(LOG_FORMATS)}")


def default(name: str) -> Any:
    """The default of the ScorerConfig field ``name``.

    ``mlops scorer serve``'s flags take their defaults from here, so each
    default is written once: a server started in-process and one started
    from the command line listen, batch and limit alike.
    """
    for found in fields(ScorerConfig):
        if found.name == name and found.default is not MISSING:
            return found.default
    raise KeyError(f"ScorerConfig.{name} has no plain default")
