"""decide(): the documented rules, ties, bad values, first model, dry-run."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mlops_actions.gate.bootstrap import PairedResult
from mlops_actions.gate.decision import decide
from mlops_actions.gate.rules import GateRules


def gate(metrics: dict[str, Any], **top: Any) -> GateRules:
    return GateRules.model_validate(
        {"version": 1, "model": "m", "primary": next(iter(metrics)), "metrics": metrics}
        | top
    )


def oracle(rule: dict[str, Any], c: float, b: float | None) -> str:
    """The table in decision's docstring, written out again as plain if/else."""
    maximize = rule["direction"] == "maximize"
    passed = True
    if "floor" in rule and not c >= rule["floor"]:
        passed = False
    if "ceiling" in rule and not c <= rule["ceiling"]:
        passed = False
    if b is None:
        return "first" if passed else "reject"
    for name, sign in (("min_improvement", 1.0), ("max_regression", -1.0)):
        if name not in rule:
            continue
        ((kind, margin),) = rule[name].items()
        m = sign * margin
        if kind == "absolute":
            if maximize and not c >= b + m:
                passed = False
            if not maximize and not c <= b - m:
                passed = False
        else:
            if b == 0:
                return "error"
            if maximize:
                change = (c - b) / abs(b)
            else:
                change = (b - c) / abs(b)
            if change < m:
                passed = False
    return "promote" if passed else "reject"


values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
margins = st.floats(0, 10, allow_nan=False, allow_infinity=False)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], float, float | None]:
    direction = draw(st.sampled_from(["maximize", "minimize"]))
    b = draw(st.none() | values | st.just(0.0))
    rule: dict[str, Any] = {"direction": direction}
    bound = "floor" if direction == "maximize" else "ceiling"
    margin_rule = draw(st.sampled_from([None, "min_improvement", "max_regression"]))
    # a direction alone is refused by the rules schema: some rule is always there
    if draw(st.booleans()) or margin_rule is None:
        rule[bound] = draw(values)
    if margin_rule:
        rule[margin_rule] = {
            draw(st.sampled_from(["absolute", "relative"])): draw(margins)
        }
    # Ties are where off-by-one comparisons hide: land exactly on them often.
    tie = draw(st.sampled_from(["free", "bound", "margin", "champion"]))
    c = draw(values)
    if tie == "bound" and bound in rule:
        c = rule[bound]
    elif tie == "champion" and b is not None:
        c = b
    elif tie == "margin" and margin_rule and b is not None:
        ((kind, m),) = rule[margin_rule].items()
        m = m if margin_rule == "min_improvement" else -m
        maximize = direction == "maximize"
        if kind == "absolute":
            c = b + m if maximize else b - m
        else:
            c = b + m * abs(b) if maximize else b - m * abs(b)
    return rule, c, b


@given(scenarios())
def test_the_verdict_follows_the_documented_rules(scenario):
    rule, c, b = scenario
    champion = None if b is None else {"score": b}
    decision = decide(gate({"score": rule}), {"score": c, "other": "ignored"}, champion)
    assert decision.decision == oracle(rule, c, b)
    assert json.dumps(decision.to_json(), allow_nan=False)


BAD = [None, math.nan, math.inf, -math.inf, True, False, "0.9", [0.9], {"v": 1}]


@given(
    scenarios(),
    st.sampled_from(BAD + ["missing"]),
    st.sampled_from(["candidate", "champion"]),
)
def test_a_bad_value_is_an_error_never_a_promotion(scenario, bad, side):
    rule, c, b = scenario
    rule.setdefault("min_improvement", {"absolute": 0.0})
    rule.pop("max_regression", None)
    b = 0.5 if b is None else b
    candidate, champion = {"score": c}, {"score": b}
    target = candidate if side == "candidate" else champion
    if bad == "missing":
        del target["score"]
    else:
        target["score"] = bad
    decision = decide(gate({"score": rule}), candidate, champion)
    assert decision.decision == "error"
    assert any(side in reason for reason in decision.reasons)
    assert json.dumps(decision.to_json(), allow_nan=False)


@pytest.mark.parametrize(
    "value, says",
    [
        (None, "candidate acc is null"),
        (math.nan, "candidate acc is NaN"),
        (math.inf, "candidate acc is +inf"),
        (-math.inf, "candidate acc is -inf"),
        (True, "candidate acc is a boolean (True), not a number"),
        ("0.9", "candidate acc is str '0.9', not a number"),
    ],
)
def test_each_bad_value_is_named(value, says):
    rules = gate({"acc": {"direction": "maximize", "floor": 0.0}})
    decision = decide(rules, {"acc": value}, None)
    assert decision.decision == "error"
    assert decision.reasons == (
        f"{says}: the candidate's metrics must give it as a finite number",
    )
    (verdict,) = decision.rules
    assert (verdict.rule, verdict.verdict, verdict.candidate) == (
        "present",
        "error",
        None,
    )


