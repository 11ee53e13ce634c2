"""gate.yml: the documented example loads; each mistake is one exact line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mlops_actions.errors import ExitCode, UsageError
from mlops_actions.gate import rules as rules_module
from mlops_actions.gate.rules import GateRules, load_rules

GOOD = """\
version: 1
model: reference-tabular
mode: enforce
primary: accuracy
metrics:
  accuracy:
    direction: maximize
    floor: 0.80
    min_improvement: {absolute: 0.0}
  log_loss:
    direction: minimize
    ceiling: 0.6
    max_regression: {relative: 0.05}
bootstrap:
  confidence: 0.95
  resamples: 10000
  seed: 0
"""


@pytest.fixture
def gate_yml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write gate.yml (relative path, so messages read as users see them)."""
    monkeypatch.chdir(tmp_path)

    def write(text: str) -> str:
        Path("gate.yml").write_text(textwrap.dedent(text))
        return "gate.yml"

    return write


def problem(path: str) -> str:
    with pytest.raises(UsageError) as caught:
        load_rules(path)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in caught.value.message
    return caught.value.message


def test_the_documented_example_loads(gate_yml):
    rules = load_rules(gate_yml(GOOD))
    assert rules.model == "reference-tabular"
    assert rules.primary == "accuracy"
    assert rules.metrics["accuracy"].floor == 0.8
    assert rules.metrics["accuracy"].min_improvement.kind == "absolute"
    assert rules.metrics["log_loss"].max_regression.kind == "relative"
    assert rules.metrics["log_loss"].max_regression.value == 0.05
    assert rules.bootstrap.resamples == 10_000


def test_the_module_docstring_example_loads(gate_yml):
    # The docstring is the user contract: its example must be a valid gate.yml.
    doc = rules_module.__doc__.split("::\n\n", 1)[1].split("\n\nConstraints")[0]
    rules = load_rules(gate_yml(doc))
    assert list(rules.metrics) == ["accuracy", "roc_auc", "log_loss"]
    assert rules.metrics["roc_auc"].max_regression.absolute == 0.01
    assert rules.bootstrap.seed == 0


def test_defaults(gate_yml):
    rules = load_rules(gate_yml("""\
            version: 1
            model: m
            primary: f1
            metrics:
              f1: {direction: maximize}
            bootstrap: {}
            """))
    assert rules.mode == "enforce"
    assert rules.bootstrap.confidence == 0.95
    assert (rules.bootstrap.resamples, rules.bootstrap.seed) == (10_000, 0)


