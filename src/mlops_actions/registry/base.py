"""The model registry interface: what every backend promises, and its records.

Pure: no SDK is imported here. The docstrings of :class:`Registry` are the
contract; ``tests/registry/test_contract.py`` runs it against every backend.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlops_actions import process
from mlops_actions.errors import BackendError, CheckFailed, UsageError

#: The alias that serving, the gate and rollouts follow.
CHAMPION = "champion"
#: Where ``rollback`` goes back to.
PREVIOUS_CHAMPION = "previous-champion"
ACTIONS = ("register", "promote", "rollback")

#: Tags ``mlops.data.<input>`` = ``NAME:VERSION``: the data a version was trained on.
DATA_TAG = "mlops.data."
#: Tags ``metric.<name>``: the evaluate step's metrics at registration.
METRIC_TAG = "metric."
#: Tags ``mlops.history.<sortable id>``: one audit entry each, as JSON.
HISTORY_TAG = "mlops.history."
#: Tag ``mlops.key``: a hash of (run, commit), what registration is idempotent on.
KEY_TAG = "mlops.key"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_DATA_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*:[A-Za-z0-9][A-Za-z0-9._-]*")
_INPUT = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_VERSION = re.compile(r"[1-9][0-9]*")


class RegistryUnavailable(BackendError):
    """The registry cannot be reached or read; the message names its URI."""


class ChampionMoved(CheckFailed):
    """The champion is no longer the one the gate compared the candidate with."""

    def __init__(self, name: str, current: str | None, expected: str | None) -> None:
        super().__init__(
            f"champion of {name} is now {_shown_version(current)}, not "
            f"{_shown_version(expected)} as the gate compared: re-run the gate"
        )
        self.current = current
        self.expected = expected


def _shown_version(version: str | None) -> str:
    return f"version {version}" if version else "none"


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model."""

    name: str
    version: str
    #: loadable by ``mlflow.pyfunc.load_model``: ``models:/NAME/VERSION``
    uri: str
    #: the pipeline run and the git commit it came from
    run_id: str | None
    commit: str | None
    #: sha256 of the model folder's content (names and bytes)
    digest: str | None
    #: the evaluate step's metrics at registration
    metrics: dict[str, float]
    tags: dict[str, str]
    #: ISO-8601 UTC
    created: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Audit:
    """Who moved the champion, from which commit and workflow run, and why."""

    actor: str
    commit: str | None
    run_url: str | None
    gate_decision: str | None
    reason: str = ""

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        gate_decision: str | None = None,
        reason: str = "",
    ) -> Audit:
        """Inside GitHub Actions: ``GITHUB_ACTOR``, ``GITHUB_SHA`` and the run's
        URL; elsewhere ``$USER`` (or the login name) and ``git rev-parse HEAD``
        of the working directory (None when that is not a repository)."""
        env = os.environ if environ is None else environ
        server, repo, run = (
            env.get(k)
            for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
        )
        run_url = (
            f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None
        )
        actor = env.get("GITHUB_ACTOR") or env.get("USER") or env.get("USERNAME")
        return cls(
            actor=actor or (_login() if environ is None else None) or "unknown",
            commit=current_commit(env),
            run_url=run_url,
            gate_decision=gate_decision,
            reason=reason,
        )


@dataclass(frozen=True)
class HistoryEntry:
    """One move in a model's audit trail."""

    action: str  # register | promote | rollback
    version: str
    #: the champion before a promote or rollback; None for register
    previous: str | None
    audit: Audit
    #: ISO-8601 UTC
    time: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HistoryEntry:
        audit = dict(data.get("audit") or {})
        return cls(
            action=str(data["action"]),
            version=str(data["version"]),
            previous=None if data.get("previous") is None else str(data["previous"]),
            audit=Audit(
                actor=str(audit.get("actor") or "unknown"),
                commit=audit.get("commit"),
                run_url=audit.get("run_url"),
                gate_decision=audit.get("gate_decision"),
                reason=str(audit.get("reason") or ""),
            ),
            time=str(data["time"]),
        )


