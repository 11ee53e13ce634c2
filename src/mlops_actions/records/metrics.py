"""``metrics.json``: what the evaluate step measured (schema ``mlops-actions/metrics``).

The one reader of a candidate's metrics: the gate and the registry both go
through :func:`read_metrics`, so what counts as a metrics file is decided here.
Two forms are read:

- the versioned form, ``{"schema": "mlops-actions/metrics", "version": 1,
  "metrics": {name: number}, ...}`` (what :mod:`mlops_actions.contract` and
  the reference evaluate step write; ``schema`` may be left out of a
  hand-written one);
- a plain ``{name: number}`` map, every entry a metric (what a user's own
  evaluate step is likely to write first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, WithJsonSchema

from mlops_actions.records.base import (
    NotThisRecord,
    Record,
    parse_record,
    read_document,
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
    task: str | None = Field(
        default=None,
        description="binary, multiclass or regression; null when not said.",
    )


def read_metrics(path: Path, *, where: str | None = None) -> MetricsRecord:
    """``metrics.json`` at ``path``, in either form (see the module's
    docstring); raises the errors of
    :func:`~mlops_actions.records.base.read_record`."""
    where = where or str(path)
    return parse_metrics(read_document(path, where), where)


def parse_metrics(data: Any, where: str) -> MetricsRecord:
    """A parsed ``metrics.json`` document as a record: a document with a
    ``schema`` must be ours; one without is the versioned form when its
    ``metrics`` is a mapping, else a plain ``{name: number}`` map."""
    if not isinstance(data, dict):
        raise NotThisRecord(
            f"{where}: not a metrics file: write a {{name: number}} map or the "
            f"{SCHEMA} form, not a JSON {_json_kind(data)}"
        )
    if "schema" not in data:
        if isinstance(data.get("metrics"), dict):
            data = {"schema": SCHEMA, **data}
        else:
            data = {"schema": SCHEMA, "metrics": data}
    return parse_record(data, MetricsRecord, where)


def _json_kind(data: Any) -> str:
    if isinstance(data, list):
        return "array"
    if isinstance(data, str):
        return "string"
    if data is None:
        return "null"
    return "boolean" if isinstance(data, bool) else "number"
