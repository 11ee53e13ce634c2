"""Files the registry commands exchange with other steps: model.json, gate.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.records.base import RecordUnreadable
from mlops_actions.records.gate import PASSING, read_gate
from mlops_actions.records.model import ModelRecord
from mlops_actions.registry.base import ModelVersion


def model_record(version: ModelVersion, *, created: bool) -> dict[str, Any]:
    """``model.json``: the immutable version later steps build and deploy.

    ``version`` is the file format's version, as in every file we write; the
    model's own version is ``model_version``.
    """
    return ModelRecord(
        name=version.name,
        model_version=version.version,
        uri=version.uri,
        digest=version.digest,
        run_id=version.run_id,
        commit=version.commit,
        created=version.created,
        new=created,
        metrics=version.metrics,
    ).to_json()


def gate_promotion(path: Path) -> tuple[str, str | None] | str:
    """``(decision, champion compared against)`` when ``gate.json`` authorises a
    promotion, else the reason it does not (a reject, a dry-run)."""
    data = _read_gate(path)
    decision = data.get("decision")
    if data.get("mode") == "dry-run":
        return f"the gate ran in dry-run mode (it would {decision})"
    if decision not in PASSING:
        return f"the gate decided {decision}"
    return str(decision), _champion_version(data)


def gate_verdict(path: Path) -> str:
    """What ``gate.json`` decided, as the history shows it: ``promote``,
    ``first``, ``reject``, ``error``, with `` (dry-run)`` for a dry run."""
    data = _read_gate(path)
    decision = str(data.get("decision") or "error")
    return f"{decision} (dry-run)" if data.get("mode") == "dry-run" else decision


def _read_gate(path: Path) -> dict[str, Any]:
    """gate.json's fields as the file has them (none filled in: whether
    ``champion`` is there at all matters)."""
    try:
        record = read_gate(path, where=f"--gate {path}")
    except RecordUnreadable as exc:
        if not isinstance(exc.error, FileNotFoundError):
            raise
        raise UsageError(
            f"--gate {path}: not found: run the gate first, or register without "
            "--gate (gate-json: '' in the action)"
        ) from None
    return record.as_read()


def gate_decision(path: Path, expect_champion: str | None) -> str:
    """The decision in ``gate.json``, when it allows promoting over
    ``expect_champion``; a UsageError saying why not otherwise."""
    data = _read_gate(path)
    decision = data.get("decision")
    if data.get("mode") == "dry-run":
        raise UsageError(
            f"--gate {path}: the gate ran in dry-run mode, which authorises no "
            "promotion; run it with mode enforce"
        )
    if decision not in PASSING:
        raise UsageError(
            f"--gate {path}: the gate decided {decision!r}, not promote or first: "
            "nothing to promote"
        )
    if "champion" not in data and "champion_version" not in data:
        if decision != "first":
            raise UsageError(
                f"--gate {path}: no `champion` field saying which champion the "
                "gate compared against"
            )
    compared = _champion_version(data)
    if compared != expect_champion:
        raise UsageError(
            f"--gate {path}: the gate compared against champion "
            f"{compared or 'none'}, but --expect-champion is "
            f"{expect_champion or 'none'}"
        )
    return str(decision)


def _champion_version(data: dict[str, Any]) -> str | None:
    """``champion`` as ``{"version": ...}``, a bare version or null; absent
    for a first model."""
    champion = data.get("champion")
    if isinstance(champion, dict):
        champion = champion.get("version")
    if champion is None and "champion_version" in data:
        champion = data["champion_version"]
    return None if champion in (None, "", "none") else str(champion)
