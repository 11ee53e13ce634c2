"""The ``gate.yml`` schema: which metrics the champion gate checks, and how.

This is the user contract. Every field, with its default; any other field is
an error::

    version: 1                  # required, the schema version
    model: reference-tabular    # required: registered model the champion is
                                #   looked up under
    task: binary                # optional: binary, multiclass or regression;
                                #   unset, the bootstrap infers it from the
                                #   candidate's predictions.parquet
    mode: enforce               # enforce (default) or dry-run
    primary: accuracy           # required: one of the metrics below; the
                                #   headline and the bootstrap use it
    metrics:                    # required, at least one; names as in metrics.json
      accuracy:
        direction: maximize     # required: maximize or minimize
        floor: 0.80             # optional, maximize only: candidate >= floor
        min_improvement: {absolute: 0.0}  # optional, or {relative: 0.01}:
                                #   the candidate must beat the champion by this
      roc_auc:
        direction: maximize
        floor: 0.80
        max_regression: {absolute: 0.01}  # optional, or {relative: 0.02}:
                                #   the candidate may trail the champion by this
      log_loss:
        direction: minimize
        ceiling: 0.6            # optional, minimize only: candidate <= ceiling
        max_regression: {relative: 0.05}
    bootstrap:                  # optional: paired bootstrap of the primary metric
      confidence: 0.95          # two-sided interval level, between 0.5 and 1
      resamples: 10000          # 100 to 1000000
      seed: 0                   # >= 0; the same seed gives the same interval
    outputs:                    # optional: the pipeline outputs gate, register
      model: model              #   and release read (an MLflow model folder)
      metrics: metrics          #   (the folder of metrics.json, predictions)

Constraints: every metric has at least one rule (floor or ceiling, a margin,
or, for the primary metric, the bootstrap): a direction alone would let any
value pass; a margin gives exactly one of ``absolute`` or ``relative``, and is
>= 0; one metric has ``min_improvement`` or ``max_regression``, not both; the
well-known metrics (accuracy, balanced_accuracy, f1, macro/micro/weighted F1,
precision, recall, roc_auc, r2: maximize; log_loss, mse, rmse, mae, mape,
latency_p95_ms: minimize; common spellings such as ``f1_macro`` or
``root_mean_squared_error`` included, see :mod:`mlops_actions.gate.tasks`) must
keep their direction, since a flipped direction silently inverts the gate, and
so must a metric whose direction the candidate's metrics.json declares
(``directions``); the bootstrap needs a primary metric it can resample for the
task (:data:`mlops_actions.gate.tasks.BOOTSTRAP_BY_TASK`). What each rule
means, ties included, is documented in :mod:`mlops_actions.gate.decision`.

Numbers in YAML: PyYAML follows YAML 1.1, which reads ``1e-3`` as text; write
``1.0e-3`` or ``0.001``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from mlops_actions.errors import UsageError
from mlops_actions.gate.tasks import (
    BOOTSTRAP_BY_TASK,
    DIRECTIONS,
    Task,
    canonical,
    known_direction,
)
from mlops_actions.yamlfile import YamlDoc, load_yaml

#: Metrics whose direction is not a matter of taste (canonical names; other
#: spellings: :func:`mlops_actions.gate.tasks.known_direction`).
KNOWN_DIRECTIONS = DIRECTIONS

# Strict: a quoted "0.8" or a YAML `yes` is a mistake in a gate, not a number.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Margin = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]


class FieldProblem(ValueError):
    """A cross-field check failed; ``field`` is relative to the model checked."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarginRule(_Schema):
    """``{absolute: x}`` or ``{relative: x}``: a margin against the champion."""

    absolute: Margin | None = None
    relative: Margin | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MarginRule:
        if (self.absolute is None) == (self.relative is None):
            got = "both" if self.absolute is not None else "neither"
            raise ValueError(f"give exactly one of absolute or relative, got {got}")
        return self

    @property
    def kind(self) -> Literal["absolute", "relative"]:
        return "absolute" if self.absolute is not None else "relative"

    @property
    def value(self) -> float:
        if self.absolute is not None:
            return self.absolute
        assert self.relative is not None  # the validator allows exactly one
        return self.relative


class MetricRule(_Schema):
    direction: Literal["maximize", "minimize"]
    floor: Number | None = None
    ceiling: Number | None = None
    min_improvement: MarginRule | None = None
    max_regression: MarginRule | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MetricRule:
        if self.floor is not None and self.direction == "minimize":
            raise FieldProblem(
                "floor", "floor is for maximize metrics: use ceiling for minimize"
            )
        if self.ceiling is not None and self.direction == "maximize":
            raise FieldProblem(
                "ceiling", "ceiling is for minimize metrics: use floor for maximize"
            )
        if self.min_improvement is not None and self.max_regression is not None:
            raise ValueError(
                "min_improvement and max_regression are both set: keep "
                "min_improvement to require a gain over the champion, or "
                "max_regression to allow a bounded loss"
            )
        return self

    @property
    def has_rule(self) -> bool:
        """Whether anything but presence is checked (a direction alone is not)."""
        return any(
            value is not None
            for value in (
                self.floor,
                self.ceiling,
                self.min_improvement,
                self.max_regression,
            )
        )


