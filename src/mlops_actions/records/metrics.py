"""``metrics.json``: what the evaluate step measured (schema ``mlops-actions/metrics``).

The one reader of a candidate's metrics: the gate and the registry both go
through :func:`read_metrics`, so what counts as a metrics file is decided here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, WithJsonSchema

from mlops_actions.records.base import (
    Record,
    read_record,
    schema_field,
    version_field,
)

SCHEMA = "mlops-actions/metrics"

#: A metric's value as written: a number, or null for one that is not finite.
#: Read as given (a string or a bool stays one), so the gate can say what is
#: wrong with it instead of a coerced value passing.
MetricValue = Annotated[Any, WithJsonSchema({"type": ["number", "null"]})]


class MetricsRecord(Record):
    what: ClassVar[str] = "metrics file"
    file_name: ClassVar[str] = "metrics.json"

    schema_: Literal["mlops-actions/metrics"] = schema_field(SCHEMA)
    version: Literal[1] = version_field(1)
    metrics: dict[str, MetricValue] = Field(
        default_factory=dict, description="Metric name to value."
    )
    rows: int | None = Field(default=None, description="Rows of the evaluation set.")
    positive_class: Any = Field(
        default=None, description="The positive class of a binary task, as labelled."
    )
    target: str | None = Field(default=None, description="The label column.")
    directions: dict[str, str] = Field(
        default_factory=dict, description="Metric name to maximize or minimize."
    )


def read_metrics(path: Path, *, where: str | None = None) -> MetricsRecord:
    """``metrics.json`` at ``path``; raises the errors of
    :func:`~mlops_actions.records.base.read_record`."""
    return read_record(path, MetricsRecord, where=where)