def test_a_metric_the_rules_name_must_be_in_the_candidate():
    rules = gate(
        {
            "acc": {"direction": "maximize", "floor": 0.5},
            "loss": {"direction": "minimize", "ceiling": 1.0},
        }
    )
    decision = decide(rules, {"acc": 0.9}, {"acc": 0.8, "loss": 0.3})
    assert decision.decision == "error"
    assert decision.reasons[0].startswith("candidate loss is missing")


def test_ties_at_the_floor_ceiling_and_margins_pass():
    # Dyadic numbers, so "exactly at" is exact in binary floating point too.
    rules = gate(
        {
            "acc": {
                "direction": "maximize",
                "floor": 0.75,
                "min_improvement": {"absolute": 0.125},
            },
            "loss": {
                "direction": "minimize",
                "ceiling": 0.5,
                "max_regression": {"relative": 0.25},
            },
        }
    )
    decision = decide(rules, {"acc": 0.75, "loss": 0.5}, {"acc": 0.625, "loss": 0.4})
    assert [v.verdict for v in decision.rules] == ["pass"] * 4
    assert decision.decision == "promote"
    just_below = decide(
        rules,
        {"acc": math.nextafter(0.75, 0), "loss": 0.5},
        {"acc": 0.625, "loss": 0.4},
    )
    assert [v.verdict for v in just_below.rules] == ["fail", "fail", "pass", "pass"]


def test_a_decimal_tie_can_miss_by_a_rounding_unit_as_in_mlflow():
    # 0.2 + 0.1 == 0.30000000000000004 in floating point: documented behaviour.
    rules = gate(
        {"acc": {"direction": "maximize", "min_improvement": {"absolute": 0.1}}}
    )
    decision = decide(rules, {"acc": 0.3}, {"acc": 0.2})
    assert decision.decision == "reject"
    assert decision.reasons == (
        "acc min_improvement: 0.3 < 0.30000000000000004 (champion 0.2)",
    )


def test_relative_rule_against_a_zero_champion_is_an_error():
    rules = gate({"r2": {"direction": "maximize", "max_regression": {"relative": 0.1}}})
    decision = decide(rules, {"r2": 0.3}, {"r2": 0.0})
    assert decision.decision == "error"
    assert decision.reasons == (
        "r2 max_regression: the champion's value is 0 and relative change from 0 is "
        "undefined: use an absolute margin",
    )


def test_relative_change_uses_the_champions_magnitude():
    # MLflow divides by |b|, so a negative champion still means "higher is better".
    rules = gate(
        {"r2": {"direction": "maximize", "min_improvement": {"relative": 0.5}}}
    )
    assert decide(rules, {"r2": -0.5}, {"r2": -1.0}).decision == "promote"
    assert decide(rules, {"r2": -0.75}, {"r2": -1.0}).decision == "reject"


def test_first_model_only_absolute_rules_apply():
    rules = gate(
        {
            "f1": {
                "direction": "maximize",
                "floor": 0.8,
                "min_improvement": {"relative": 0.5},
            }
        },
        bootstrap={"resamples": 100},
    )
    first = decide(rules, {"f1": 0.85}, None)
    assert first.decision == "first"
    assert [(v.rule, v.verdict) for v in first.rules] == [("floor", "pass")]
    assert first.reasons == (
        "no champion yet: first model; 1 check passed, comparison rules apply once "
        "there is a champion",
    )
    assert decide(rules, {"f1": 0.75}, None).decision == "reject"


def test_precedence_error_over_reject_over_promote():
    rules = gate(
        {
            "a": {"direction": "maximize", "floor": 0.5},
            "b": {"direction": "maximize", "floor": 0.0},
        }
    )
    assert decide(rules, {"a": 0.4, "b": math.nan}, {}).decision == "error"
    assert decide(rules, {"a": 0.4, "b": 1}, {}).decision == "reject"
    assert decide(rules, {"a": 0.6, "b": 1}, {}).decision == "promote"


def test_the_champion_is_needed_only_by_comparison_rules():
    rules = gate({"a": {"direction": "maximize", "floor": 0.5}})
    assert decide(rules, {"a": 0.6}, {"a": None}).decision == "promote"
    rules = gate({"a": {"direction": "maximize", "max_regression": {"absolute": 0.1}}})
    decision = decide(rules, {"a": 0.6}, {"a": None})
    assert decision.reasons == (
        "champion a is null: max_regression compares against it; re-evaluate the "
        "champion",
    )


