"""A sweep node's plan, as Azure ML reads it: trials, objective, limits.

Pure: what to run, not how. The local runner runs each trial as a step of the
trial component with the sampled values as inputs (see
:meth:`~mlops_actions.pipeline.local.LocalRunner`), reads the objective from the
trial's MLflow run, and binds the best trial's outputs to the sweep's.

- ``grid`` sampling: every combination of the ``choice`` values, in order,
  up to ``limits.max_total_trials``;
- ``random``: ``max_total_trials`` draws from each parameter's distribution
  (``choice``, ``randint``, ``uniform``, ``quniform``, ``loguniform``,
  ``qloguniform``, ``normal``, ``qnormal``, ``lognormal``, ``qlognormal``), with
  ``sampling_algorithm.seed`` when given, else with a seed derived from the
  search space, so a local re-run samples the same trials and reuses them;
- ``bayesian`` needs Azure ML's service: sampled at random here, and said so
  (:attr:`SweepPlan.notes`), like ``early_termination``, which is not applied.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.spec import Job

GOALS = ("maximize", "minimize")


class SweepError(UsageError):
    """A sweep node the local backend cannot plan: ``where`` inside the job."""

    def __init__(self, job: str, where: str, message: str) -> None:
        self.where = tuple(where.split(".")) if where else ()
        self.reason = message
        super().__init__(f"jobs.{job}{'.' if where else ''}{where}: {message}")


#: Distribution types and the keys each one needs.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "choice": ("values",),
    "randint": ("upper",),
    "uniform": ("min_value", "max_value"),
    "loguniform": ("min_value", "max_value"),
    "quniform": ("min_value", "max_value", "q"),
    "qloguniform": ("min_value", "max_value", "q"),
    "normal": ("mu", "sigma"),
    "lognormal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "qlognormal": ("mu", "sigma", "q"),
}
#: What each sampling algorithm accepts, as Azure ML documents it.
ALLOWED = {
    "grid": ("choice",),
    "bayesian": ("choice", "uniform", "quniform"),
    "random": tuple(DISTRIBUTIONS),
}


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep node asks for, checked."""

    #: the sampled input values of each trial, in the order they run
    trials: list[dict[str, Any]]
    metric: str
    goal: str
    concurrent: int
    trial_timeout: float | None
    timeout: float | None
    #: what Azure ML would do that this machine does not (``not used locally``)
    notes: list[str] = field(default_factory=list)

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` beats ``b`` for the objective's goal."""
        return a > b if self.goal == "maximize" else a < b


def plan(job: Job) -> SweepPlan:
    """The trials and objective of sweep node ``job``; UsageError naming the
    field at fault (``jobs.NODE.search_space.lr: ...``) otherwise."""
    raw = job.raw
    at = job.name
    algorithm, seed, notes = _algorithm(raw.get("sampling_algorithm"), at)
    space = raw.get("search_space")
    if not isinstance(space, dict) or not space:
        raise SweepError(at, "search_space", "a sweep needs at least one parameter")
    for name, spec in space.items():
        _check_parameter(at, f"search_space.{name}", spec, algorithm)
    objective = raw.get("objective")
    objective = objective if isinstance(objective, dict) else {}
    metric = objective.get("primary_metric")
    goal = str(objective.get("goal", "")).lower()
    if not isinstance(metric, str) or not metric:
        raise SweepError(at, "objective.primary_metric", "name the metric to optimize")
    if goal not in GOALS:
        raise SweepError(at, "objective.goal", "expected maximize or minimize")
    limits = raw.get("limits")
    limits = limits if isinstance(limits, dict) else {}
    total = _positive(limits, "max_total_trials", at)
    if total is None:
        raise SweepError(at, "limits.max_total_trials", "required (the trials to run)")
    concurrent = _positive(limits, "max_concurrent_trials", at) or total
    if algorithm == "grid":
        trials = grid(space)[:total]
    else:
        if seed is None:
            text = json.dumps(space, sort_keys=True, default=str).encode()
            seed = int(hashlib.sha256(text).hexdigest()[:8], 16)
        trials = sample(space, total, seed)
    if algorithm == "bayesian":
        notes.append("sampling_algorithm bayesian (sampled at random locally)")
    stop = raw.get("early_termination")
    if isinstance(stop, dict) and stop:
        notes.append(f"early_termination {stop.get('type', 'set')}")
    return SweepPlan(
        trials=trials,
        metric=metric,
        goal=goal,
        concurrent=concurrent,
        trial_timeout=_seconds(limits, "trial_timeout", at),
        timeout=_seconds(limits, "timeout", at),
        notes=notes,
    )


def grid(space: dict[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the ``choice`` values, the last name varying fastest."""
    names = list(space)
    values = [space[name]["values"] for name in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def sample(space: dict[str, Any], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` draws from each parameter's distribution."""
    rng = random.Random(seed)
    return [
        {name: draw(spec, rng) for name, spec in space.items()} for _ in range(count)
    ]


