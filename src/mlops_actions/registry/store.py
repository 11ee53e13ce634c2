"""Where an MLflow registry lives: its URI, its lock, and its failures.

No MLflow import here: errors are recognised by their class's module, so this
stays cheap and testable on its own.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mlops_actions import settings
from mlops_actions.errors import BackendError
from mlops_actions.registry.base import RegistryUnavailable

#: Seconds to wait for another process's promotion to finish.
LOCK_TIMEOUT = 30.0

# MLflow retries a refused connection with exponential backoff for minutes and
# waits 120 s per request by default: a registry that is down must fail fast.
# These are read by MLflow at call time; setdefault leaves a user's choice alone.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


@dataclass(frozen=True)
class Store:
    uri: str
    #: the SQLite file when the store is one on this machine, else None
    database: Path | None

    @property
    def shown(self) -> str:
        """The URI without a password, for messages."""
        return shown_uri(self.uri)

    @property
    def artifacts(self) -> Path | None:
        """Registration artifacts go beside a local database, never ./mlruns."""
        return self.database.parent / "artifacts" if self.database else None


def resolve_store(tracking_uri: str | None = None) -> Store:
    """Explicit URI, else ``MLFLOW_TRACKING_URI``, else ``.mlops/mlflow.db``.

    The default state folder is created; a folder named by ``MLOPS_HOME``, or
    an explicit SQLite file's folder, that does not exist is refused, so a typo
    cannot start an empty registry (where every candidate would pass the gate
    as ``first``). The file itself is checked by
    :func:`mlops_actions.registry.database.prepare_database`.
    """
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        state = settings.state_dir()
        state.mkdir(parents=True, exist_ok=True)
        uri = settings.default_tracking_uri(state)
    database = sqlite_path(uri)
    if database is not None and not database.parent.is_dir():
        raise RegistryUnavailable(
            f"registry {shown_uri(uri)} is unreachable: folder {database.parent} "
            "does not exist (create it, or fix MLFLOW_TRACKING_URI)"
        )
    return Store(uri=uri, database=database)


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI (``:memory:`` is not shareable: None)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).absolute()


def shown_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@contextmanager
def exclusive(store: Store, purpose: str = "another promotion") -> Iterator[None]:
    """Hold ``<database>.lock`` (flock) for a read-check-write on a local store.

    MLflow has no compare-and-set on aliases; every process on this machine
    takes this lock, so two promotions from the same champion serialise and
    the second sees the first's result. Remote stores get no lock (see
    ``MlflowRegistry.promote``). ``purpose`` names the holder in the timeout
    message.
    """
    if store.database is None:
        yield
        return
    import fcntl

    lock = store.database.with_name(store.database.name + ".lock")
    deadline = time.monotonic() + LOCK_TIMEOUT
    with open(lock, "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RegistryUnavailable(
                        f"registry {store.shown}: {lock} stayed locked for "
                        f"{LOCK_TIMEOUT:g} s by {purpose}"
                    ) from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "error_code", None) in (
        "RESOURCE_DOES_NOT_EXIST",
        "NOT_FOUND",
    )


def store_failure(store: Store, exc: BaseException) -> BackendError:
    """One line for a failure of the store itself.

    Connection and database errors become :class:`RegistryUnavailable`; a
    request the store refused becomes a plain :class:`BackendError`.
    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    module = type(exc).__module__.split(".")[0]
    unreachable = (
        module in ("sqlalchemy", "sqlite3", "requests", "urllib3")
        or isinstance(exc, OSError)
        or "API request to" in text
        or getattr(exc, "error_code", None) == "TEMPORARILY_UNAVAILABLE"
    )
    if unreachable:
        reason = errno.group(0) if errno else _short(_sql_reason(text))
        return RegistryUnavailable(f"registry {store.shown} is unreachable: {reason}")
    return BackendError(f"registry {store.shown} refused the request: {_short(text)}")


def _sql_reason(text: str) -> str:
    # "(sqlite3.DatabaseError) file is not a database [SQL: ...]" -> the middle
    match = re.match(r"\(([\w.]+)\) (.*?)(?: \[SQL:.*)?$", text)
    return match.group(2) if match else text


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
