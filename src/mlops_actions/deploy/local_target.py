"""The ``local`` deploy target: the scorer under uvicorn on this machine.

The process side (start, readiness by instance id, stop by pid and start time)
is :mod:`.local`. This module adds what makes it a :class:`DeployTarget`: the
smoke test after each deploy, and the deploy records under
``<state>/deploy/``: ``deploy.json`` for the last deployment that passed its
smoke test and ``previous.json`` for the one before it, which
:meth:`LocalTarget.rollback` serves again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_actions.deploy import local
from mlops_actions.deploy.base import Deployed, DeployTarget, ModelRef
from mlops_actions.deploy.smoke import check_smoke, smoke_test
from mlops_actions.errors import UsageError
from mlops_actions.jsonio import read_json, write_json

RECORD = "deploy/deploy.json"
PREVIOUS = "deploy/previous.json"


class LocalTarget(DeployTarget):
    """One scorer per state folder, on ``host:port``."""

    name = "local"

    def __init__(
        self,
        state: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        timeout: float = 120.0,
    ) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.timeout = timeout

    def deploy(self, model: ModelRef, smoke: dict[str, Any] | None) -> Deployed:
        """Stop the running scorer, start one for ``model``, smoke-test it; a
        failed smoke test stops the new scorer too (nothing is left serving),
        and so does any error before the deployment is recorded."""
        if smoke is not None:
            check_smoke(smoke)  # a smoke test that cannot run starts nothing
        deployment = local.deploy(
            model.uri,
            version=model.version,
            host=self.host,
            port=self.port,
            state=self.state,
            timeout=self.timeout,
        )
        try:
            result = smoke_test(deployment.url, smoke) if smoke is not None else None
            if result is not None and not result.ok:
                raise result.failed(f"; the scorer at {deployment.url} was stopped")
            done = Deployed(self.name, deployment, result, model.name)
            self._record(done)
        except BaseException:
            # internal errors and Ctrl-C included: a scorer nobody checked
            # must not be left serving
            local.stop(self.state)
            raise
        return done

    def status(self) -> local.LocalDeployment | None:
        return local.current(self.state)

    def rollback(self) -> Deployed:
        """Serve the model of ``previous.json`` again, on this target's port."""
        previous = read_json(self.state / PREVIOUS) or {}
        uri = previous.get("model")
        if not isinstance(uri, str) or not uri:
            raise UsageError(
                f"no earlier local deployment is recorded ({self.state / PREVIOUS}): "
                "nothing to roll back to; deploy a model with mlops deploy local"
            )
        version = previous.get("model_version")
        return self.deploy(
            ModelRef(uri, str(version) if version else None, _registered_name(uri)),
            None,
        )

    def stop(self) -> local.LocalDeployment | None:
        return local.stop(self.state)

    def _record(self, done: Deployed) -> None:
        """``deploy.json`` becomes ``previous.json`` when another model takes
        its place; deploying the same model again keeps what rollback returns to.
        """
        body = done.to_json()
        current = read_json(self.state / RECORD)
        if current and (current.get("model"), current.get("model_version")) != (
            body["model"],
            body["model_version"],
        ):
            write_json(self.state / PREVIOUS, current)
        write_json(self.state / RECORD, body)


def _registered_name(uri: str) -> str | None:
    """NAME of ``models:/NAME/VERSION``; None for a folder."""
    if not uri.startswith("models:/"):
        return None
    return uri.removeprefix("models:/").split("/", 1)[0] or None
