"""How a version is kept in MLflow: a registration run's artifacts and tags.

The folders become artifacts of a run in the ``mlops-registry`` experiment
(``model/``, ``evaluation/``); provenance, the idempotency key and the metrics
become version tags, read back into :class:`ModelVersion`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlops_actions.digest import tree_digest
from mlops_actions.errors import UsageError
from mlops_actions.registry.base import (
    KEY_TAG,
    METRIC_TAG,
    ModelVersion,
    metrics_from_tags,
)
from mlops_actions.registry.candidate import read_metrics
from mlops_actions.registry.store import Store

EXPERIMENT = "mlops-registry"
EVALUATION = "evaluation"


def version_tags(
    model_dir: Path,
    evaluation_dir: Path | None,
    run_id: str | None,
    commit: str | None,
    extra: dict[str, str] | None,
) -> dict[str, str]:
    """The tags of a new version; ``mlops.key`` identifies (run, commit).

    Without a run id the model folder's digest stands in for it, so the same
    folder at the same commit is registered once.
    """
    if not (model_dir / "MLmodel").is_file():
        raise UsageError(f"{model_dir} is not an MLflow model folder (no MLmodel)")
    if evaluation_dir is not None and not evaluation_dir.is_dir():
        raise UsageError(f"evaluation folder {evaluation_dir} does not exist")
    extra = dict(extra or {})
    if reserved := [k for k in extra if k.startswith(("mlops.", METRIC_TAG))]:
        raise UsageError(f"tag {reserved[0]!r}: mlops.* and metric.* are reserved")
    digest = tree_digest(model_dir)
    metrics = read_metrics(evaluation_dir)
    # A hash, so the key is always safe to put inside a search filter.
    identity = json.dumps([run_id or f"digest:{digest}", commit]).encode()
    return {
        **extra,
        **{f"{METRIC_TAG}{name}": repr(value) for name, value in metrics.items()},
        KEY_TAG: hashlib.sha256(identity).hexdigest()[:32],
        "mlops.digest": digest,
        **({"mlops.run_id": run_id} if run_id else {}),
        **({"mlops.commit": commit} if commit else {}),
        **({"mlops.evaluation": EVALUATION} if evaluation_dir else {}),
    }


def upload(
    client: Any, store: Store, name: str, model_dir: Path, evaluation: Path | None
) -> str:
    """Log the folders as artifacts of a new registration run; its id."""
    run = client.create_run(
        _experiment_id(client, store),
        run_name=f"register-{name}",
        tags={"mlops.model": name},
    )
    source = run.info.run_id
    try:
        client.log_artifacts(source, str(model_dir), "model")
        if evaluation is not None:
            client.log_artifacts(source, str(evaluation), EVALUATION)
    except BaseException:
        client.set_terminated(source, status="FAILED")
        raise
    client.set_terminated(source)
    return source


def _experiment_id(client: Any, store: Store) -> str:
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    # Beside a local database; MLflow's default would be ./mlruns of the cwd.
    location = store.artifacts.as_uri() if store.artifacts else None
    try:
        return client.create_experiment(EXPERIMENT, artifact_location=location)
    except Exception as exc:  # another process created it first
        if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(EXPERIMENT).experiment_id


def to_version(mv: Any) -> ModelVersion:
    """MLflow's ModelVersion as ours (aliases only where MLflow filled them)."""
    tags = dict(mv.tags or {})
    metrics = metrics_from_tags(tags)
    created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=timezone.utc)
    return ModelVersion(
        name=mv.name,
        version=str(mv.version),
        uri=f"models:/{mv.name}/{mv.version}",
        run_id=tags.get("mlops.run_id"),
        commit=tags.get("mlops.commit"),
        digest=tags.get("mlops.digest"),
        metrics=metrics,
        tags=tags,
        created=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        aliases=tuple(sorted(mv.aliases or ())),
    )
