"""The markdown the terminal and the step summary show."""

from __future__ import annotations

from typing import Any

from mlops_actions.gate.bootstrap import PairedResult
from mlops_actions.gate.decision import decide
from mlops_actions.gate.report import render
from mlops_actions.gate.rules import GateRules


def gate(metrics: dict[str, Any], **top: Any) -> GateRules:
    return GateRules.model_validate(
        {"version": 1, "model": "m", "primary": next(iter(metrics)), "metrics": metrics}
        | top
    )


def test_promotion_with_a_bootstrap():
    rules = gate(
        {
            "accuracy": {
                "direction": "maximize",
                "floor": 0.75,
                "min_improvement": {"absolute": 0.0},
            },
            "log_loss": {
                "direction": "minimize",
                "ceiling": 0.5,
                "max_regression": {"relative": 0.25},
            },
        },
        bootstrap={},
    )
    paired = PairedResult(
        "accuracy", 0.02, 0.005, 0.035, 10000, 0.95, 2000, 0, "multinomial cell counts"
    )
    decision = decide(
        rules,
        {"accuracy": 0.875, "log_loss": 0.375},
        {"accuracy": 0.855, "log_loss": 0.4},
        paired=paired,
    )
    assert render(decision, candidate="v7", champion="v5") == (
        "**Gate: promote**: v7 replaces v5: all 5 rules passed\n"
        "\n"
        "| metric | rule | candidate | champion | delta | threshold | verdict |\n"
        "|---|---|---:|---:|---:|---|---|\n"
        "| accuracy | floor | 0.875 | 0.855 | +0.02 | ≥ 0.75 | pass |\n"
        "| accuracy | min_improvement | 0.875 | 0.855 | +0.02 | ≥ 0.855 | pass |\n"
        "| accuracy | bootstrap | 0.875 | 0.855 | +0.02 | lower bound ≥ 0 | pass |\n"
        "| log_loss | ceiling | 0.375 | 0.4 | -0.025 | ≤ 0.5 | pass |\n"
        "| log_loss | max_regression | 0.375 | 0.4 | -0.025 | ≤ 0.5 | pass |\n"
        "\n"
        "Paired bootstrap of accuracy on 2000 shared rows (10000 resamples, seed 0, "
        "multinomial cell counts): improvement +0.02, 95% interval [+0.005, +0.035] "
        "(positive: candidate better).\n"
    )


def test_rejection_lists_why():
    rules = gate(
        {"f1": {"direction": "maximize", "max_regression": {"absolute": 0.01}}}
    )
    text = render(decide(rules, {"f1": 0.5}, {"f1": 0.625}))
    assert (
        text.splitlines()[0] == "**Gate: reject**: candidate vs champion: 1 rule failed"
    )
    assert text.splitlines()[-1] == "- f1 max_regression: 0.5 < 0.615 (champion 0.625)"
    assert "| f1 | max_regression | 0.5 | 0.625 | -0.125 | ≥ 0.615 | **fail** |" in text


def test_dry_run_says_what_would_happen():
    rules = gate({"f1": {"direction": "maximize", "floor": 0.5}}, mode="dry-run")
    assert render(decide(rules, {"f1": 0.625}, None)).splitlines()[0] == (
        "**Gate (dry-run): would promote as the first model**: candidate: no champion "
        "yet: first model; 1 check passed, comparison rules apply once there is a "
        "champion; not enforced"
    )
    assert render(decide(rules, {"f1": 0.25}, None)).splitlines()[0] == (
        "**Gate (dry-run): would reject**: candidate (no champion yet): 1 rule "
        "failed; not enforced"
    )
    assert render(decide(rules, {}, {"f1": 0.5})).splitlines()[0] == (
        "**Gate (dry-run): would stop with an error**: candidate vs champion: 1 rule "
        "could not be checked; not enforced"
    )


def test_a_near_tie_is_shown_in_full():
    rules = gate(
        {"f1": {"direction": "maximize", "min_improvement": {"absolute": 0.1}}}
    )
    text = render(decide(rules, {"f1": 0.3}, {"f1": 0.2}))
    assert "| 0.3 | 0.2 | +0.1 | ≥ 0.30000000000000004 | **fail** |" in text


def test_pipes_and_line_breaks_cannot_break_the_table():
    name = "a|b\nc"
    rules = gate({name: {"direction": "maximize", "floor": 0.5}})
    text = render(decide(rules, {name: 0.25}, None))
    assert "| a\\|b<br>c | floor | 0.25 | — | — | ≥ 0.5 | **fail** |" in text
    assert text.splitlines()[-1] == "- a|b c floor: 0.25 < 0.5"
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert all(line.count("|") - line.count("\\|") == 8 for line in rows)
