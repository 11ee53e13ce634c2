"""What a version's tags say on Azure ML, and the container's history tags.

A version is a ``mlflow_model`` asset ``NAME:N``; provenance, the idempotency
key, the metrics and the data it was trained on are its tags. The model
container ``NAME`` carries the pointers (``mlops.champion``,
``mlops.previous-champion``) and the history, one tag per entry, so one PUT of
the container moves both pointers and records the move together. A tag value
holds at most 1,000 characters (Azure ML's limit), so an entry's reason is cut
to 300; Azure ML documents 50 tags per run or experiment and none for model
containers: a model with very many moves may meet a limit of the service.
Pure: no SDK.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from mlops_actions.digest import tree_digest
from mlops_actions.errors import UsageError
from mlops_actions.registry.base import (
    CHAMPION,
    PREVIOUS_CHAMPION,
    HistoryEntry,
    ModelVersion,
    HISTORY_TAG,
    KEY_TAG,
    METRIC_TAG,
    history_from_tags,
    lineage_tags,
    metrics_from_tags,
    utc_now,
)
from mlops_actions.registry.candidate import read_metrics

EVALUATION_TAG = "mlops.evaluation"
#: container tag -> alias it carries
POINTERS = {
    f"mlops.{CHAMPION}": CHAMPION,
    f"mlops.{PREVIOUS_CHAMPION}": PREVIOUS_CHAMPION,
}
#: Azure ML refuses longer tag values (service limits: 1,000 characters).
TAG_VALUE_LIMIT = 1000
#: A history entry is one container tag: its free text is cut to fit.
REASON_LIMIT = 300


def identity_tags(
    run_id: str | None,
    commit: str | None,
    stand_in: str,
    evaluation_dir: Path | None,
    extra: dict[str, str] | None,
) -> dict[str, str]:
    """Tags every new version carries; ``mlops.key`` identifies (run, commit),
    ``stand_in`` taking the run's place when there is none."""
    if evaluation_dir is not None and not evaluation_dir.is_dir():
        raise UsageError(f"evaluation folder {evaluation_dir} does not exist")
    extra = dict(extra or {})
    if reserved := [k for k in extra if k.startswith(("mlops.", METRIC_TAG))]:
        raise UsageError(f"tag {reserved[0]!r}: mlops.* and metric.* are reserved")
    metrics = read_metrics(evaluation_dir)
    # A hash, so the key is always safe to put inside a tag filter.
    identity = json.dumps([run_id or stand_in, commit]).encode()
    return {
        **extra,
        **{f"{METRIC_TAG}{name}": repr(value) for name, value in metrics.items()},
        KEY_TAG: hashlib.sha256(identity).hexdigest()[:32],
        **({"mlops.run_id": run_id} if run_id else {}),
        **({"mlops.commit": commit} if commit else {}),
    }


def local_tags(model_dir: Path, **identity: Any) -> dict[str, str]:
    if not (model_dir / "MLmodel").is_file():
        raise UsageError(f"{model_dir} is not an MLflow model folder (no MLmodel)")
    digest = tree_digest(model_dir)
    return {
        **identity_tags(stand_in=f"digest:{digest}", **identity),
        "mlops.digest": digest,
    }


def job_tags(
    job: str, output: str, data: Mapping[str, str] | None, **identity: Any
) -> dict[str, str]:
    """Tags of a version registered from a job's output: the job stands in for a
    missing run id, and ``mlops.data.<input>`` names each data asset read."""
    for part, value in (("job", job), ("output", output)):
        if not value or "/" in value:
            raise UsageError(f"{part} {value!r} is not valid: name one, no '/'")
    lineage = lineage_tags(data)
    return {
        **identity_tags(stand_in=f"job:{job}", **identity),
        **lineage,
        "mlops.job": job,
        "mlops.output": output,
    }


def check_tag_values(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if len(value) > TAG_VALUE_LIMIT:
            raise UsageError(
                f"tag {key!r} is {len(value)} characters long: Azure ML keeps at "
                f"most {TAG_VALUE_LIMIT}; shorten it"
            )


def tags_of(rest: Any) -> dict[str, str]:
    props = getattr(rest, "properties", None)
    return {str(k): str(v) for k, v in (getattr(props, "tags", None) or {}).items()}


def pointers(container: Any | None) -> dict[str, str]:
    """alias -> version, from the container's tags."""
    tags = tags_of(container) if container is not None else {}
    return {alias: tags[tag] for tag, alias in POINTERS.items() if tags.get(tag)}


def as_version(name: str, rest: Any, aliases: dict[str, str]) -> ModelVersion:
    """The REST model version as ours; ``aliases`` from :func:`pointers`."""
    tags = tags_of(rest)
    metrics = metrics_from_tags(tags)
    version = str(rest.name)
    return ModelVersion(
        name=name,
        version=version,
        uri=f"models:/{name}/{version}",
        run_id=tags.get("mlops.run_id"),
        commit=tags.get("mlops.commit"),
        digest=tags.get("mlops.digest"),
        metrics=metrics,
        tags=tags,
        created=created(rest),
        aliases=tuple(sorted(a for a, v in aliases.items() if v == version)),
    )


def entries(shown: str, name: str, container: Any) -> list[HistoryEntry]:
    return history_from_tags(tags_of(container), store=shown, name=name)


def entry_tag(container: Any, entry: HistoryEntry) -> dict[str, str]:
    tags = tags_of(container)
    seqs = [int(k[len(HISTORY_TAG) :][:6]) for k in tags if k.startswith(HISTORY_TAG)]
    # The random suffix keeps two writers from overwriting one key.
    key = f"{HISTORY_TAG}{max(seqs, default=0) + 1:06d}-{secrets.token_hex(2)}"
    short = replace(
        entry, audit=replace(entry.audit, reason=entry.audit.reason[:REASON_LIMIT])
    )
    return {key: json.dumps(short.to_json(), sort_keys=True, separators=(",", ":"))}


def version_number(version: Any) -> int:
    try:
        return int(str(version))
    except ValueError:
        return 0  # a version not made by this registry ("v2"): never the max


def created(rest: Any) -> str:
    at = getattr(getattr(rest, "system_data", None), "created_at", None)
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if not isinstance(at, datetime):
        return utc_now()
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
