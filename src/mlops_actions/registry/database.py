"""The local registry's SQLite database: made once, whole, and never mistaken.

Every command that opens a local store calls :func:`prepare_database` before
MLflow sees the file. A complete MLflow database is used as it is (one cheap
read with the standard library). A missing one is created once: under the
store's lock, into a temporary file beside it that is linked into place only
when MLflow's migrations are done, so no process ever opens a half-migrated
database, however many commands start together on a new ``.mlops``. Anything
else at that path (an empty file, an SQLite database of something else, not a
database at all) is refused: taken for a fresh registry, it would have no
champion, and the gate would pass every candidate as the first model.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from mlops_actions.registry.base import RegistryUnavailable
from mlops_actions.registry.store import Store, exclusive

#: Tables every MLflow tracking and registry database has, whatever its version.
MLFLOW_TABLES = frozenset(
    ("alembic_version", "experiments", "runs", "registered_models", "model_versions")
)


def prepare_database(store: Store) -> None:
    """Make sure the store's SQLite file, if it has one, is an MLflow database.

    Creates it when missing; raises :class:`RegistryUnavailable` naming the
    file when something else is there. Remote stores are left alone.
    """
    database = store.database
    if database is None or _problem(database) is None:
        return
    with exclusive(store, purpose="another process creating the database"):
        problem = _problem(database)
        if problem == "missing":
            _create(store, database)
            problem = _problem(database)
        if problem is not None:
            raise RegistryUnavailable(
                f"registry {store.shown} is unusable: {database} {problem}: move it "
                "away to start a new registry, or point MLFLOW_TRACKING_URI or "
                "MLOPS_HOME at the registry's database"
            )


def _problem(database: Path) -> str | None:
    """None for a complete MLflow database, else what is wrong (or "missing")."""
    try:
        size = database.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size == 0:
        return "is an empty file, not an MLflow database"
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
        with closing(connection):
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
            versions = (
                connection.execute("SELECT version_num FROM alembic_version").fetchall()
                if ("alembic_version",) in rows
                else []
            )
    except sqlite3.DatabaseError as exc:
        return f"cannot be read as a database ({exc})"
    missing = MLFLOW_TABLES - {name for (name,) in rows}
    if missing:
        shown = ", ".join(sorted(missing))
        return f"is an SQLite database but not MLflow's (no table {shown})"
    if not versions:
        return "is an MLflow database whose schema migration never finished"
    return None


def _create(store: Store, database: Path) -> None:
    """Migrate a new database in a temporary file, then link it into place."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    partial = database.with_name(f".{database.name}.{secrets.token_hex(4)}.new")
    try:
        with _quiet("mlflow.store.db.utils", "alembic"):
            made = SqlAlchemyStore(f"sqlite:///{partial}", str(store.artifacts))
        made.engine.dispose()
        try:
            # A link never replaces: a database someone made meanwhile stays.
            os.link(partial, database)
        except FileExistsError:
            pass
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Migration notes (MLflow logs each table step at INFO) kept off the
    user's terminal: making the database is ours to report, not theirs."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
