"""``run.json`` and ``step.json``: what a local pipeline run leaves behind.

The runner keeps a :class:`RunRecord` up to date while the run goes (its
fields are assigned as steps move on) and writes it after every change; each
finished step also gets its own ``step.json``, which the step cache trusts.
Values in both are stored with credentials redacted (:mod:`mlops_actions.redact`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from mlops_actions.records.base import Part, Record, schema_field, version_field

RUN_SCHEMA = "mlops-actions/pipeline-run"
STEP_SCHEMA = "mlops-actions/pipeline-step"


class StepRecord(Part):
    """One step of a run, as the run's ``steps`` list holds it."""

    name: str
    status: str = Field(
        description="pending, running, completed, reused, failed or cancelled."
    )
    key: str = Field(default="", description="The step cache key.")
    seconds: float = 0.0
    outputs: dict[str, str] = Field(
        default_factory=dict, description="Output name to folder."
    )
    digests: dict[str, str] = Field(
        default_factory=dict, description="Output name to content hash."
    )
    log: str = ""
    argv: list[str] = Field(default_factory=list)
    returncode: int | None = None
    reused_from: str | None = Field(
        default=None, description="The run whose outputs a reused step points at."
    )
    started: str = Field(
        default="", description="When its process started (ISO 8601, UTC)."
    )
    ended: str = Field(
        default="", description="When its process ended (ISO 8601, UTC)."
    )
    values: dict[str, Any] = Field(
        default_factory=dict,
        description="A sweep trial's sampled inputs, by search space name.",
    )
    metrics: dict[str, float] = Field(
        default_factory=dict,
        description="A sweep trial's metrics: the latest value of each it logged.",
    )
    trials: list[StepRecord] = Field(
        default_factory=list, description="A sweep's trials, in the order sampled."
    )
    best_trial: str | None = Field(
        default=None,
        description="The sweep's best trial, whose outputs are the sweep's.",
    )


class StepFile(StepRecord, Record):
    """``<run>/<step>/step.json``: one finished step."""

    what: ClassVar[str] = "pipeline step record"
    file_name: ClassVar[str] = "step.json"

    schema_: Literal["mlops-actions/pipeline-step"] = schema_field(STEP_SCHEMA)
    version: Literal[1] = version_field(1)

    @classmethod
    def of(cls, step: StepRecord) -> StepFile:
        return cls(**step.model_dump())


class RunRecord(Record):
    """``<state>/runs/<run>/run.json``: one pipeline run."""

    what: ClassVar[str] = "pipeline run record"
    file_name: ClassVar[str] = "run.json"

    schema_: Literal["mlops-actions/pipeline-run"] = schema_field(RUN_SCHEMA)
    version: Literal[1] = version_field(1)
    run_id: str
    pipeline: str
    file: str
    folder: str
    status: str = Field(description="running, completed, failed or cancelled.")
    inputs: dict[str, Any]
    experiment: str = ""
    steps: list[StepRecord] = Field(default_factory=list)
    outputs: dict[str, str] = Field(
        default_factory=dict, description="Pipeline output name to folder."
    )
    metrics: dict[str, Any] = Field(
        default_factory=dict,
        description="The last step's metrics.json, with step, output and path.",
    )
    data: dict[str, str] = Field(
        default_factory=dict,
        description="Pipeline input to the data asset version it read "
        "(NAME:VERSION): the lineage a registered model carries.",
    )
    url: str = Field(default="", description="Where the backend shows the run.")
    not_used_locally: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    runner: dict[str, Any] = Field(
        default_factory=dict,
        description="The CLI process running it, to tell a stale record.",
    )
