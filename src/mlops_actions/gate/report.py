"""The gate's decision as markdown: one table for the terminal and the step summary."""

from __future__ import annotations

from mlops_actions.gate.decision import Decision
from mlops_actions.gate.verdicts import RuleVerdict, show_pair

HEADER = "| metric | rule | candidate | champion | delta | threshold | verdict |"
SEPARATOR = "|---|---|---:|---:|---:|---|---|"
_VERBS = {
    "promote": "promote",
    "reject": "reject",
    "first": "promote as the first model",
    "error": "stop with an error",
}


def render(
    decision: Decision, *, candidate: str = "candidate", champion: str = "champion"
) -> str:
    """Headline, the rules table, then why (for reject and error)."""
    lines = [_headline(decision, candidate, champion), "", HEADER, SEPARATOR]
    lines += [_row(verdict) for verdict in decision.rules]
    if decision.decision in ("reject", "error"):
        lines.append("")
        lines += [f"- {_flat(reason)}" for reason in decision.reasons]
    paired = decision.bootstrap
    if paired is not None:
        lines += [
            "",
            f"Paired bootstrap of {_flat(paired.metric)} on {paired.rows} shared rows "
            f"({paired.resamples} resamples, seed {paired.seed}, {paired.method}): "
            f"improvement {paired.estimate:+.4g}, {paired.confidence * 100:g}% "
            f"interval [{paired.lower:+.4g}, {paired.upper:+.4g}] (positive: "
            "candidate better).",
        ]
        if paired.task:
            source = f" ({_flat(paired.task_source)})" if paired.task_source else ""
            lines.append(f"task: {paired.task}{source}")
    return "\n".join(lines) + "\n"


def _headline(decision: Decision, candidate: str, champion: str) -> str:
    outcome = decision.decision
    if outcome == "promote":
        why = f"{candidate} replaces {champion}: {decision.reasons[0]}"
    elif outcome == "first":
        why = f"{candidate}: {decision.reasons[0]}"
    elif not decision.rules:
        # Nothing could be compared (an unreadable metrics file): say why.
        why = f"{candidate}: {decision.reasons[0]}"
    else:
        verdict = "fail" if outcome == "reject" else "error"
        failed = sum(rule.verdict == verdict for rule in decision.rules)
        what = "failed" if outcome == "reject" else "could not be checked"
        versus = f"vs {champion}" if decision.has_champion else "(no champion yet)"
        rules = "rule" if failed == 1 else "rules"
        why = f"{candidate} {versus}: {failed} {rules} {what}"
    if decision.mode == "dry-run":
        return (
            f"**Gate (dry-run): would {_VERBS[outcome]}**: {_flat(why)}; not enforced"
        )
    return f"**Gate: {outcome}**: {_flat(why)}"


def _row(verdict: RuleVerdict) -> str:
    shown, bound = _number(verdict.candidate), _number(verdict.threshold)
    if verdict.candidate is not None and verdict.threshold is not None:
        if verdict.rule != "bootstrap":
            shown, bound = show_pair(verdict.candidate, verdict.threshold)
    if verdict.threshold is None:
        threshold = "—"
    elif verdict.rule == "bootstrap":
        threshold = f"lower bound ≥ {bound}"
    elif verdict.rule == "floor" or (
        verdict.rule != "ceiling" and verdict.direction == "maximize"
    ):
        threshold = f"≥ {bound}"
    else:
        threshold = f"≤ {bound}"
    mark = verdict.verdict if verdict.verdict == "pass" else f"**{verdict.verdict}**"
    delta = "—" if verdict.delta is None else f"{verdict.delta:+.6g}"
    cells = [
        verdict.metric,
        verdict.rule,
        shown,
        _number(verdict.champion),
        delta,
        threshold,
        mark,
    ]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _cell(text: str) -> str:
    """Escape what would break a markdown table row: pipes and line breaks."""
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return "<br>".join(text.splitlines()) if text else text


def _flat(text: str) -> str:
    """One line for headlines and bullets, whatever the metric is called."""
    return " ".join(text.split())
