"""The gate's verdict: promote, reject, first or error. Pure: numbers in, verdict out.

What each ``gate.yml`` rule means (``c`` candidate, ``b`` champion, ``m`` the
margin; every comparison is made on the float values as given, in the order
written here, exactly as MLflow's ``validate_evaluation_results`` makes it where
MLflow has the rule, so a tie that holds only in decimal can miss by a rounding
unit: 0.2 + 0.1 is 0.30000000000000004 in floating point)::

    rule                        maximize                   minimize
    floor / ceiling             c >= floor                 c <= ceiling
    min_improvement absolute    c >= b + m                 c <= b - m
    min_improvement relative    (c - b) / |b| >= m         (b - c) / |b| >= m
    max_regression absolute     c >= b - m                 c <= b + m
    max_regression relative     (c - b) / |b| >= -m        (b - c) / |b| >= -m
    bootstrap                   lower >= need (see below)

* Ties pass: a candidate exactly at the floor, ceiling or margin passes.
* floor/ceiling is MLflow's ``threshold``; min_improvement is MLflow's
  ``min_absolute_change`` / ``min_relative_change`` (MLflow wants those > 0 and
  <= 1; here 0 is allowed, meaning "at least as good as the champion").
  max_regression (non-inferiority) has no MLflow counterpart; it mirrors
  min_improvement with the margin negated.
* A relative rule against a champion value of 0 is an error: relative change
  from 0 is undefined (MLflow silently falls back to ``c > b`` by 1e-10 there).
* bootstrap (primary metric, when ``gate.yml`` has ``bootstrap``): ``lower`` is
  the lower bound of the paired interval of the improvement (positive = candidate
  better, see :mod:`mlops_actions.gate.bootstrap`); ``need`` is the
  min_improvement margin (a relative one times ``|b|``), else minus the
  max_regression margin, else 0. No paired result (different test sets) is an
  error, never a skipped check.

Values: a metric the rules name must be in the candidate's metrics as a finite
number; missing, None (null), NaN, +/-inf, a bool or a string is an error, never
a pass. Metrics the rules do not name are ignored. The champion's value is
needed only by the comparison rules and the bootstrap; a bad one there is an
error naming the champion.

Outcome: any error -> ``error``; else any fail -> ``reject``; else no champion
-> ``first`` (only floor and ceiling apply to a first model); else ``promote``.
``mode`` is copied from ``gate.yml``; in dry-run ``would_be`` repeats the
outcome (what enforce would do) and the CLI exits 0; in enforce it is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mlops_actions.gate.bootstrap import PairedResult
from mlops_actions.gate.rules import GateRules
from mlops_actions.gate.verdicts import (
    RuleVerdict,
    Verdict,
    bootstrap_verdict,
    lookup,
    metric_verdicts,
)
from mlops_actions.records.gate import SCHEMA

__all__ = ["Decision", "RuleVerdict", "Verdict", "decide"]

Outcome = Literal["promote", "reject", "first", "error"]


@dataclass(frozen=True)
class Decision:
    """The gate's answer: ``decision`` and the rule-by-rule ``rules`` behind it.

    ``reasons`` holds one line per failed or errored rule (or one summary line
    for promote and first); ``bootstrap`` is the paired result the decision
    used, if any; ``has_champion`` is False for a first model.
    """

    decision: Outcome
    mode: str
    would_be: Outcome | None
    primary: str
    rules: tuple[RuleVerdict, ...]
    reasons: tuple[str, ...]
    bootstrap: PairedResult | None = None
    has_champion: bool = True

    def to_json(self) -> dict[str, Any]:
        """The gate.json body; the caller adds candidate and champion identity."""
        return {
            "schema": SCHEMA,
            "version": 1,
            "decision": self.decision,
            "mode": self.mode,
            "would_be": self.would_be,
            "primary": self.primary,
            "reasons": list(self.reasons),
            "rules": [verdict.to_json() for verdict in self.rules],
            "bootstrap": self.bootstrap.to_json() if self.bootstrap else None,
        }


def decide(
    rules: GateRules,
    candidate: dict[str, Any],
    champion: dict[str, Any] | None,
    *,
    paired: PairedResult | None = None,
    unpaired_reason: str | None = None,
) -> Decision:
    """Apply ``rules`` to the candidate's (and champion's) metrics."""
    if paired is not None and paired.metric != rules.primary:
        raise ValueError(f"bootstrap of {paired.metric}, primary is {rules.primary}")
    verdicts: list[RuleVerdict] = []
    for name, rule in rules.metrics.items():
        found = metric_verdicts(name, rule, candidate, champion)
        compared = champion is not None and lookup(candidate, name)[0] is not None
        if name == rules.primary and rules.bootstrap and champion and compared:
            # The bootstrap is this metric's rule now: no "present" filler row.
            found = [v for v in found if v.rule != "present"]
            found.append(
                bootstrap_verdict(
                    name, rule, candidate, champion, paired, unpaired_reason
                )
            )
        verdicts += found
    if any(v.verdict == "error" for v in verdicts):
        outcome: Outcome = "error"
    elif any(v.verdict == "fail" for v in verdicts):
        outcome = "reject"
    else:
        outcome = "first" if champion is None else "promote"
    reasons = [v.reason for v in verdicts if v.verdict != "pass"]
    if outcome == "promote":
        reasons = [f"{_count(len(verdicts), 'rule')} passed"]
    elif outcome == "first":
        reasons = [
            f"no champion yet: first model; {_count(len(verdicts), 'check')} passed, "
            "comparison rules apply once there is a champion"
        ]
    return Decision(
        decision=outcome,
        mode=rules.mode,
        would_be=outcome if rules.mode == "dry-run" else None,
        primary=rules.primary,
        rules=tuple(verdicts),
        reasons=tuple(reasons),
        bootstrap=paired if rules.bootstrap and champion is not None else None,
        has_champion=champion is not None,
    )


def _count(n: int, noun: str) -> str:
    return f"all {n} {noun}s" if n > 1 else f"{n} {noun}"
