"""Deploy a model to the local target and smoke-test it: the deploy use case.

The model is either a registered version (the champion of a name by default,
pinned to its version number: nothing deploys "latest") or an MLflow model
folder. The smoke request comes from the version's stored evaluation
(``smoke.json``), or from ``--smoke``; a folder without one falls back to
MLflow's ``serving_input_example.json`` and checks the answer's shape only.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions.deploy import local
from mlops_actions.deploy.smoke import SmokeResult, load_smoke, smoke_test
from mlops_actions.errors import CheckFailed, UsageError


@dataclass(frozen=True)
class Deployed:
    deployment: local.LocalDeployment
    smoke: SmokeResult | None
    name: str | None


def deploy_local(
    *,
    model: str | None,
    name: str | None,
    smoke_file: Path | None,
    registry: Any,
    host: str,
    port: int,
    state: Path,
) -> Deployed:
    """Start the scorer for the model, smoke-test it, stop it if it fails."""
    version = None
    smoke = load_smoke(smoke_file) if smoke_file else None
    if model is None:
        if name is None:
            raise UsageError("pass --model (a folder or models:/ URI) or --name")
        champion = registry.champion(name)
        if champion is None:
            raise UsageError(f"{name} has no champion: register and promote one first")
        version = champion.version
        model = f"models:/{name}/{version}"
        if smoke is None:
            smoke = _stored_smoke(registry, name, version)
    elif smoke is None and Path(model).is_dir():
        smoke = _example_smoke(Path(model))
    deployment = local.deploy(model, version=version, host=host, port=port, state=state)
    if smoke is None:
        return Deployed(deployment, None, name)
    result = smoke_test(deployment.url, smoke)
    if not result.ok:
        local.stop(state)
        raise CheckFailed(
            f"{result.summary()}; the scorer at {deployment.url} was stopped",
            detail="\n".join(result.mismatches) or None,
        )
    return Deployed(deployment, result, name)


def _stored_smoke(registry: Any, name: str, version: str) -> dict | None:
    with tempfile.TemporaryDirectory(prefix="mlops-smoke-") as tmp:
        folder = registry.evaluation(name, version, Path(tmp))
        path = folder / "smoke.json" if folder else None
        return load_smoke(path) if path and path.is_file() else None


def _example_smoke(model_dir: Path) -> dict | None:
    """MLflow's own serving example; only the number of answers is known."""
    from mlops_actions.scorer.model.loading import EXAMPLE, read_example

    body = read_example(model_dir / EXAMPLE)  # MLflow's bare NaN read as null
    if body is None:
        return None
    request = json.loads(body)
    split = request.get("dataframe_split") or {}
    rows = len(split.get("data") or request.get("dataframe_records") or [])
    return {"request": request, "expected": {"rows": rows}, "shape_only": True}