def test_dry_run_keeps_the_verdict_and_says_what_enforce_would_do():
    rules = gate({"a": {"direction": "maximize", "floor": 0.5}}, mode="dry-run")
    decision = decide(rules, {"a": 0.4}, {"a": 0.3})
    assert (decision.decision, decision.mode, decision.would_be) == (
        "reject",
        "dry-run",
        "reject",
    )
    enforce = decide(
        gate({"a": {"direction": "maximize", "floor": 0.0}}), {"a": 0.4}, {"a": 0.3}
    )
    assert (enforce.mode, enforce.would_be) == ("enforce", None)


def paired(lower: float, upper: float = 1.0, metric: str = "accuracy") -> PairedResult:
    return PairedResult(
        metric, (lower + upper) / 2, lower, upper, 1000, 0.95, 500, 0, "test"
    )


@pytest.mark.parametrize(
    "rule, champion, lower, verdict, threshold",
    [
        ({}, 0.8, 0.0, "pass", 0.0),
        ({}, 0.8, -1e-9, "fail", 0.0),
        ({"min_improvement": {"absolute": 0.25}}, 0.8, 0.25, "pass", 0.25),
        ({"min_improvement": {"relative": 0.25}}, 0.5, 0.125, "pass", 0.125),
        ({"min_improvement": {"relative": 0.25}}, 0.5, 0.12, "fail", 0.125),
        ({"max_regression": {"absolute": 0.25}}, 0.8, -0.25, "pass", -0.25),
        ({"max_regression": {"absolute": 0.25}}, 0.8, -0.26, "fail", -0.25),
        ({"max_regression": {"relative": 0.5}}, -0.5, -0.25, "pass", -0.25),
    ],
)
def test_bootstrap_rule(rule, champion, lower, verdict, threshold):
    rules = gate({"accuracy": {"direction": "maximize"} | rule}, bootstrap={})
    decision = decide(
        rules, {"accuracy": 0.9}, {"accuracy": champion}, paired=paired(lower)
    )
    boot = decision.rules[-1]
    assert (boot.rule, boot.verdict, boot.threshold) == (
        "bootstrap",
        verdict,
        threshold,
    )
    assert decision.to_json()["bootstrap"]["lower"] == lower


def test_bootstrap_reason_reads_as_the_interval():
    rules = gate({"accuracy": {"direction": "maximize"}}, bootstrap={})
    decision = decide(
        rules, {"accuracy": 0.9}, {"accuracy": 0.8}, paired=paired(-0.01, 0.03)
    )
    assert decision.reasons == (
        "accuracy bootstrap: 95% interval of the improvement [-0.01, 0.03] over "
        "500 rows: lower bound -0.01 < 0",
    )


def test_bootstrap_without_a_paired_result_is_an_error():
    rules = gate({"accuracy": {"direction": "maximize"}}, bootstrap={})
    decision = decide(
        rules, {"accuracy": 0.9}, {"accuracy": 0.8}, unpaired_reason="different rows"
    )
    assert decision.decision == "error"
    assert decision.reasons == ("accuracy bootstrap: different rows",)


def test_bootstrap_relative_margin_against_a_zero_champion_is_an_error():
    rules = gate(
        {"accuracy": {"direction": "maximize", "min_improvement": {"relative": 0.1}}},
        bootstrap={},
    )
    decision = decide(rules, {"accuracy": 0.9}, {"accuracy": 0.0}, paired=paired(0.5))
    assert [v.verdict for v in decision.rules] == ["error", "error"]


def test_a_bootstrap_of_another_metric_is_a_caller_bug():
    rules = gate({"accuracy": {"direction": "maximize"}}, bootstrap={})
    with pytest.raises(ValueError):
        decide(
            rules, {"accuracy": 0.9}, {"accuracy": 0.8}, paired=paired(0.1, metric="f1")
        )


def test_gate_json_body():
    rules = gate({"accuracy": {"direction": "maximize", "floor": 0.5}})
    body = decide(rules, {"accuracy": 0.75}, {"accuracy": 0.5}).to_json()
    assert body == {
        "schema": "mlops-actions/gate",
        "version": 1,
        "decision": "promote",
        "mode": "enforce",
        "would_be": None,
        "primary": "accuracy",
        "reasons": ["1 rule passed"],
        "rules": [
            {
                "metric": "accuracy",
                "rule": "floor",
                "direction": "maximize",
                "candidate": 0.75,
                "champion": 0.5,
                "delta": 0.25,
                "threshold": 0.5,
                "verdict": "pass",
                "reason": "accuracy floor: 0.75 >= 0.5",
            }
        ],
        "bootstrap": None,
    }


@given(
    st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.none()
    | st.booleans()
)
def test_no_candidate_value_but_a_finite_number_passes(value):
    assume(not (isinstance(value, float) and math.isfinite(value)))
    rules = gate({"a": {"direction": "maximize", "floor": 0.0}})
    assert decide(rules, {"a": value}, None).decision == "error"
    assert decide(rules, {"a": value}, {"a": 0.5}).decision == "error"