CASES = {
    "bad direction": (
        GOOD.replace("direction: maximize", "direction: up"),
        "gate.yml:7: metrics.accuracy.direction: must be maximize or minimize, "
        "got 'up'",
    ),
    "floor on minimize": (
        GOOD.replace("ceiling: 0.6", "floor: 0.6"),
        "gate.yml:12: metrics.log_loss.floor: floor is for maximize metrics: "
        "use ceiling for minimize",
    ),
    "ceiling on maximize": (
        GOOD.replace("floor: 0.80", "ceiling: 0.80"),
        "gate.yml:8: metrics.accuracy.ceiling: ceiling is for minimize metrics: "
        "use floor for maximize",
    ),
    "both margins": (
        GOOD.replace(
            "min_improvement: {absolute: 0.0}",
            "min_improvement: {absolute: 0.0}\n    max_regression: {absolute: 0.01}",
        ),
        "gate.yml:6: metrics.accuracy: min_improvement and max_regression are both "
        "set: keep min_improvement to require a gain over the champion, or "
        "max_regression to allow a bounded loss",
    ),
    "absolute and relative": (
        GOOD.replace("{absolute: 0.0}", "{absolute: 0.0, relative: 0.01}"),
        "gate.yml:9: metrics.accuracy.min_improvement: give exactly one of absolute "
        "or relative, got both",
    ),
    "neither absolute nor relative": (
        GOOD.replace("{absolute: 0.0}", "{}"),
        "gate.yml:9: metrics.accuracy.min_improvement: give exactly one of absolute "
        "or relative, got neither",
    ),
    "negative margin": (
        GOOD.replace("{relative: 0.05}", "{relative: -0.05}"),
        "gate.yml:13: metrics.log_loss.max_regression.relative: must be >= 0, "
        "got -0.05",
    ),
    "margin as a bare number": (
        GOOD.replace("{absolute: 0.0}", "0.01"),
        "gate.yml:9: metrics.accuracy.min_improvement: must be a mapping like "
        "{absolute: 0.01} or {relative: 0.01}, got float",
    ),
    "confidence of 1": (
        GOOD.replace("confidence: 0.95", "confidence: 1.0"),
        "gate.yml:15: bootstrap.confidence: must be between 0.5 and 1 (exclusive), "
        "got 1.0",
    ),
    "confidence of 0.5": (
        GOOD.replace("confidence: 0.95", "confidence: 0.5"),
        "gate.yml:15: bootstrap.confidence: must be between 0.5 and 1 (exclusive), "
        "got 0.5",
    ),
    "too few resamples": (
        GOOD.replace("resamples: 10000", "resamples: 99"),
        "gate.yml:16: bootstrap.resamples: must be between 100 and 1000000, got 99",
    ),
    "too many resamples": (
        GOOD.replace("resamples: 10000", "resamples: 1000001"),
        "gate.yml:16: bootstrap.resamples: must be between 100 and 1000000, "
        "got 1000001",
    ),
    "fractional resamples": (
        GOOD.replace("resamples: 10000", "resamples: 1000.5"),
        "gate.yml:16: bootstrap.resamples: must be a whole number, got 1000.5",
    ),
    "negative seed": (
        GOOD.replace("seed: 0", "seed: -1"),
        "gate.yml:17: bootstrap.seed: must be >= 0, got -1",
    ),
    "primary not a metric": (
        GOOD.replace("primary: accuracy", "primary: auc"),
        "gate.yml:4: primary: must be one of the metrics (accuracy, log_loss), "
        "got 'auc'",
    ),
    "bootstrap on roc_auc": (
        GOOD.replace("primary: accuracy", "primary: roc_auc").replace(
            "  log_loss:", "  roc_auc: {direction: maximize}\n  log_loss:"
        ),
        "gate.yml:15: bootstrap: the paired bootstrap cannot resample roc_auc "
        "(ROC AUC is not a mean over rows, so it cannot be resampled exactly and "
        "fast): make one of accuracy, f1, precision, recall, log_loss, "
        "balanced_accuracy, macro_f1, micro_f1, weighted_f1 the primary metric, or "
        "remove bootstrap",
    ),
    "bootstrap on an unknown metric": (
        GOOD.replace("primary: accuracy", "primary: auprc").replace(
            "  log_loss:", "  auprc: {direction: maximize}\n  log_loss:"
        ),
        "gate.yml:15: bootstrap: the paired bootstrap cannot resample auprc "
        "(not one it recomputes from predictions.parquet): make the primary metric "
        "one of binary: accuracy, f1, precision, recall, log_loss, balanced_accuracy, "
        "macro_f1, micro_f1, weighted_f1; multiclass: accuracy, balanced_accuracy, "
        "macro_f1, micro_f1, weighted_f1, log_loss; regression: mse, rmse, mae, "
        "mape, r2 (by task), or remove bootstrap",
    ),
    "flipped known direction": (
        GOOD.replace("direction: minimize", "direction: maximize").replace(
            "ceiling: 0.6", "floor: 0.6"
        ),
        "gate.yml:11: metrics.log_loss.direction: log_loss is lower-is-better: "
        "use minimize, got 'maximize'",
    ),
    "unknown field": (
        GOOD.replace("floor: 0.80", "flor: 0.80"),
        "gate.yml:8: metrics.accuracy.flor: unknown field: remove it (allowed "
        "here: direction, floor, ceiling, min_improvement, max_regression)",
    ),
    "unknown top-level field": (
        GOOD + "extra: 1\n",
        "gate.yml:18: extra: unknown field: remove it (allowed here: version, "
        "model, mode, task, primary, metrics, bootstrap, outputs)",
    ),
    "quoted number": (
        GOOD.replace("floor: 0.80", "floor: '0.80'"),
        "gate.yml:8: metrics.accuracy.floor: must be a number, got '0.80'",
    ),
    "YAML 1.1 exponent": (
        GOOD.replace("{absolute: 0.0}", "{absolute: 1e-3}"),
        "gate.yml:9: metrics.accuracy.min_improvement.absolute: must be a number, "
        "got '1e-3' (YAML 1.1 reads 1e-3 as text: write 1.0e-3 or 0.001)",
    ),
    "boolean floor": (
        GOOD.replace("floor: 0.80", "floor: yes"),
        "gate.yml:8: metrics.accuracy.floor: must be a number, got True",
    ),
    "NaN ceiling": (
        GOOD.replace("ceiling: 0.6", "ceiling: .nan"),
        "gate.yml:12: metrics.log_loss.ceiling: must be a finite number, got nan",
    ),
    "missing version": (
        GOOD.replace("version: 1\n", ""),
        "gate.yml:1: version: is required: add it",
    ),
    "version 2": (
        GOOD.replace("version: 1", "version: 2"),
        "gate.yml:1: version: must be 1, got 2",
    ),
    "bad mode": (
        GOOD.replace("mode: enforce", "mode: on"),
        "gate.yml:3: mode: must be enforce or dry-run, got True",
    ),
    "empty model": (
        GOOD.replace("model: reference-tabular", "model: ''"),
        "gate.yml:2: model: must not be empty",
    ),
    "no metrics": (
        GOOD.split("metrics:")[0] + "metrics: {}\n",
        "gate.yml:5: metrics: needs at least one entry",
    ),
    "metrics as a list": (
        GOOD.split("metrics:")[0] + "metrics: [accuracy]\n",
        "gate.yml:5: metrics: must be a mapping, got list",
    ),
    "two problems": (
        GOOD.replace("seed: 0", "seed: -1").replace("resamples: 10000", "resamples: 1"),
        "gate.yml:16: bootstrap.resamples: must be between 100 and 1000000, got 1 "
        "(and 1 more)",
    ),
    "repeated metric": (
        GOOD.replace("  log_loss:", "  accuracy: {direction: maximize}\n  log_loss:"),
        "gate.yml:10: metrics.accuracy: repeated key: keep one of them",
    ),
    "invalid YAML": (
        GOOD.replace("primary: accuracy", "primary: [accuracy"),
        "gate.yml:5: invalid YAML: expected ',' or ']', but got ':'",
    ),
    "empty file": ("", "gate.yml: gate rules must be a YAML mapping"),
    "a metric with a direction and no rule": (
        GOOD.replace("  log_loss:", "  roc_auc: {direction: maximize}\n  log_loss:"),
        "gate.yml:10: metrics.roc_auc: roc_auc has a direction but no rule, so any "
        "value would pass: add floor, min_improvement or max_regression, or remove "
        "it",
    ),
    "a minimize metric with a direction and no rule": (
        GOOD.replace("    ceiling: 0.6\n    max_regression: {relative: 0.05}\n", ""),
        "gate.yml:10: metrics.log_loss: log_loss has a direction but no rule, so any "
        "value would pass: add ceiling, min_improvement or max_regression, or remove "
        "it",
    ),
}


