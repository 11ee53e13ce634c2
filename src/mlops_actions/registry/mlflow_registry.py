"""The registry on MLflow: SQLite under ``.mlops`` by default, or any server."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from mlops_actions.errors import (
    BackendError,
    MissingDependency,
    MlopsError,
    UsageError,
)
from mlops_actions.registry.base import (
    CHAMPION,
    PREVIOUS_CHAMPION,
    Audit,
    ChampionMoved,
    HistoryEntry,
    ModelVersion,
    Registry,
    check_name,
    HISTORY_TAG,
    check_version,
    history_from_tags,
    lineage_tags,
    utc_now,
)
from mlops_actions.registry.database import prepare_database
from mlops_actions.registry.mlflow_versions import (
    EXPERIMENT,
    KEY_TAG,
    to_version,
    upload,
    version_tags,
)
from mlops_actions.registry.store import (
    exclusive,
    is_not_found,
    resolve_store,
    store_failure,
)

_STORE_ERRORS = ("mlflow", "sqlalchemy", "sqlite3", "requests", "urllib3")
T = TypeVar("T")


class MlflowRegistry(Registry):
    """:class:`Registry` on an MLflow tracking store and its model registry.

    A version's files are the artifacts of a registration run (``model/`` and
    ``evaluation/``) in the ``mlops-registry`` experiment, stored beside a
    local SQLite database (never in ``./mlruns``). Aliases ``champion`` and
    ``previous-champion`` point at versions; the audit trail is kept as JSON
    tags ``mlops.history.<seq>-<random>`` on the registered model.

    MLflow has no compare-and-set. On a local SQLite store, register, promote
    and rollback hold an exclusive lock on ``<database>.lock`` around the
    read-check-write, so racing processes on this machine serialise exactly.
    On a remote server the champion is read, checked, moved, then read again:
    a racer that moved it in between is detected and reported as
    :class:`ChampionMoved`, but its ``previous-champion`` write may remain,
    and two promotions whose reads both precede both writes can each succeed,
    the later one winning. Run promotions of one model in one concurrency group
    (GitHub Actions ``concurrency:``) when the registry is remote.
    """

    def __init__(self, tracking_uri: str | None = None, *, client: Any = None) -> None:
        self.store = resolve_store(tracking_uri)
        # A new SQLite store logs its schema migrations at INFO: not news to users.
        for noisy in ("mlflow.store.db.utils", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        with self._calls():
            prepare_database(self.store)
            if client is None:
                try:
                    from mlflow import MlflowClient
                except ImportError:
                    raise MissingDependency(
                        "mlflow", "mlflow", "the MLflow model registry"
                    ) from None
                client = MlflowClient(
                    tracking_uri=self.store.uri, registry_uri=self.store.uri
                )
            self.client = client
            # Reach the store now, so a dead one fails here in one line.
            client.get_experiment_by_name(EXPERIMENT)

    # -- the contract ------------------------------------------------------

    def register(
        self,
        name: str,
        model_dir: Path,
        *,
        evaluation_dir: Path | None,
        run_id: str | None,
        commit: str | None,
        tags: dict[str, str] | None = None,
        gate_decision: str | None = None,
        data: Mapping[str, str] | None = None,
    ) -> tuple[ModelVersion, bool]:
        check_name(name)
        evaluation_dir = Path(evaluation_dir) if evaluation_dir else None
        new_tags = version_tags(Path(model_dir), evaluation_dir, run_id, commit, tags)
        new_tags.update(lineage_tags(data))
        with self._calls(), exclusive(self.store):
            found = self.client.search_model_versions(
                f"name = '{name}' and tags.`{KEY_TAG}` = '{new_tags[KEY_TAG]}'"
            )
            if found:
                earliest = min(found, key=lambda mv: int(mv.version))
                return self.get(name, str(earliest.version)), False
            source = upload(self.client, self.store, name, model_dir, evaluation_dir)
            if self._find(self.client.get_registered_model, name) is None:
                self._create_model(name)
            mv = self.client.create_model_version(
                name, source=f"runs:/{source}/model", run_id=source, tags=new_tags
            )
            audit = replace(Audit.from_env(gate_decision=gate_decision), commit=commit)
            self._append(
                name, HistoryEntry("register", str(mv.version), None, audit, utc_now())
            )
            return to_version(mv), True

    def get(self, name: str, version: str) -> ModelVersion:
        return to_version(self._raw_version(name, version))

    def champion(self, name: str) -> ModelVersion | None:
        with self._calls():
            model = self._find(self.client.get_registered_model, check_name(name))
            current = _alias(model, CHAMPION) if model else None
            return self.get(name, current) if current else None

    def download(self, name: str, version: str, dest: Path) -> Path:
        import mlflow.artifacts

        version = check_version(version)
        self.get(name, version)
        try:
            # The version's own artifact location: a models:/ URI would be
            # resolved against MLflow's default registry, not this one.
            location = self.client.get_model_version_download_uri(name, version)
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=location, dst_path=str(dest), tracking_uri=self.store.uri
            )
        except Exception as exc:  # noqa: BLE001 - one line naming the model instead
            reason = " ".join(str(exc).split())[:300]
            raise BackendError(
                f"model models:/{name}/{version}: download failed: {reason}"
            ) from exc
        return Path(local)

    def evaluation(self, name: str, version: str, dest: Path) -> Path | None:
        mv = self._raw_version(name, version)
        folder = (mv.tags or {}).get("mlops.evaluation")
        if not folder:
            return None
        Path(dest).mkdir(parents=True, exist_ok=True)
        with self._calls():
            return Path(self.client.download_artifacts(mv.run_id, folder, str(dest)))

    def promote(
        self,
        name: str,
        version: str,
        *,
        expect_champion: str | None,
        audit: Audit,
    ) -> HistoryEntry:
        version = check_version(version)
        expected = None if expect_champion is None else check_version(expect_champion)
        with self._calls(), exclusive(self.store):
            self._raw_version(name, version)
            current = _alias(self._model(name), CHAMPION)
            moves = [e for e in self.history(name) if e.action != "register"]
            last = moves[-1] if moves else None
            if current == version and last and last.action == "promote":
                if (last.version, last.previous) == (version, expected):
                    return last  # a retry of the move that already happened
            if current != expected:
                raise ChampionMoved(name, current, expected)
            if current == version:
                raise UsageError(f"{name} version {version} is already champion")
            entry = HistoryEntry("promote", version, current, audit, utc_now())
            self._point(name, PREVIOUS_CHAMPION, current)
            self._point(name, CHAMPION, version)
            self._verify(name, version, expected)
            self._append(name, entry)
            decision = audit.gate_decision or "none"
            for tag, value in (
                ("mlops.promoted_by", audit.actor),
                ("mlops.promoted_at", entry.time),
                ("mlops.gate_decision", decision),
                ("mlops.promoted_run_url", audit.run_url or ""),
            ):
                self.client.set_model_version_tag(name, version, tag, value)
            return entry

    def rollback(self, name: str, *, audit: Audit) -> HistoryEntry:
        check_name(name)
        with self._calls(), exclusive(self.store):
            model = self._model(name)
            current = _alias(model, CHAMPION)
            previous = _alias(model, PREVIOUS_CHAMPION)
            if previous is None:
                raise UsageError(f"{name} has no previous champion to roll back to")
            # The version `previous` replaced when it was promoted, so that a
            # second rollback undoes the promotion before.
            before = next(
                (
                    e.previous
                    for e in reversed(self.history(name))
                    if e.action == "promote" and e.version == previous
                ),
                None,
            )
            entry = HistoryEntry("rollback", previous, current, audit, utc_now())
            self._point(name, CHAMPION, previous)
            self._point(name, PREVIOUS_CHAMPION, before if before != current else None)
            self._verify(name, previous, current)
            self._append(name, entry)
            if current:
                self.client.set_model_version_tag(
                    name, current, "mlops.rolled_back_at", entry.time
                )
            return entry

    def history(self, name: str) -> list[HistoryEntry]:
        with self._calls():
            tags = self._model(check_name(name)).tags or {}
        return history_from_tags(tags, store=self.store.shown, name=name)

    # -- MLflow plumbing ---------------------------------------------------

    @contextmanager
    def _calls(self) -> Iterator[None]:
        """Turn failures of the store into one-line errors naming its URI."""
        try:
            yield
        except MlopsError:
            raise
        except Exception as exc:
            root = type(exc).__module__.split(".")[0]
            if root in _STORE_ERRORS or isinstance(exc, OSError):
                raise store_failure(self.store, exc) from exc
            raise

    def _find(self, call: Callable[..., T], *args: Any) -> T | None:
        try:
            return call(*args)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise

    def _model(self, name: str) -> Any:
        model = self._find(self.client.get_registered_model, name)
        if model is None:
            raise UsageError(f"no model named {name} in registry {self.store.shown}")
        return model

    def _raw_version(self, name: str, version: str) -> Any:
        check_name(name)
        with self._calls():
            mv = self._find(self.client.get_model_version, name, check_version(version))
        if mv is None:
            raise UsageError(
                f"{name} has no version {version} in registry {self.store.shown}"
            )
        return mv

    def _create_model(self, name: str) -> Any:
        try:
            return self.client.create_registered_model(name)
        except Exception as exc:  # another process created it first
            if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                raise
            return self.client.get_registered_model(name)

    def _point(self, name: str, alias: str, version: str | None) -> None:
        if version is not None:
            self.client.set_registered_model_alias(name, alias, version)
        elif alias in (self._model(name).aliases or {}):
            self.client.delete_registered_model_alias(name, alias)

    def _verify(self, name: str, version: str, expected: str | None) -> None:
        """Read the champion back: a remote racer may have moved it meanwhile."""
        now = _alias(self._model(name), CHAMPION)
        if now != version:
            raise ChampionMoved(name, now, expected)

    def _append(self, name: str, entry: HistoryEntry) -> None:
        tags = self._model(name).tags or {}
        seqs = [
            int(k[len(HISTORY_TAG) :][:6]) for k in tags if k.startswith(HISTORY_TAG)
        ]
        # The random suffix keeps two remote writers from overwriting one key.
        key = f"{HISTORY_TAG}{max(seqs, default=0) + 1:06d}-{secrets.token_hex(2)}"
        value = json.dumps(entry.to_json(), sort_keys=True)
        self.client.set_registered_model_tag(name, key, value)


def _alias(model: Any, alias: str) -> str | None:
    value = (model.aliases or {}).get(alias)
    return None if value is None else str(value)
