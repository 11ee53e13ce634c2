"""Deploy a model to a target and smoke-test it: the deploy use case.

The model is either a registered version (the champion of a name by default,
pinned to its version number: nothing deploys "latest") or an MLflow model
folder. A ``models:/NAME/VERSION`` URI is that registered version. The smoke
request comes from ``--smoke``, else the version's stored evaluation
(``smoke.json``); a model without recorded answers (a folder, or a
registered version whose evaluation has no ``smoke.json``) falls back to
MLflow's ``serving_input_example.json`` in the model and checks the answer's
shape only, and says so.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mlops_actions.deploy.base import Deployed, DeployTarget, ModelRef
from mlops_actions.deploy.smoke import load_smoke
from mlops_actions.errors import UsageError
from mlops_actions.registry.base import Registry
from mlops_actions.settings import state_dir


def deploy_model(
    target: DeployTarget,
    *,
    model: str | None,
    name: str | None,
    smoke_file: Path | None,
    registry: Registry | None,
    tolerance: float | None = None,
    image: str | None = None,
) -> Deployed:
    """Serve ``model`` (or ``name``'s champion from ``registry``) on ``target``;
    the target stops or rolls back a deployment whose smoke test fails.
    ``tolerance``, when given, replaces the smoke test's absolute tolerance."""
    smoke = load_smoke(smoke_file) if smoke_file else None
    registered = _registered_version(model)
    if model is not None and registered is None:
        if smoke is None and Path(model).is_dir():
            smoke = _example_smoke(Path(model))
        model_ref = ModelRef(model, None, name, image)
        return target.deploy(model_ref, _tolerant(smoke, tolerance))
    if registered is not None:  # models:/NAME/VERSION: as --name, pinned
        name, version = registered
    elif name is None:
        raise UsageError("pass --model (a folder or models:/ URI) or --name")
    elif registry is None:
        raise UsageError(f"--name {name}: no registry to find its champion in")
    else:
        champion = registry.champion(name)
        if champion is None:
            raise UsageError(f"{name} has no champion: register and promote one first")
        version = champion.version
    if smoke is None and registry is not None:
        smoke = _stored_smoke(registry, name, version)
        if smoke is None:
            smoke = _registered_example(registry, name, version)
    uri = f"models:/{name}/{version}"
    if registry is not None and not registry.serves_by_uri and target.loads_model:
        where = state_dir() / "models" / name / version
        shutil.rmtree(where, ignore_errors=True)  # never serve a half download
        uri = str(registry.download(name, version, where).resolve())
    model_ref = ModelRef(uri, version, name, image)
    return target.deploy(model_ref, _tolerant(smoke, tolerance))


def _registered_version(model: str | None) -> tuple[str, str] | None:
    """(name, version) of a ``models:/NAME/VERSION`` URI, else None."""
    if model is None or not model.startswith("models:/"):
        return None
    name, _, version = model[len("models:/") :].rpartition("/")
    return (name, version) if name and version.isdigit() else None


def _tolerant(smoke: dict | None, tolerance: float | None) -> dict | None:
    if smoke is None or tolerance is None:
        return smoke
    if tolerance < 0:
        raise UsageError(f"--tolerance {tolerance}: give a number of 0 or more")
    return {**smoke, "tolerance": tolerance}


def _stored_smoke(registry: Registry, name: str, version: str) -> dict | None:
    with tempfile.TemporaryDirectory(prefix="mlops-smoke-") as tmp:
        folder = registry.evaluation(name, version, Path(tmp))
        path = folder / "smoke.json" if folder else None
        if path is None or not path.is_file():
            return None
        return load_smoke(path, where=f"{name} version {version}: smoke.json")


def _registered_example(registry: Registry, name: str, version: str) -> dict | None:
    """The registered version's serving example, when it has no recorded answers."""
    with tempfile.TemporaryDirectory(prefix="mlops-smoke-") as tmp:
        return _example_smoke(registry.download(name, version, Path(tmp)))


def _example_smoke(model_dir: Path) -> dict[str, Any] | None:
    """MLflow's own serving example; only the number of answers is known.

    An example that is no JSON object sends nothing: the scorer's warm-up
    with that same example says what is wrong with it.
    """
    from mlops_actions.scorer.model.loading import EXAMPLE, read_example

    body = read_example(model_dir / EXAMPLE)  # MLflow's bare NaN read as null
    try:
        request = json.loads(body) if body is not None else None
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    expected = {"rows": _example_rows(request)}
    return {"request": request, "expected": expected, "shape_only": True}


def _example_rows(request: dict[str, Any]) -> int | None:
    """How many rows a request sends, in each of MLflow's forms; None when
    the form does not say (a tensor dict of other lengths)."""
    split = request.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("data"), list):
        return len(split["data"])
    for key in ("dataframe_records", "instances", "inputs"):
        value = request.get(key)
        if isinstance(value, list):
            return len(value)
        if isinstance(value, dict):
            lengths = {len(v) if isinstance(v, list) else -1 for v in value.values()}
            if len(lengths) == 1 and -1 not in lengths:
                return lengths.pop()
            return None
    return None
