"""One rule on one metric: the comparisons that :mod:`.decision` documents."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Literal

from mlops_actions.gate.bootstrap import PairedResult
from mlops_actions.gate.rules import MarginRule, MetricRule

Verdict = Literal["pass", "fail", "error"]


@dataclass(frozen=True)
class RuleVerdict:
    """One rule on one metric. ``delta`` is candidate minus champion.

    ``threshold`` is the bound the candidate is held to in the metric's units
    (for a relative rule, the equivalent value, for display); for ``bootstrap``
    it is the bound on the improvement's lower confidence limit.
    """

    metric: str
    rule: str  # present, floor, ceiling, min_improvement, max_regression, bootstrap
    direction: str
    candidate: float | None
    champion: float | None
    delta: float | None
    threshold: float | None
    verdict: Verdict
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def number(value: Any) -> tuple[float | None, str | None]:
    """(value, None) for a finite real number, else (None, what is wrong)."""
    if value is None:
        return None, "is null"
    if type(value).__name__ in ("bool", "bool_"):
        return None, f"is a boolean ({value!r}), not a number"
    if not isinstance(value, numbers.Real):
        return None, f"is {type(value).__name__} {value!r}, not a number"
    result = float(value)
    if math.isnan(result):
        return None, "is NaN"
    if math.isinf(result):
        return None, f"is {'+' if result > 0 else '-'}inf"
    return result, None


def lookup(
    metrics: dict[str, Any] | None, name: str
) -> tuple[float | None, str | None]:
    if metrics is None:
        return None, None
    return number(metrics[name]) if name in metrics else (None, "is missing")


def metric_verdicts(
    name: str,
    rule: MetricRule,
    candidate: dict[str, Any],
    champion: dict[str, Any] | None,
) -> list[RuleVerdict]:
    c, problem = lookup(candidate, name)
    b, b_problem = lookup(champion, name)
    delta = c - b if c is not None and b is not None else None
    row = partial(RuleVerdict, name, direction=rule.direction, candidate=c)
    row = partial(row, champion=b, delta=delta)
    if c is None:
        reason = (
            f"candidate {name} {problem}: the candidate's metrics must give it as a "
            "finite number"
        )
        return [row(rule="present", threshold=None, verdict="error", reason=reason)]
    found: list[RuleVerdict] = []
    for rule_name, bound, op in (
        ("floor", rule.floor, ">="),
        ("ceiling", rule.ceiling, "<="),
    ):
        if bound is not None:
            ok = c >= bound if op == ">=" else c <= bound
            shown_c, shown_bound = show_pair(c, bound)
            reason = f"{name} {rule_name}: {shown_c} {_held(op, ok)} {shown_bound}"
            found.append(
                row(
                    rule=rule_name, threshold=bound, verdict=_verdict(ok), reason=reason
                )
            )
    for rule_name, margin in (
        ("min_improvement", rule.min_improvement),
        ("max_regression", rule.max_regression),
    ):
        if margin is None or champion is None:
            continue
        if b is None:
            reason = (
                f"champion {name} {b_problem}: {rule_name} compares against it; "
                "re-evaluate the champion"
            )
            found.append(
                row(rule=rule_name, threshold=None, verdict="error", reason=reason)
            )
            continue
        threshold, verdict, why = _margin(rule_name, c, b, margin, rule.direction)
        reason = f"{name} {rule_name}: {why}"
        found.append(
            row(rule=rule_name, threshold=threshold, verdict=verdict, reason=reason)
        )
    if not found:
        reason = f"{name} is present: no rule applies"
        found.append(row(rule="present", threshold=None, verdict="pass", reason=reason))
    return found


def _margin(
    rule_name: str, c: float, b: float, margin: MarginRule, direction: str
) -> tuple[float | None, Verdict, str]:
    """min_improvement or max_regression: (threshold, verdict, why), as MLflow."""
    maximize = direction == "maximize"
    m = margin.value if rule_name == "min_improvement" else -margin.value
    if margin.kind == "absolute":
        # MLflow: c >= b + m (maximize), c <= b - m (minimize), bound in float.
        bound = b + m if maximize else b - m
        ok = c >= bound if maximize else c <= bound
        shown_c, shown_bound = show_pair(c, bound)
        op = ">=" if maximize else "<="
        why = f"{shown_c} {_held(op, ok)} {shown_bound} (champion {b:.6g})"
        return bound, _verdict(ok), why
    if b == 0:
        why = (
            "the champion's value is 0 and relative change from 0 is undefined: "
            "use an absolute margin"
        )
        return None, "error", why
    # MLflow: (c - b) / |b| (maximize) or (b - c) / |b|, failing when < m.
    change = (c - b) / abs(b) if maximize else (b - c) / abs(b)
    ok = not change < m
    shown_change, shown_m = show_pair(change, m)
    why = (
        f"relative change {shown_change} {_held('>=', ok)} {shown_m} "
        f"(champion {b:.6g})"
    )
    return (b + m * abs(b) if maximize else b - m * abs(b)), _verdict(ok), why


def _verdict(ok: bool) -> Verdict:
    return "pass" if ok else "fail"


def _held(op: str, ok: bool) -> str:
    return op if ok else {">=": "<", "<=": ">"}[op]


def show_pair(x: float, y: float) -> tuple[str, str]:
    """Both numbers short, unless that would show a near-tie as equal."""
    short = f"{x:.6g}", f"{y:.6g}"
    return short if short[0] != short[1] or x == y else (repr(x), repr(y))


def bootstrap_verdict(
    name: str,
    rule: MetricRule,
    candidate: dict[str, Any],
    champion: dict[str, Any],
    paired: PairedResult | None,
    unpaired_reason: str | None,
) -> RuleVerdict:
    c, _ = lookup(candidate, name)
    b, problem = lookup(champion, name)
    delta = c - b if c is not None and b is not None else None

    def verdict(threshold: float | None, outcome: Verdict, reason: str) -> RuleVerdict:
        return RuleVerdict(
            name, "bootstrap", rule.direction, c, b, delta, threshold, outcome, reason
        )

    if b is None:
        return verdict(None, "error", f"champion {name} {problem}: re-evaluate it")
    if paired is None:
        why = unpaired_reason or "no paired bootstrap result was given"
        return verdict(None, "error", f"{name} bootstrap: {why}")
    margin, sign = rule.min_improvement, 1.0
    if margin is None:
        margin, sign = rule.max_regression, -1.0
    need = 0.0
    if margin is not None and margin.kind == "relative" and b == 0:
        return verdict(
            None,
            "error",
            f"{name} bootstrap: the champion's value is 0 and relative change from 0 "
            "is undefined: use an absolute margin",
        )
    if margin is not None:
        need = sign * margin.value * (abs(b) if margin.kind == "relative" else 1.0)
    lower, _ = number(paired.lower)
    if lower is None:
        return verdict(
            need, "error", f"{name} bootstrap: the lower bound is not finite"
        )
    ok = lower >= need
    interval = (
        f"{paired.confidence * 100:g}% interval of the improvement "
        f"[{paired.lower:.4g}, {paired.upper:.4g}] over {paired.rows} rows"
    )
    shown_lower, shown_need = show_pair(lower, need)
    return verdict(
        need,
        _verdict(ok),
        f"{name} bootstrap: {interval}: lower bound {shown_lower} "
        f"{_held('>=', ok)} {shown_need}",
    )
