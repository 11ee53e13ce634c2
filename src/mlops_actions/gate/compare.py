"""One gate run: the candidate's metrics, the champion's, the paired rows.

Reads the candidate (a metrics folder or a pipeline run), looks up the
champion in the registry, pairs their per-row predictions when the rules ask
for a bootstrap, and decides. The caller writes ``gate.json`` and renders.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlops_actions import __version__
from mlops_actions.errors import UsageError
from mlops_actions.gate.bootstrap import PairedResult, paired_bootstrap
from mlops_actions.gate.decision import Decision, decide
from mlops_actions.gate.rules import GateRules
from mlops_actions.pipeline.runs import producing_run
from mlops_actions.records.base import InvalidRecord, RecordUnreadable
from mlops_actions.records.gate import GateRecord
from mlops_actions.records.metrics import read_metrics
from mlops_actions.registry.base import ModelVersion, Registry

PREDICTIONS = "predictions.parquet"


@dataclass(frozen=True)
class MeasuredCandidate:
    """A candidate as the gate sees it: where its numbers come from, and the
    numbers as written (the folders to register are
    :class:`mlops_actions.registry.candidate.Candidate`)."""

    metrics_path: Path
    run_id: str | None
    metrics: dict[str, Any]
    positive_class: str | None
    problem: str | None  # why the file could not be read; the gate says error
    #: the task metrics.json declares (``task``), if it does
    task: str | None = None


@dataclass(frozen=True)
class GateRun:
    decision: Decision
    record: dict[str, Any]  # the gate.json body


def find_candidate(
    metrics: Path | None,
    run: str | None,
    state: Path,
    *,
    metrics_output: str = "metrics",
    model_output: str = "model",
) -> MeasuredCandidate:
    """The candidate from ``--metrics`` (file or folder) or ``--run`` (its
    ``metrics_output`` output). The gate reads metrics only: a run without a
    model output is register's concern, not the gate's."""
    run_id = None
    if metrics is None:
        from mlops_actions.registry.candidate import completed_run, evaluation_of

        record = completed_run(state, run or "latest")
        run_id = str(record["run_id"])
        metrics = evaluation_of(record, metrics_output)
        # The run that made the model (a re-run reuses it), as register names
        # the candidate: the gate's decision and the registration must agree.
        made = (record.get("outputs") or {}).get(model_output) or metrics
        if made is not None:
            run_id = producing_run(record, str(made))
        if metrics is None:
            outputs = ", ".join(sorted(record.get("outputs") or {})) or "none"
            raise UsageError(
                f"--run {run_id}: the run has no `{metrics_output}` output (its "
                f"outputs: {outputs}) and no step wrote metrics.json: name the "
                "output holding metrics.json with outputs.metrics in gate.yml "
                "or --metrics-output"
            )
    path = metrics / "metrics.json" if metrics.is_dir() else metrics
    if not path.is_file():
        raise UsageError(f"--metrics {metrics}: no metrics.json there")
    no_mapping = f"{path} has no `metrics` mapping (empty or truncated file?)"
    try:
        read = read_metrics(path)
    except RecordUnreadable as exc:
        return MeasuredCandidate(
            path, run_id, {}, None, f"{path} is unreadable: {exc.error}"
        )
    except InvalidRecord as exc:
        problem = no_mapping if exc.field.startswith("metrics") else exc.message
        return MeasuredCandidate(path, run_id, {}, None, problem)
    except UsageError as exc:  # another file's schema, or another version
        return MeasuredCandidate(path, run_id, {}, None, exc.message)
    if "metrics" not in read.model_fields_set:
        return MeasuredCandidate(path, run_id, {}, None, no_mapping)
    if not read.metrics:
        empty = f"{path} holds no metrics: write {{name: number}} for each metric"
        return MeasuredCandidate(path, run_id, {}, None, empty)
    return MeasuredCandidate(
        path, run_id, read.metrics, read.positive_class, None, task=read.task
    )


def run_gate(
    rules: GateRules, candidate: MeasuredCandidate, registry: Registry
) -> GateRun:
    """Decide for ``candidate`` against ``registry``'s champion of the model."""
    champion = registry.champion(rules.model)
    if candidate.problem:
        decision = Decision(
            decision="error",
            mode=rules.mode,
            would_be="error" if rules.mode == "dry-run" else None,
            primary=rules.primary,
            rules=(),
            reasons=(candidate.problem,),
            has_champion=champion is not None,
        )
    else:
        paired, unpaired = None, None
        if rules.bootstrap and champion is not None:
            paired, unpaired = _paired(rules, candidate, registry, champion)
        decision = decide(
            rules,
            candidate.metrics,
            champion.metrics if champion else None,
            paired=paired,
            unpaired_reason=unpaired,
        )
    body = decision.to_json() | {
        "model": rules.model,
        "candidate": {
            "metrics_path": str(candidate.metrics_path.resolve()),
            "run_id": candidate.run_id,
            "metrics": candidate.metrics,
        },
        "champion": (
            {
                "version": champion.version,
                "uri": champion.uri,
                "metrics": champion.metrics,
            }
            if champion
            else None
        ),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mlops_version": __version__,
    }
    return GateRun(decision, GateRecord.model_validate(body).to_json())


def error_record(reason: str, *, model: str | None, mode: str | None) -> dict:
    """gate.json when the gate could not run at all (bad rules, no registry)."""
    return GateRecord(
        decision="error",
        mode="dry-run" if mode == "dry-run" else "enforce",
        model=model,
        reasons=[reason],
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        mlops_version=__version__,
    ).to_json()


def _paired(
    rules: GateRules,
    candidate: MeasuredCandidate,
    registry: Registry,
    champion: ModelVersion,
) -> tuple[PairedResult | None, str | None]:
    """(PairedResult, None) on shared rows, else (None, why not)."""
    import pandas as pd

    from mlops_actions.gate.pairing import (
        missing_for,
        pair_predictions,
        unpaired_reason,
    )
    from mlops_actions.gate.tasks import resolve_task, task_refusal

    mine = candidate.metrics_path.parent / PREDICTIONS
    if not mine.is_file():
        return None, f"the candidate has no {PREDICTIONS} next to its metrics"
    with tempfile.TemporaryDirectory(prefix="mlops-gate-") as tmp:
        folder = registry.evaluation(rules.model, champion.version, Path(tmp))
        theirs = folder / PREDICTIONS if folder else None
        if theirs is None or not theirs.is_file():
            return None, f"champion version {champion.version} has no {PREDICTIONS}"
        a, b = pd.read_parquet(mine), pd.read_parquet(theirs)
    positive = str(candidate.positive_class)
    task, task_source = resolve_task(rules.task, a, written=candidate.task)
    refused = task_refusal(rules.primary, task, task_source)
    if refused:
        return None, refused
    rows = pair_predictions(a, b, positive_class=positive, task=task)
    if rows is None:
        return None, unpaired_reason(a, b, positive_class=positive, task=task)
    lacking = missing_for(rows, rules.primary)
    if lacking:
        return None, lacking
    spec = rules.bootstrap
    assert spec is not None  # run_gate pairs only when the rules ask for it
    direction = rules.metrics[rules.primary].direction
    result = paired_bootstrap(
        rows,
        rules.primary,
        direction,
        confidence=spec.confidence,
        resamples=spec.resamples,
        seed=spec.seed,
    )
    return replace(result, task_source=task_source), None
