"""``mlops model register`` as a use case: pick the candidate, register it
once, promote it when ``gate.json`` allows, and write ``model.json``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_actions.errors import UsageError
from mlops_actions.jsonio import write_json
from mlops_actions.registry.base import (
    Audit,
    HistoryEntry,
    ModelVersion,
    Registry,
    current_commit,
)
from mlops_actions.registry.candidate import Candidate, from_run
from mlops_actions.registry.records import gate_promotion, gate_verdict, model_record
from mlops_actions.settings import state_dir

if TYPE_CHECKING:
    from mlops_actions.gate.rules import OutputNames


@dataclass(frozen=True)
class Registration:
    """The version registered (or found again) and what became of it."""

    version: ModelVersion
    created: bool  # False: this run and commit had registered it before
    promoted: HistoryEntry | None
    not_promoted: str | None  # why gate.json authorised no promotion
    record: dict[str, Any]  # model.json, as written


def register_model(
    open_registry: Callable[[], Registry],
    name: str,
    *,
    run: str | None,
    model_dir: Path | None,
    evaluation_dir: Path | None,
    commit: str | None,
    tags: Mapping[str, str],
    gate: Path | None,
    out: Path,
    model_output: str | None = None,
    metrics_output: str | None = None,
) -> Registration:
    """Register ``model_dir`` (with ``evaluation_dir``) or pipeline ``run``'s
    outputs (the latest run when neither is given) as a version of ``name``.

    Re-running for the same run and commit finds the version registered
    before. With ``gate``, the version becomes the champion when the gate
    decided promote or first, over the champion it compared against. A run's
    model and metrics are its ``model_output`` and ``metrics_output`` outputs
    (``model`` and ``metrics`` by default). Every usage problem is raised
    before the registry is opened.
    """
    from mlops_actions.gate.rules import output_names

    names = output_names(None, model=model_output, metrics=metrics_output)
    if not run and model_dir and (model_output or metrics_output):
        raise UsageError("--model-output and --metrics-output go with --run")
    candidate, promotion = _checked(run, model_dir, evaluation_dir, gate, names)
    decided = gate_verdict(gate) if gate else None
    registry = open_registry()
    version, created = registry.register(
        name,
        candidate.model_dir,
        evaluation_dir=candidate.evaluation_dir,
        run_id=candidate.run_id,
        commit=commit or current_commit(),
        tags=dict(tags),
        gate_decision=decided,
        data=candidate.data,
    )
    promoted = None
    if isinstance(promotion, tuple):
        decision, compared = promotion
        audit = Audit.from_env(gate_decision=decision)
        promoted = registry.promote(
            name, version.version, expect_champion=compared, audit=audit
        )
    record = model_record(version, created=created) | {"promoted": bool(promoted)}
    write_json(out, record)
    not_promoted = promotion if isinstance(promotion, str) else None
    return Registration(version, created, promoted, not_promoted, record)


def _checked(
    run: str | None,
    model_dir: Path | None,
    evaluation_dir: Path | None,
    gate: Path | None,
    names: OutputNames,
) -> tuple[Candidate, tuple[str, str | None] | str | None]:
    """The candidate and what ``gate`` says about promoting it, or the usage
    error naming the flags that do not go together."""
    if run and model_dir:
        raise UsageError("pass either --run RUN_ID|latest or --model-dir DIR")
    if model_dir is None:
        run = run or "latest"
    promotion = gate_promotion(gate) if gate else None
    if run and evaluation_dir:
        raise UsageError("--evaluation-dir goes with --model-dir, not --run")
    if run:
        found = from_run(
            state_dir(),
            run,
            model_output=names.model,
            metrics_output=names.metrics,
        )
        return found, promotion
    assert model_dir is not None  # no run means a model folder was given
    return Candidate(model_dir, evaluation_dir, None), promotion
