"""The records the fake keeps per job: its scenario and its state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.azureml.assets import now

TERMINAL = {"Completed", "Failed", "Canceled", "NotResponding", "Paused"}
DEFAULT_STATUSES = ("Running", "Running", "Completed")
PIPELINE_FAILED = (
    "Pipeline has failed child jobs. Failed nodes: /{step}. For more details and "
    "logs, please go to the job detail page and check the child jobs."
)


@dataclass
class Scenario:
    statuses: list[str] = field(default_factory=lambda: list(DEFAULT_STATUSES))
    logs: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    outputs: dict[str, dict[str, bytes]] = field(default_factory=dict)


@dataclass
class Job:
    name: str
    shape: dict[str, Any]
    scenario: Scenario
    parent: str | None = None
    node: str | None = None
    children: list[str] = field(default_factory=list)
    step: int = -1
    status: str = "NotStarted"
    logged: int = 0
    cancel: str | None = None  # None, "requested", "done"
    stuck: bool = False
    build_log: str | None = None  # a failed image build's log URL
    created: str = field(default_factory=now)
    run_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def log_path(self) -> str:
        return f"ExperimentRun/dcid.{self.name}/user_logs/std_log.txt"
