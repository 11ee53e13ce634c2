"""Deploy a model to a target and smoke-test it: the deploy use case.

The model is either a registered version (the champion of a name by default,
pinned to its version number: nothing deploys "latest") or an MLflow model
folder. The smoke request comes from the version's stored evaluation
(``smoke.json``), or from ``--smoke``; a folder without one falls back to
MLflow's ``serving_input_example.json`` and checks the answer's shape only.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mlops_actions.deploy.base import Deployed, DeployTarget, ModelRef
from mlops_actions.deploy.smoke import load_smoke
from mlops_actions.errors import UsageError
from mlops_actions.registry.base import Registry


def deploy_model(
    target: DeployTarget,
    *,
    model: str | None,
    name: str | None,
    smoke_file: Path | None,
    registry: Registry | None,
) -> Deployed:
    """Serve ``model`` (or ``name``'s champion from ``registry``) on ``target``;
    the target stops or rolls back a deployment whose smoke test fails."""
    smoke = load_smoke(smoke_file) if smoke_file else None
    if model is not None:
        if smoke is None and Path(model).is_dir():
            smoke = _example_smoke(Path(model))
        return target.deploy(ModelRef(model, None, name), smoke)
    if name is None:
        raise UsageError("pass --model (a folder or models:/ URI) or --name")
    if registry is None:
        raise UsageError(f"--name {name}: no registry to find its champion in")
    champion = registry.champion(name)
    if champion is None:
        raise UsageError(f"{name} has no champion: register and promote one first")
    version = champion.version
    if smoke is None:
        smoke = _stored_smoke(registry, name, version)
    return target.deploy(ModelRef(f"models:/{name}/{version}", version, name), smoke)


def _stored_smoke(registry: Registry, name: str, version: str) -> dict | None:
    with tempfile.TemporaryDirectory(prefix="mlops-smoke-") as tmp:
        folder = registry.evaluation(name, version, Path(tmp))
        path = folder / "smoke.json" if folder else None
        return load_smoke(path) if path and path.is_file() else None


def _example_smoke(model_dir: Path) -> dict[str, Any] | None:
    """MLflow's own serving example; only the number of answers is known."""
    from mlops_actions.scorer.model.loading import EXAMPLE, read_example

    body = read_example(model_dir / EXAMPLE)  # MLflow's bare NaN read as null
    if body is None:
        return None
    request = json.loads(body)
    split = request.get("dataframe_split") or {}
    rows = len(split.get("data") or request.get("dataframe_records") or [])
    return {"request": request, "expected": {"rows": rows}, "shape_only": True}
