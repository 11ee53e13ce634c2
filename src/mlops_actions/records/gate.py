"""``gate.json``: the gate's decision record (schema ``mlops-actions/gate``).

Always written, whatever the outcome: promote, reject, first or error, with a
reason per failed rule. ``model register --gate`` and ``model promote --gate``
read it back to know what the gate allowed, and against which champion.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from mlops_actions.records.base import (
    Part,
    Record,
    read_record,
    schema_field,
    version_field,
)
from mlops_actions.records.metrics import MetricValue

SCHEMA = "mlops-actions/gate"
#: decisions that let the candidate through: registered, and promoted
PASSING = ("promote", "first")
Outcome = Literal["promote", "reject", "first", "error"]


class GateRule(Part):
    """One rule on one metric; ``delta`` is candidate minus champion."""

    metric: str
    rule: str = Field(
        description="present, floor, ceiling, min_improvement, max_regression "
        "or bootstrap."
    )
    direction: str
    candidate: float | None
    champion: float | None
    delta: float | None
    threshold: float | None
    verdict: Literal["pass", "fail", "error"]
    reason: str


class GateBootstrap(Part):
    """The paired bootstrap's interval of the improvement (positive: better)."""

    metric: str
    estimate: float
    lower: float
    upper: float
    resamples: int
    confidence: float
    rows: int
    seed: int
    method: str
    task: str | None = Field(
        default=None, description="binary, multiclass or regression."
    )
    task_source: str | None = Field(
        default=None,
        description="Where the task comes from: declared in gate.yml, or inferred "
        "from the candidate's predictions.parquet (and why).",
    )


class GateCandidate(Part):
    metrics_path: str
    run_id: str | None
    metrics: dict[str, MetricValue]


class GateChampion(Part):
    version: str | int
    uri: str | None = None
    metrics: dict[str, MetricValue] = Field(default_factory=dict)


class GateRecord(Record):
    what: ClassVar[str] = "gate decision"
    file_name: ClassVar[str] = "gate.json"

    schema_: Literal["mlops-actions/gate"] = schema_field(SCHEMA)
    version: Literal[1] = version_field(1)
    decision: Outcome
    mode: Literal["enforce", "dry-run"] = "enforce"
    would_be: Outcome | None = Field(
        default=None, description="In dry-run, what enforce would have decided."
    )
    primary: str | None = None
    reasons: list[str] = Field(default_factory=list)
    rules: list[GateRule] = Field(default_factory=list)
    bootstrap: GateBootstrap | None = None
    model: str | None = Field(default=None, description="The registered model's name.")
    candidate: GateCandidate | None = None
    champion: GateChampion | str | int | None = Field(
        default=None,
        description="The champion compared against; null for a first model "
        "(a bare version is read too).",
    )
    created: str | None = None
    mlops_version: str | None = None


def read_gate(path: Path, *, where: str | None = None) -> GateRecord:
    """``gate.json`` at ``path``; raises the errors of
    :func:`~mlops_actions.records.base.read_record`."""
    return read_record(path, GateRecord, where=where)