class BootstrapRule(_Schema):
    confidence: Annotated[float, Strict()] = 0.95
    resamples: Annotated[int, Strict()] = 10_000
    seed: Annotated[int, Strict(), Field(ge=0)] = 0

    @field_validator("confidence")
    @classmethod
    def _confidence(cls, value: float) -> float:
        if not 0.5 < value < 1:
            raise ValueError(f"must be between 0.5 and 1 (exclusive), got {value!r}")
        return value

    @field_validator("resamples")
    @classmethod
    def _resamples(cls, value: int) -> int:
        if not 100 <= value <= 1_000_000:
            raise ValueError(f"must be between 100 and 1000000, got {value!r}")
        return value


#: What a pipeline output's name may be (as Azure ML names a job output).
OUTPUT_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
OutputName = Annotated[str, Strict(), Field(min_length=1, pattern=OUTPUT_NAME)]


class OutputNames(_Schema):
    """``outputs:``: which pipeline outputs hold the model and its metrics."""

    model: OutputName = "model"
    metrics: OutputName = "metrics"


def output_names(
    rules: GateRules | None, *, model: str | None = None, metrics: str | None = None
) -> OutputNames:
    """The output names in force: a flag's value (``model``, ``metrics``) over
    the rules' ``outputs:``, over the defaults ``model`` and ``metrics``.

    A flag's value is checked as gate.yml's is: UsageError naming the flag.
    """
    names = rules.outputs if rules is not None else OutputNames()
    given = {"model": model, "metrics": metrics}
    for key, value in given.items():
        if value is not None and not re.fullmatch(OUTPUT_NAME, value):
            raise UsageError(
                f"--{key}-output {value!r}: not a pipeline output name: use "
                "letters, digits and _, not starting with a digit"
            )
    return names.model_copy(update={k: v for k, v in given.items() if v})


class GateRules(_Schema):
    version: Literal[1]
    model: Annotated[str, Strict(), Field(min_length=1)]
    mode: Literal["enforce", "dry-run"] = "enforce"
    task: Task | None = None
    primary: Annotated[str, Strict()]
    metrics: Annotated[dict[str, MetricRule], Field(min_length=1)]
    bootstrap: BootstrapRule | None = None
    outputs: OutputNames = Field(default_factory=OutputNames)

    @model_validator(mode="after")
    def _consistent(self) -> GateRules:
        if self.primary not in self.metrics:
            raise FieldProblem(
                "primary",
                f"must be one of the metrics ({', '.join(self.metrics)}), "
                f"got {self.primary!r}",
            )
        for name, rule in self.metrics.items():
            if not rule.has_rule and not (name == self.primary and self.bootstrap):
                bound = "floor" if rule.direction == "maximize" else "ceiling"
                raise FieldProblem(
                    f"metrics.{name}",
                    f"{name} has a direction but no rule, so any value would pass: "
                    f"add {bound}, min_improvement or max_regression, or remove it",
                )
            _check_direction(name, rule)
        _check_bootstrap(self)
        return self


def _check_direction(name: str, rule: MetricRule) -> None:
    """A rule against a metric's known direction would invert the gate."""
    known = known_direction(name)
    if known is not None and rule.direction != known:
        better = "higher" if known == "maximize" else "lower"
        raise FieldProblem(
            f"metrics.{name}.direction",
            f"{name} is {better}-is-better: use {known}, got {rule.direction!r}",
        )


def _check_bootstrap(rules: GateRules) -> None:
    """The primary metric must be one the bootstrap resamples (for the task)."""
    if rules.bootstrap is None:
        return
    metric = canonical(rules.primary)
    tasks = [rules.task] if rules.task else list(BOOTSTRAP_BY_TASK)
    if any(metric in BOOTSTRAP_BY_TASK[task] for task in tasks):
        return
    if metric == "roc_auc":
        why = "ROC AUC is not a mean over rows, so it cannot be resampled exactly "
        why += "and fast"
    elif rules.task:
        why = f"not one it recomputes for a {rules.task} task"
    else:
        why = "not one it recomputes from predictions.parquet"
    if metric == "roc_auc" and not rules.task:
        tasks = ["binary"]
    if len(tasks) == 1:
        choices = f"make one of {', '.join(BOOTSTRAP_BY_TASK[tasks[0]])}"
    else:
        choices = "make the primary metric one of " + "; ".join(
            f"{task}: {', '.join(BOOTSTRAP_BY_TASK[task])}" for task in tasks
        )
        choices += " (by task)"
    the = " the primary metric" if len(tasks) == 1 else ""
    raise FieldProblem(
        "bootstrap",
        f"the paired bootstrap cannot resample {rules.primary} ({why}): "
        f"{choices}{the}, or remove bootstrap",
    )


