"""Where MLflow can express a rule, the gate decides exactly as MLflow does.

floor/ceiling = ``MetricThreshold(threshold=...)``; min_improvement absolute /
relative = ``min_absolute_change`` / ``min_relative_change``; checked with the
public ``mlflow.validate_evaluation_results`` (mlflow 3.x), ties included.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_actions.gate.decision import decide
from mlops_actions.gate.rules import GateRules

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.models import MetricThreshold  # noqa: E402
from mlflow.models.evaluation import EvaluationResult  # noqa: E402


def mlflow_passes(threshold: MetricThreshold, c: float, b: float) -> bool:
    try:
        mlflow.validate_evaluation_results(
            {"score": threshold},
            EvaluationResult(metrics={"score": c}, artifacts={}),
            EvaluationResult(metrics={"score": b}, artifacts={}),
        )
    except MlflowException as failed:
        assert "score" in str(failed)
        return False
    return True


values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
# MLflow's constructor wants min_absolute_change > 0 and 0 <= relative <= 1.
absolute = st.floats(1e-9, 10, allow_nan=False)
relative = st.floats(0, 1, allow_nan=False)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, float, float, float]:
    direction = draw(st.sampled_from(["maximize", "minimize"]))
    kind = draw(st.sampled_from(["threshold", "absolute", "relative"]))
    b = draw(values)
    if kind == "relative" and b == 0:
        b = 1.0  # MLflow falls back to a 1e-10 check at 0; ours is an error
    m = draw(
        values if kind == "threshold" else absolute if kind == "absolute" else relative
    )
    maximize = direction == "maximize"
    c = draw(
        st.sampled_from(
            [
                draw(values),
                b,
                m if kind == "threshold" else (b + m if maximize else b - m),
                b + m * abs(b) if maximize else b - m * abs(b),
                b + 1e-10 if maximize else b - 1e-10,
            ]
        )
    )
    return direction, kind, m, c, b


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_same_verdict_as_mlflow(case):
    direction, kind, m, c, b = case
    maximize = direction == "maximize"
    if kind == "threshold":
        ours = {"floor" if maximize else "ceiling": m}
        theirs = MetricThreshold(threshold=m, greater_is_better=maximize)
    elif kind == "absolute":
        ours = {"min_improvement": {"absolute": m}}
        theirs = MetricThreshold(min_absolute_change=m, greater_is_better=maximize)
    else:
        ours = {"min_improvement": {"relative": m}}
        theirs = MetricThreshold(min_relative_change=m, greater_is_better=maximize)
    rules = GateRules.model_validate(
        {
            "version": 1,
            "model": "m",
            "primary": "score",
            "metrics": {"score": {"direction": direction, **ours}},
        }
    )
    decision = decide(rules, {"score": c}, {"score": b})
    assert decision.decision in ("promote", "reject")
    assert (decision.decision == "promote") == mlflow_passes(theirs, c, b)


def test_zero_baseline_relative_is_where_we_deliberately_differ():
    # MLflow falls back to "better by 1e-10" at a zero baseline; the gate refuses.
    theirs = MetricThreshold(min_relative_change=0.1, greater_is_better=True)
    assert mlflow_passes(theirs, 0.5, 0.0)
    rules = GateRules.model_validate(
        {
            "version": 1,
            "model": "m",
            "primary": "score",
            "metrics": {
                "score": {"direction": "maximize", "min_improvement": {"relative": 0.1}}
            },
        }
    )
    assert decide(rules, {"score": 0.5}, {"score": 0.0}).decision == "error"
