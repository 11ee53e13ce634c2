"""A registry that cannot be reached fails fast, in one line naming its URI."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from mlops_actions.errors import BackendError
from mlops_actions.registry import RegistryUnavailable, open_registry
from mlops_actions.registry.mlflow_registry import MlflowRegistry
from mlops_actions.registry.store import resolve_store, shown_uri, sqlite_path


@pytest.fixture(autouse=True)
def _mlflow_imported():
    import mlflow  # noqa: F401 - time the registry, not the first import


def test_refused_connection_is_unavailable_within_seconds():
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as failure:
        open_registry("local", tracking_uri="http://127.0.0.1:9")
    assert time.monotonic() - started < 3
    assert failure.value.exit_code == 3
    assert failure.value.message == (
        "registry http://127.0.0.1:9 is unreachable: [Errno 111] Connection refused"
    )


def test_password_in_the_uri_is_not_shown():
    with pytest.raises(RegistryUnavailable) as failure:
        open_registry("mlflow", tracking_uri="http://bot:s3cret@127.0.0.1:9")
    assert "s3cret" not in failure.value.message
    assert failure.value.message.startswith("registry http://bot:***@127.0.0.1:9 ")
    assert shown_uri("https://h.example/x") == "https://h.example/x"


def test_missing_folder_is_refused_not_created(tmp_path):
    uri = f"sqlite:///{tmp_path}/missing/mlflow.db"
    with pytest.raises(RegistryUnavailable) as failure:
        open_registry("local", tracking_uri=uri)
    assert failure.value.message == (
        f"registry {uri} is unreachable: folder {tmp_path}/missing does not exist "
        "(create it, or fix MLFLOW_TRACKING_URI)"
    )
    assert not (tmp_path / "missing").exists()


def test_a_file_that_is_no_database_is_unavailable(tmp_path):
    (tmp_path / "mlflow.db").write_text("not a database\n")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with pytest.raises(RegistryUnavailable) as failure:
        open_registry("local", tracking_uri=uri)
    assert failure.value.message == (
        f"registry {uri} is unusable: {tmp_path}/mlflow.db cannot be read as a "
        "database (file is not a database): move it away to start a new registry, "
        "or point MLFLOW_TRACKING_URI or MLOPS_HOME at the registry's database"
    )


class _Client:
    """An injected client whose store fails the way MLflow's do."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def get_experiment_by_name(self, name: str):
        raise self.error


def test_injected_client_failures_are_translated(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    locked = sqlite3.OperationalError("database is locked")
    with pytest.raises(RegistryUnavailable, match="unreachable: database is locked$"):
        MlflowRegistry(uri, client=_Client(locked))

    from mlflow.exceptions import MlflowException

    denied = MlflowException("user bot may not read", error_code="PERMISSION_DENIED")
    with pytest.raises(BackendError) as failure:
        MlflowRegistry(uri, client=_Client(denied))
    assert not isinstance(failure.value, RegistryUnavailable)
    assert failure.value.message == (
        f"registry {uri} refused the request: user bot may not read"
    )


def test_a_bug_is_not_disguised_as_a_store_failure(tmp_path):
    with pytest.raises(TypeError):
        MlflowRegistry(f"sqlite:///{tmp_path}/x.db", client=_Client(TypeError("bug")))


def test_default_store_lives_in_the_state_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "state"))
    (tmp_path / "state").mkdir()
    store = resolve_store()
    assert store.uri == f"sqlite:///{tmp_path}/state/mlflow.db"
    assert store.database == tmp_path / "state" / "mlflow.db"
    assert store.artifacts == tmp_path / "state" / "artifacts"
    assert (tmp_path / "state").is_dir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example")
    assert resolve_store().database is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel").mkdir()
    assert resolve_store("sqlite:///rel/x.db").database == tmp_path / "rel" / "x.db"


def test_sqlite_paths():
    assert sqlite_path("sqlite:////abs/mlflow.db") == Path("/abs/mlflow.db")
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql://h/db") is None
