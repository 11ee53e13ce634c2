"""Running the scorer: bind, load, warm up, then serve with uvicorn until SIGTERM.

The order is the point: the model folder is checked, the port is bound (so
"in use" fails in a second, not after a model load), then the model is loaded
and answers one warm-up prediction, and only then does the socket listen. A
model that fails never leaves a half-ready server behind. Connections run
the protocol of ``connections``: uvicorn's httptools one, with header, time
and pipelining limits.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib.util
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_actions.errors import BackendError, MissingDependency, UsageError
from mlops_actions.scorer.config import ScorerConfig

if TYPE_CHECKING:
    import uvicorn

#: module -> what `pip install` calls it; all come with the `serve` extra
SERVE_MODULES = {
    "fastapi": "fastapi",
    "fastapi_offline": "fastapi-offline",
    "uvicorn": "uvicorn",
    # the scorer's connection limits extend uvicorn's httptools protocol, so
    # uvicorn's pure-Python h11 fallback is not used (see connections)
    "httptools": "httptools",
    "orjson": "orjson",
    "prometheus_client": "prometheus-client",
    "mlflow": "mlflow-skinny",
}


@dataclass(frozen=True)
class Started:
    """What ``on_listening`` is told once the model is ready to serve."""

    url: str
    load_seconds: float
    fast_path: bool


def serve(config: ScorerConfig, *, on_listening: Callable[[Started], None]) -> None:
    """Serve ``config.model_uri`` until SIGTERM or SIGINT; return after draining.

    Raises MissingDependency (the ``serve`` extra), UsageError (not an MLflow
    model, port in use) or ModelLoadFailed (load or warm-up raised).
    """
    require_serve_extra()
    import uvicorn

    from mlops_actions.scorer.http.app import create_app
    from mlops_actions.scorer.http.connections import protocol_class
    from mlops_actions.scorer.model.loading import load_model, locate
    from mlops_actions.scorer.protocol.warmup import warm_up

    began = time.perf_counter()
    folder = locate(config.model_uri)
    sock = bind(config.host, config.port)
    with contextlib.closing(sock):
        model = load_model(config.model_uri, threads=config.threads, folder=folder)
        warm_up(model)
        app = create_app(config, model=model)
        # Loading leaves a heap of long-lived objects (MLflow, pandas, torch):
        # full collections over it paused requests by 50-150 ms while the
        # server warmed up. Frozen, later collections skip it.
        gc.collect()
        gc.freeze()
        grace = config.graceful_timeout
        server = _graceful_server(
            uvicorn.Config(
                app,
                loop="auto",  # uvloop when installed (the serve extra has it)
                http=protocol_class(config),  # httptools, with our limits
                ws="none",  # no WebSocket routes: refuse upgrades
                timeout_keep_alive=config.keep_alive_timeout,  # type: ignore[arg-type]
                workers=1,
                lifespan="on",
                access_log=False,  # a log line per request costs more than predict
                log_config=None,
                # typed int, but only handed to asyncio.wait_for: a float works
                timeout_graceful_shutdown=grace,  # type: ignore[arg-type]
                server_header=False,
            )
        )
        host = f"[{config.host}]" if ":" in config.host else config.host
        on_listening(
            Started(
                url=f"http://{host}:{sock.getsockname()[1]}",
                load_seconds=time.perf_counter() - began,
                fast_path=model.columns is not None,
            )
        )
        server.run(sockets=[sock])
    if not server.started:
        raise BackendError("the scorer did not start: see the log above")


def require_serve_extra() -> None:
    """MissingDependency naming the first of SERVE_MODULES not installed."""
    for module, package in SERVE_MODULES.items():
        # find_spec, not import: importing mlflow alone takes seconds
        if sys.modules.get(module, True) is None or not importlib.util.find_spec(
            module
        ):
            raise MissingDependency(package, "serve", "mlops scorer serve")


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, not yet listening (no client can connect)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is in use: pass --port") from None
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}: pass --host/--port"
        ) from None
    except socket.gaierror as exc:
        sock.close()
        raise UsageError(f"--host {host}: {exc}") from None
    return sock


def _graceful_server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's Server, minus re-raising the signal after a graceful stop.

    uvicorn ends by re-sending itself the SIGTERM it handled, so the process
    dies "killed by signal" (exit 143) even after draining cleanly; an
    orchestrator should read a clean stop as exit 0.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            handled = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)