def test_a_metric_with_a_direction_and_no_rule_promotes_nothing(gate_yml):
    # The fault: `roc_auc: {direction: maximize}` let any roc_auc through.
    text = GOOD.replace("  log_loss:", "  roc_auc: {direction: maximize}\n  log_loss:")
    assert "no rule, so any value would pass" in problem(gate_yml(text))


def test_the_bootstrap_is_the_primary_metrics_rule(gate_yml):
    rules = load_rules(
        gate_yml(
            GOOD.replace("    floor: 0.80\n", "").replace(
                "    min_improvement: {absolute: 0.0}\n", ""
            )
        )
    )
    assert not rules.metrics["accuracy"].has_rule and rules.bootstrap is not None


@pytest.mark.parametrize("text, message", CASES.values(), ids=CASES.keys())
def test_each_mistake_is_one_exact_line(gate_yml, text, message):
    assert problem(gate_yml(text)) == message


def test_a_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert problem("gate.yml") == "gate.yml: gate rules not found"


def test_rules_are_frozen():
    rules = GateRules.model_validate(
        {
            "version": 1,
            "model": "m",
            "primary": "f1",
            "metrics": {"f1": {"direction": "maximize", "floor": 0.5}},
        }
    )
    with pytest.raises(Exception):
        rules.primary = "accuracy"  # type: ignore[misc]