def check_declared_directions(
    rules: GateRules, metrics: Path, *, where: Path | str = "gate.yml"
) -> None:
    """Refuse a rule whose direction contradicts the one the candidate's
    ``metrics.json`` declares (``directions``); an unreadable file is the
    gate's to report, not this check's."""
    from mlops_actions.errors import MlopsError
    from mlops_actions.records.metrics import read_metrics

    try:
        declared = read_metrics(metrics).directions
    except (MlopsError, ValueError, OSError):
        return
    for name, rule in rules.metrics.items():
        theirs = declared.get(name)
        if theirs in ("maximize", "minimize") and theirs != rule.direction:
            raise UsageError(
                f"{where}: metrics.{name}.direction is {rule.direction} but "
                f"{metrics} declares {name} {theirs}: make them agree"
            )


def load_rules(path: Path | str) -> GateRules:
    """Read and check ``gate.yml``; any problem is one UsageError line naming it."""
    path = Path(path)
    doc = load_yaml(path, "gate rules")  # bounded: an alias bomb is refused
    duplicate = _duplicate_key(doc)
    if duplicate is not None:
        raise UsageError(duplicate)
    try:
        return GateRules.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors()
        where, message = _explain(errors[0])
        line = doc.line(tuple(where.split("."))) if where else None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        at = f"{path}:{line}" if line else str(path)
        raise UsageError(f"{at}: {where or 'top level'}: {message}{more}") from None


def _explain(error: Any) -> tuple[str, str]:
    """(field path, what to change) for one pydantic error."""
    loc = [str(part) for part in error["loc"]]
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    cause = ctx.get("error")
    if isinstance(cause, FieldProblem):
        return ".".join([*loc, cause.field]), str(cause)
    if isinstance(cause, Exception):
        return ".".join(loc), str(cause)
    if kind == "missing":
        return ".".join(loc), "is required: add it"
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed(loc[:-1]))
        return ".".join(loc), f"unknown field: remove it (allowed here: {allowed})"
    if kind == "literal_error":
        expected = ctx.get("expected", "").replace("'", "")
        return ".".join(loc), f"must be {expected}, got {value!r}"
    if kind == "float_type":
        hint = ""
        if isinstance(value, str) and "e" in value.lower() and _is_float(value):
            hint = " (YAML 1.1 reads 1e-3 as text: write 1.0e-3 or 0.001)"
        return ".".join(loc), f"must be a number, got {value!r}{hint}"
    if kind == "finite_number":
        return ".".join(loc), f"must be a finite number, got {value!r}"
    if kind == "int_type":
        return ".".join(loc), f"must be a whole number, got {value!r}"
    if kind == "greater_than_equal":
        return ".".join(loc), f"must be >= {ctx['ge']:g}, got {value!r}"
    if kind == "too_short":
        return ".".join(loc), "needs at least one entry"
    if kind == "string_too_short":
        return ".".join(loc), "must not be empty"
    if kind == "string_pattern_mismatch":
        return ".".join(loc), (
            "must be a pipeline output name (letters, digits and _, not "
            f"starting with a digit), got {value!r}"
        )
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        like = ""
        if loc and loc[-1] in ("min_improvement", "max_regression"):
            like = " like {absolute: 0.01} or {relative: 0.01}"
        return ".".join(loc), f"must be a mapping{like}, got {type(value).__name__}"
    return ".".join(loc), f"{error['msg']}, got {value!r}"


def _allowed(loc: list[str]) -> list[str]:
    """Field names valid at ``loc`` (a path into GateRules)."""
    model: type[BaseModel] = GateRules
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if model is GateRules and part == "metrics":
            model = MetricRule
            parts = parts[1:]  # skip the metric's name
        elif model is GateRules and part == "bootstrap":
            model = BootstrapRule
        elif model is GateRules and part == "outputs":
            model = OutputNames
        elif model is MetricRule and part in ("min_improvement", "max_regression"):
            model = MarginRule
    return list(model.model_fields)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _duplicate_key(doc: YamlDoc) -> str | None:
    """Say where a key repeats: PyYAML keeps the last one, dropping a rule.

    The loader found the repeats while walking each distinct node once, so a
    node shared through aliases is not walked again at every use.
    """
    if not doc.repeated:
        return None
    where, line = doc.repeated[0]
    return f"{doc.path}:{line}: {'.'.join(where)}: repeated key: keep one of them"
