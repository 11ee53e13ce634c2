"""``model.json``: the registered version later steps build and deploy
(schema ``mlops-actions/model``).

``version`` is the file format's version, as in every record; the model's
own version is ``model_version``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from mlops_actions.records.base import Record, schema_field, version_field

SCHEMA = "mlops-actions/model"


class ModelRecord(Record):
    what: ClassVar[str] = "model record"
    file_name: ClassVar[str] = "model.json"

    schema_: Literal["mlops-actions/model"] = schema_field(SCHEMA)
    version: Literal[1] = version_field(1)
    name: str
    model_version: str
    uri: str = Field(description="models:/NAME/VERSION, loadable by MLflow.")
    digest: str | None = Field(description="sha256 of the model folder's content.")
    run_id: str | None = Field(description="The pipeline run it came from.")
    commit: str | None
    created: str = Field(description="When it was registered (ISO-8601 UTC).")
    new: bool = Field(description="False when this run was registered before.")
    metrics: dict[str, float]
    promoted: bool = Field(
        default=False, description="Whether it became the champion (register --gate)."
    )
