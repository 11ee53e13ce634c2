"""The deploy target interface: what every target promises, and its records.

Pure: no SDK is imported here. The docstrings of :class:`DeployTarget` are the
contract; ``tests/contracts/test_deploy_target.py`` runs it against every
target. The deploy use case (:mod:`.target`) and the release loop hold these
types only, so an AKS or Container Apps target is a choice, not an edit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from mlops_actions.deploy.smoke import SmokeResult


@dataclass(frozen=True)
class ModelRef:
    """The model to serve: an MLflow model folder or a ``models:/`` URI."""

    uri: str
    #: the registered version pinned (never "latest"); None for a folder
    version: str | None = None
    #: the registered model's name, when deployed by name
    name: str | None = None
    #: the image that serves it, REPOSITORY@sha256:... (for a target that
    #: runs images rather than loading the model itself)
    image: str | None = None


class Deployment(Protocol):
    """One running deployment, as its target records it."""

    @property
    def url(self) -> str:
        """Where the scorer answers (``/invocations``, ``/health/ready``)."""

    @property
    def model(self) -> str:
        """The model URI or folder it serves."""

    @property
    def version(self) -> str | None:
        """The registered version it serves; None for a folder."""

    @property
    def handle(self) -> str:
        """What runs it, in the target's words: ``pid 1234`` locally."""

    def to_json(self) -> dict[str, Any]:
        """The target's own fields of the deploy record."""


@dataclass(frozen=True)
class Deployed:
    """A deployment that passed its smoke test (or had none to run)."""

    target: str
    deployment: Deployment
    smoke: SmokeResult | None
    #: the registered model's name, when deployed by name
    name: str | None

    def to_json(self) -> dict[str, Any]:
        """The deploy record: ``deploy.json``, and ``mlops deploy --json``."""
        # Imported here: pydantic is not loaded for `mlops --help`.
        from mlops_actions.records.deploy import DeployRecord

        fields = dict(self.deployment.to_json())
        fields["model_version"] = fields.pop("version", None)
        smoke = asdict(self.smoke) if self.smoke else None
        record = DeployRecord.model_validate(
            {"target": self.target, **fields, "smoke": smoke}
        )
        return record.to_json()


class DeployTarget(ABC):
    """Somewhere a model is served: one deployment at a time per target.

    Errors: :class:`~mlops_actions.errors.UsageError` (exit 2) for what the
    user fixes (a port in use, nothing to roll back to);
    :class:`~mlops_actions.errors.BackendError` (exit 3) when the target
    fails; :class:`~mlops_actions.errors.CheckFailed` (exit 1) when the smoke
    test fails.
    """

    #: the name ``open_deploy_target`` knows it by
    name: str
    #: whether the target loads the model from its URI on this machine (a
    #: local scorer); False when the model is in the image it deploys
    loads_model: bool = True

    @abstractmethod
    def deploy(self, model: ModelRef, smoke: dict[str, Any] | None) -> Deployed:
        """Serve ``model`` in place of what this target serves now.

        Returns once the new deployment is ready and, when ``smoke`` is given
        (a ``smoke.json`` body), has answered its request as recorded. A
        failed smoke test leaves nothing of the new deployment serving and
        raises CheckFailed. Each deployment that passes is recorded, so that
        :meth:`rollback` can return to the one before it.
        """

    @abstractmethod
    def status(self) -> Deployment | None:
        """The deployment serving now; None when nothing serves."""

    @abstractmethod
    def rollback(self) -> Deployed:
        """Serve the model deployed before the current one again.

        Raises UsageError naming what to do when no earlier deployment is
        recorded. Rolling back twice returns to where it started.
        """

    @abstractmethod
    def stop(self) -> Deployment | None:
        """Stop what serves; return it, or None when nothing was serving.

        The records stay: :meth:`rollback` still knows what was deployed.
        """
