"""``smoke.json`` (a request and the answers the evaluated model gave) and
``deploy.json`` (a deployment and its smoke test, as ``deploy --json`` prints)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from mlops_actions.records.base import Part, Record, schema_field, version_field

SMOKE_SCHEMA = "mlops-actions/smoke"
DEPLOY_SCHEMA = "mlops-actions/deploy"


class SmokeRecord(Record):
    what: ClassVar[str] = "smoke test file"
    file_name: ClassVar[str] = "smoke.json"

    schema_: Literal["mlops-actions/smoke"] = schema_field(SMOKE_SCHEMA)
    version: Literal[1] = version_field(1)
    request: dict[str, Any] = Field(
        description="An /invocations body (MLflow's scoring protocol)."
    )
    expected: dict[str, Any] = Field(
        description='The answer to compare: {"predictions": ...} as the model '
        "gave it (numbers, strings, lists, records, columns); or label and "
        "probability lists, one per row; or rows alone when only the number of "
        "answers is known (shape_only)."
    )
    tolerance: float = Field(
        default=1e-6,
        ge=0,
        description="Allowed absolute difference of a number in the answer.",
    )
    relative_tolerance: float = Field(
        default=1e-9,
        ge=0,
        description="Allowed difference of a number relative to the larger of "
        "the two (math.isclose's rel_tol); a number matches within either.",
    )
    shape_only: bool = Field(
        default=False,
        description="No recorded answers: only the number of answers is checked.",
    )


class SmokeOutcome(Part):
    ok: bool
    rows: int
    seconds: float
    status: int | None = Field(description="The HTTP status, null for no answer.")
    mismatches: list[str]
    shape_only: bool = Field(
        default=False,
        description="Only the number of answers was checked (no recorded answers).",
    )


class DeployRecord(Record):
    what: ClassVar[str] = "deployment record"
    file_name: ClassVar[str] = "deploy.json"

    schema_: Literal["mlops-actions/deploy"] = schema_field(DEPLOY_SCHEMA)
    version: Literal[1] = version_field(1)
    target: str
    url: str
    model: str = Field(description="The model folder or models:/NAME/VERSION.")
    model_version: str | None = Field(
        description="The registered version deployed; null for a folder."
    )
    started: float
    # the local target: the scorer process
    pid: int | None = Field(default=None, description="local: the scorer's pid.")
    log: str | None = Field(default=None, description="local: the scorer's log.")
    process_started: str | None = None
    instance: str | None = Field(
        default=None, description="local: what /health/ready reports as instance."
    )
    # the aks target: the Deployment
    namespace: str | None = Field(default=None, description="aks: the namespace.")
    deployment: str | None = Field(
        default=None, description="aks: the Deployment serving the model."
    )
    revision: int | None = Field(
        default=None, description="aks: the Deployment's revision (rollout history)."
    )
    image: str | None = Field(
        default=None, description="aks: the image served, REPOSITORY@sha256:..."
    )
    strategy: str | None = Field(
        default=None, description="aks: rolling, canary or blue-green."
    )
    smoke: SmokeOutcome | None
