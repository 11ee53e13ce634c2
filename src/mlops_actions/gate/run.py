"""One gate as a use case: decide, and write ``gate.json`` whatever happens.

The record is the contract with the next step (register reads it), so it is
written for promote, reject and first alike, and as an ``error`` record when
the gate could not run at all: bad rules, no candidate, no registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops_actions.errors import MlopsError
from mlops_actions.gate.compare import GateRun, error_record, find_candidate, run_gate
from mlops_actions.gate.rules import (
    check_declared_directions,
    load_rules,
    output_names,
)
from mlops_actions.jsonio import write_json
from mlops_actions.records.gate import PASSING
from mlops_actions.settings import state_dir


@dataclass(frozen=True)
class Recorded:
    """What the gate wrote to ``out``.

    ``gate`` is None exactly when the gate could not run; ``error`` then says
    why, and the record on disk is an ``error`` record.
    """

    out: Path
    outcome: str
    champion: str | None
    enforced: bool
    gate: GateRun | None
    error: MlopsError | None

    def refusal(self) -> str | None:
        """Why the check fails (exit 1), or None when it passes or is a dry run."""
        if self.gate is None or self.outcome in PASSING or not self.enforced:
            return None
        decision = self.gate.decision
        failed = sum(v.verdict != "pass" for v in decision.rules)
        why = (
            f"{failed} of the rules above did not pass"
            if failed
            else decision.reasons[0]
        )
        return f"gate decided {self.outcome}: {why} (details in {self.out})"


def record_gate(
    rules: Path,
    *,
    metrics: Path | None,
    run: str | None,
    model: str | None,
    mode: str | None,
    out: Path,
    backend: str,
    metrics_output: str | None = None,
) -> Recorded:
    """Run the gate for the candidate (``metrics`` or pipeline ``run``'s
    metrics output) under ``rules``, with ``model``, ``mode`` and
    ``metrics_output`` overriding the rules' own, against ``backend``'s
    registry; write ``gate.json`` to ``out`` in every case."""
    from mlops_actions.registry import open_registry

    try:
        spec = load_rules(rules)
        overrides = {"model": model, "mode": mode}
        spec = spec.model_copy(update={k: v for k, v in overrides.items() if v})
        names = output_names(spec, metrics=metrics_output)
        candidate = find_candidate(
            metrics,
            run,
            state_dir(),
            metrics_output=names.metrics,
            model_output=names.model,
        )
        check_declared_directions(spec, candidate.metrics_path, where=rules)
        result = run_gate(spec, candidate, open_registry(backend))
    except MlopsError as exc:
        write_json(out, error_record(exc.message, model=model, mode=mode))
        return Recorded(out, "error", None, True, None, exc)
    write_json(out, result.record)
    champion = (result.record["champion"] or {}).get("version")
    return Recorded(
        out,
        result.decision.decision,
        champion,
        spec.mode == "enforce",
        result,
        None,
    )