class Registry(ABC):
    """Versions of named models, a ``champion`` alias and its audit trail.

    Versions are immutable once registered. Unknown names or versions raise
    :class:`~mlops_actions.errors.UsageError` (exit 2); an unreachable or
    unreadable store raises :class:`RegistryUnavailable` (exit 3).
    """

    #: Whether a version's ``models:/`` URI loads in this process as it is
    #: (MLflow's registry); False: serve a downloaded copy instead.
    serves_by_uri: bool = True

    @abstractmethod
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
        """Store the MLflow model folder ``model_dir`` as a new version of
        ``name`` (created on first use), with the evaluation folder beside it
        (``metrics.json`` and ``predictions.parquet``: its metrics become the
        version's ``metrics``). Returns ``(version, created)``.

        Idempotent on ``(name, run_id, commit)``: when a version with that pair
        exists it is returned with ``created`` False and nothing is stored.
        Without a ``run_id`` the model folder's digest stands in for it. A
        ``register`` entry is added to the history, with ``gate_decision``
        (what the gate decided about this candidate, reject included). Tag
        keys starting with ``mlops.`` or ``metric.`` are reserved (UsageError).
        ``data`` maps each pipeline input to the ``NAME:VERSION`` of the data
        asset it read (the lineage): the version's tags carry it as
        ``mlops.data.<input>`` (see :func:`lineage_tags`).
        """

    @abstractmethod
    def get(self, name: str, version: str) -> ModelVersion:
        """The version, with its aliases; UsageError when it does not exist."""

    @abstractmethod
    def champion(self, name: str) -> ModelVersion | None:
        """The version the ``champion`` alias points at; None when there is
        none yet, also when no model of that name was ever registered."""

    @abstractmethod
    def download(self, name: str, version: str, dest: Path) -> Path:
        """Download the version's model files into ``dest`` and return the
        model folder (the one holding ``MLmodel``). UsageError when the version
        does not exist, BackendError when the download fails."""

    @abstractmethod
    def evaluation(self, name: str, version: str, dest: Path) -> Path | None:
        """Download the evaluation folder stored at registration into ``dest``
        and return the folder holding ``metrics.json``, for paired comparisons
        on the same rows; None when the version was registered without one."""

    @abstractmethod
    def promote(
        self,
        name: str,
        version: str,
        *,
        expect_champion: str | None,
        audit: Audit,
    ) -> HistoryEntry:
        """Compare-and-set the ``champion`` alias to ``version``.

        Raises :class:`ChampionMoved`, changing nothing, when the champion is
        not ``expect_champion`` right before the move (None: expect that there
        is no champion). On success the old champion becomes
        ``previous-champion`` (the alias is removed when there was none), the
        version is tagged with who promoted it, when and the gate's decision,
        and a ``promote`` entry with ``audit`` is added to the history. A retry
        of a promotion that already happened (``version`` is champion and the
        last entry promoted it from ``expect_champion``) returns that entry and
        changes nothing. Promoting the current champion is a UsageError.
        """

    @abstractmethod
    def rollback(self, name: str, *, audit: Audit) -> HistoryEntry:
        """Point ``champion`` back at ``previous-champion`` and record a
        ``rollback`` entry (``previous`` is the version rolled back from).

        ``previous-champion`` then moves one step further back, to the version
        the restored one replaced when it was promoted, so successive rollbacks
        undo successive promotions; it is removed when there is no such
        version. UsageError when there is no previous champion.
        """

    @abstractmethod
    def history(self, name: str) -> list[HistoryEntry]:
        """Every register, promote and rollback of ``name``, oldest first;
        UsageError when no model of that name exists."""


def lineage_tags(data: Mapping[str, str] | None) -> dict[str, str]:
    """``mlops.data.<input>`` tags for ``data`` (input -> ``NAME:VERSION``);
    UsageError for an input or a reference of another form."""
    tags = {}
    for name, ref in sorted((data or {}).items()):
        if not _INPUT.fullmatch(str(name)) or not _DATA_REF.fullmatch(str(ref)):
            raise UsageError(
                f"data lineage {name}={ref!r}: use INPUT=NAME:VERSION, the pipeline "
                "input and the data asset version it read"
            )
        tags[f"{DATA_TAG}{name}"] = str(ref)
    return tags


def metrics_from_tags(tags: Mapping[str, str]) -> dict[str, float]:
    """The ``metric.<name>`` tags of a version, as numbers."""
    metrics = {}
    for tag, value in tags.items():
        if tag.startswith(METRIC_TAG):
            try:
                metrics[tag[len(METRIC_TAG) :]] = float(value)
            except ValueError:
                pass
    return metrics


def history_from_tags(
    tags: Mapping[str, str], *, store: str, name: str
) -> list[HistoryEntry]:
    """The ``mlops.history.*`` entries among ``tags``, oldest first; a tag that
    is no entry is a BackendError naming it (and ``store``, the registry)."""
    entries = []
    for key in sorted(k for k in tags if k.startswith(HISTORY_TAG)):
        try:
            entries.append(HistoryEntry.from_json(json.loads(tags[key])))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BackendError(
                f"registry {store}: tag {key} of {name} is not a history entry; "
                "fix or delete the tag"
            ) from None
    return entries


def check_name(name: str) -> str:
    """A model name every backend accepts and ``models:/NAME/1`` can carry."""
    if not _NAME.fullmatch(name or ""):
        raise UsageError(
            f"model name {name!r} is not valid: use up to 255 letters, digits, "
            "'.', '_' and '-', starting with a letter or digit"
        )
    return name


def check_version(version: str) -> str:
    if not _VERSION.fullmatch(str(version)):
        raise UsageError(f"model version {version!r} is not valid: use 1, 2, 3, ...")
    return str(version)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return None


def current_commit(environ: Mapping[str, str] | None = None) -> str | None:
    """``GITHUB_SHA``, else ``git rev-parse HEAD`` here, else None."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_SHA"):
        return env["GITHUB_SHA"]
    try:
        proc = process.capture(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"], timeout=5
        )
    except (process.CannotStart, process.TimedOut):
        return None
    sha = proc.stdout.strip()
    return (
        sha if proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None
    )
