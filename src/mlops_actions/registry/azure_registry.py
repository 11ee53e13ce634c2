"""The registry on Azure ML: workspace model assets through azure-ai-ml."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from mlops_actions.errors import BackendError, UsageError
from mlops_actions.registry.azure_assets import Workspace
from mlops_actions.registry.azure_tags import (
    EVALUATION_TAG,
    KEY_TAG,
    POINTERS,
    as_version,
    entries,
    entry_tag,
    job_tags,
    local_tags,
    version_number,
    pointers,
    tags_of,
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
    check_version,
    lineage_tags,
    utc_now,
)

#: New version numbers tried when racers keep taking the next one.
_NUMBER_TRIES = 5


class AzureRegistry(Registry):
    """:class:`Registry` on the models of an Azure ML workspace.

    Versions are ``mlflow_model`` assets numbered 1, 2, ... (the highest plus
    one; a racer's 409 moves on to the next), addressed ``models:/NAME/N``
    (MLflow on the workspace's tracking URI) and ``azureml:NAME:N`` (their tag
    ``mlops.azureml``). Pointers and history are container tags (see
    :mod:`~mlops_actions.registry.azure_tags`); a promotion reads the container
    right before the move, checks the champion, writes both pointers and its
    entry in one PUT, reads it back (a racer in between: :class:`ChampionMoved`)
    and tags the version with its audit (``mlops.promoted_by``, ``_at``,
    ``_commit``, ``_run_url``, ``mlops.gate_decision``).

    Azure ML has no conditional PUT: two promotions whose reads both precede
    both writes can each succeed, the later winning, and a registration (it
    adds its entry by a read and a PUT of the container) racing a promotion may
    undo it. Run the registrations and promotions of one model in one
    concurrency group (GitHub Actions ``concurrency:``).
    """

    #: models:/ URIs of the workspace load only with its MLflow tracking URI
    #: (azureml-mlflow, kept out of the core install): serve downloaded copies.
    serves_by_uri = False

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        client: Any = None,
        workspace: Any = None,
    ) -> None:
        if tracking_uri:
            raise UsageError(
                "--tracking-uri is for the MLflow registry: the Azure registry "
                "reads its workspace from MLOPS_AZURE_* or mlops.yaml"
            )
        self.ws = Workspace(
            client if client is not None else _default_client(workspace)
        )
        with self.ws.calls():
            # Reach the workspace now, so a dead one fails here in one line.
            self.ws.reach()

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
        from mlops_actions.pipeline.azure_outputs import job_output_source

        check_name(name)
        if source := job_output_source(Path(model_dir)):
            # downloaded from a job of this workspace: register the job's own
            # output, so the version's lineage is the job's, uploaded once
            return self.register_job_output(
                name,
                str(source["job"]),
                str(source["output"]),
                evaluation_dir=evaluation_dir,
                run_id=run_id,
                commit=commit,
                tags=tags,
                gate_decision=gate_decision,
                data=data,
            )
        evaluation_dir = Path(evaluation_dir) if evaluation_dir else None
        new_tags = local_tags(
            Path(model_dir),
            run_id=run_id,
            commit=commit,
            evaluation_dir=evaluation_dir,
            extra=tags,
        )
        new_tags.update(lineage_tags(data))
        path = str(Path(model_dir).resolve())
        return self._register(name, path, new_tags, evaluation_dir, gate_decision)

    def register_job_output(
        self,
        name: str,
        job: str,
        output: str,
        *,
        evaluation_dir: Path | None,
        run_id: str | None,
        commit: str | None,
        tags: dict[str, str] | None = None,
        gate_decision: str | None = None,
        data: Mapping[str, str] | None = None,
    ) -> tuple[ModelVersion, bool]:
        """Like :meth:`register`, for the output ``output`` of the Azure ML job
        ``job`` (``azureml://jobs/<job>/outputs/<output>``), never downloaded.
        ``data`` maps a pipeline input to the ``name:version`` of the data asset
        it read: tags ``mlops.data.<input>``. Without a ``run_id`` the job stands
        in for it in the idempotency key; the digest is unknown (None)."""
        check_name(name)
        evaluation_dir = Path(evaluation_dir) if evaluation_dir else None
        new_tags = job_tags(
            job,
            output,
            data,
            run_id=run_id,
            commit=commit,
            evaluation_dir=evaluation_dir,
            extra=tags,
        )
        path = f"azureml://jobs/{job}/outputs/{output}"
        return self._register(name, path, new_tags, evaluation_dir, gate_decision)

    def get(self, name: str, version: str) -> ModelVersion:
        check_name(name)
        version = check_version(version)
        with self.ws.calls():
            rest = self._rest_version(name, version)
            return as_version(name, rest, pointers(self.ws.container(name)))

    def champion(self, name: str) -> ModelVersion | None:
        check_name(name)
        with self.ws.calls():
            aliases = pointers(self.ws.container(name))
            if CHAMPION not in aliases:
                return None
            rest = self._rest_version(name, aliases[CHAMPION])
            return as_version(name, rest, aliases)

    def download(self, name: str, version: str, dest: Path) -> Path:
        rest = self._checked(name, version)
        path = str(getattr(rest.properties, "model_uri", "") or "")
        try:
            with self.ws.calls():
                return self.ws.download(name, str(version), path, Path(dest))
        except BackendError as exc:
            raise BackendError(
                f"model azureml:{name}:{version}: download failed: {exc.message}"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - one line naming the model instead
            reason = " ".join(str(exc).split())[:300]
            raise BackendError(
                f"model azureml:{name}:{version}: download failed: {reason}"
            ) from exc

    def evaluation(self, name: str, version: str, dest: Path) -> Path | None:
        ref = tags_of(self._checked(name, version)).get(EVALUATION_TAG)
        if not ref:
            return None
        with self.ws.calls():
            return self.ws.fetch_evaluation(ref, Path(dest))

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
        self._checked(name, version)
        with self.ws.calls():
            # The read the compare-and-set checks, right before the move.
            container = self.ws.container(name)
            current = pointers(container).get(CHAMPION)
            moves = [
                e
                for e in entries(self.ws.shown, name, container)
                if e.action != "register"
            ]
            last = moves[-1] if moves else None
            if current == version and last and last.action == "promote":
                if (last.version, last.previous) == (version, expected):
                    return last  # a retry of the move that already happened
            if current != expected:
                raise ChampionMoved(name, current, expected)
            if current == version:
                raise UsageError(f"{name} version {version} is already champion")
            entry = HistoryEntry("promote", version, current, audit, utc_now())
            self._move(container, version, current, entry, expected)
            self.ws.add_version_tags(
                name,
                version,
                {
                    "mlops.promoted_by": audit.actor,
                    "mlops.promoted_at": entry.time,
                    "mlops.gate_decision": audit.gate_decision or "none",
                    "mlops.promoted_run_url": audit.run_url or "",
                    "mlops.promoted_commit": audit.commit or "",
                },
            )
            return entry

    def rollback(self, name: str, *, audit: Audit) -> HistoryEntry:
        check_name(name)
        with self.ws.calls():
            container = self._container(name)
            aliases = pointers(container)
            current, previous = aliases.get(CHAMPION), aliases.get(PREVIOUS_CHAMPION)
            if previous is None:
                raise UsageError(f"{name} has no previous champion to roll back to")
            # The version `previous` replaced when it was promoted, so that a
            # second rollback undoes the promotion before.
            before = next(
                (
                    e.previous
                    for e in reversed(entries(self.ws.shown, name, container))
                    if e.action == "promote" and e.version == previous
                ),
                None,
            )
            entry = HistoryEntry("rollback", previous, current, audit, utc_now())
            after = before if before != current else None
            self._move(container, previous, after, entry, current)
            if current:
                self.ws.add_version_tags(
                    name, current, {"mlops.rolled_back_at": entry.time}
                )
            return entry

    def history(self, name: str) -> list[HistoryEntry]:
        check_name(name)
        with self.ws.calls():
            return entries(self.ws.shown, name, self._container(name))

    # -- Azure ML plumbing ---------------------------------------------------

    def _register(
        self,
        name: str,
        path: str,
        tags: dict[str, str],
        evaluation_dir: Path | None,
        gate_decision: str | None,
    ) -> tuple[ModelVersion, bool]:
        with self.ws.calls():
            found = self.ws.versions(name, f"{KEY_TAG}={tags[KEY_TAG]}")
            if found:
                earliest = min(found, key=lambda rest: version_number(rest.name))
                return self.get(name, str(earliest.name)), False
            if evaluation_dir is not None:
                tags[EVALUATION_TAG] = self.ws.store_evaluation(name, evaluation_dir)
            taken = [version_number(rest.name) for rest in self.ws.versions(name)]
            first = max(taken, default=0) + 1
            for number in range(first, first + _NUMBER_TRIES):
                tags["mlops.azureml"] = f"azureml:{name}:{number}"
                if self.ws.create(name, number, path, tags) is not None:
                    break
            else:
                raise BackendError(
                    f"{self.ws.shown}: versions {first} to "
                    f"{number} of {name} were all taken by other registrations: retry"
                )
            audit = replace(
                Audit.from_env(gate_decision=gate_decision),
                commit=tags.get("mlops.commit"),
            )
            entry = HistoryEntry("register", str(number), None, audit, utc_now())
            container = self._container(name)
            self.ws.put_container_tags(
                container, {**tags_of(container), **entry_tag(container, entry)}
            )
            return self.get(name, str(number)), True

    def _move(
        self,
        container: Any,
        champion: str,
        previous: str | None,
        entry: HistoryEntry,
        expected: str | None,
    ) -> None:
        """One PUT: both pointers and the entry; then read back, since a racer
        may have written the container meanwhile."""
        tags = {k: v for k, v in tags_of(container).items() if k not in POINTERS}
        tags[f"mlops.{CHAMPION}"] = champion
        if previous is not None:
            tags[f"mlops.{PREVIOUS_CHAMPION}"] = previous
        tags.update(entry_tag(container, entry))
        self.ws.put_container_tags(container, tags)
        now = pointers(self.ws.container(container.name)).get(CHAMPION)
        if now != champion:
            raise ChampionMoved(container.name, now, expected)

    def _container(self, name: str) -> Any:
        container = self.ws.container(name)
        if container is None:
            raise UsageError(f"no model named {name} in registry {self.ws.shown}")
        return container

    def _rest_version(self, name: str, version: str) -> Any:
        rest = self.ws.version(name, version)
        if rest is None:
            raise UsageError(
                f"{name} has no version {version} in registry {self.ws.shown}"
            )
        return rest

    def _checked(self, name: str, version: str) -> Any:
        check_name(name)
        with self.ws.calls():
            return self._rest_version(name, check_version(version))


def _default_client(workspace: Any = None) -> Any:
    """The workspace connection's client: ``workspace``, else the one flags,
    MLOPS_AZURE_* and mlops.yaml name."""
    from mlops_actions.azure.client import ml_client
    from mlops_actions.azure.workspace import resolve_workspace

    return ml_client(workspace or resolve_workspace())