def draw(spec: dict[str, Any], rng: random.Random) -> Any:
    """One value from a parameter expression (``log*``: ``exp`` of the draw,
    as Azure ML defines them; ``q*``: rounded to a multiple of ``q``)."""
    kind = spec["type"]
    if kind == "choice":
        return rng.choice(list(spec["values"]))
    if kind == "randint":
        return rng.randrange(int(spec["upper"]))
    base = kind.removeprefix("q")
    if base in ("uniform", "loguniform"):
        value = rng.uniform(float(spec["min_value"]), float(spec["max_value"]))
    else:
        value = rng.gauss(float(spec["mu"]), float(spec["sigma"]))
    if base.startswith("log"):
        value = math.exp(value)
    if kind.startswith("q"):
        q = float(spec["q"])
        value = round(value / q) * q
        return int(value) if q.is_integer() else value
    return value


def _algorithm(raw: Any, at: str) -> tuple[str, int | None, list[str]]:
    """The sampling algorithm's type and seed, and what is not applied here."""
    notes: list[str] = []
    if isinstance(raw, dict):
        name = str(raw.get("type", "")).lower()
        seed = raw.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise SweepError(at, "sampling_algorithm.seed", "expected an integer")
        rule = str(raw.get("rule", "random")).lower()
        if rule != "random":
            notes.append(f"sampling_algorithm rule {rule} (sampled at random locally)")
    else:
        name, seed = str(raw or "").lower(), None
    if name not in ALLOWED:
        raise SweepError(
            at, "sampling_algorithm", f"expected random, grid or bayesian, got {raw!r}"
        )
    return name, seed, notes


def _check_parameter(at: str, where: str, spec: Any, algorithm: str) -> None:
    if not isinstance(spec, dict) or spec.get("type") not in DISTRIBUTIONS:
        known = ", ".join(DISTRIBUTIONS)
        raise SweepError(
            at, where, f"expected a parameter expression with type ({known})"
        )
    kind = spec["type"]
    missing = [key for key in DISTRIBUTIONS[kind] if key not in spec]
    if missing:
        raise SweepError(at, where, f"{kind} needs {', '.join(missing)}")
    if kind == "choice" and (
        not isinstance(spec["values"], list) or not spec["values"]
    ):
        raise SweepError(at, f"{where}.values", "expected a non-empty list")
    if kind not in ALLOWED[algorithm]:
        allowed = ", ".join(ALLOWED[algorithm])
        raise SweepError(at, where, f"{algorithm} sampling takes {allowed}, not {kind}")


def _positive(limits: dict[str, Any], key: str, at: str) -> int | None:
    value = limits.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SweepError(at, f"limits.{key}", "expected a positive integer")
    return value


def _seconds(limits: dict[str, Any], key: str, at: str) -> float | None:
    value = limits.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SweepError(at, f"limits.{key}", "expected seconds, a positive number")
    return float(value)


def objective_value(metrics: dict[str, Any], metric: str) -> float | None:
    """The objective's value among a trial's metrics, when it is a number."""
    value = metrics.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)
