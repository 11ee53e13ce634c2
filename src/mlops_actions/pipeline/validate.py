"""``mlops pipeline validate`` as a use case: our graph checks, then Azure ML's
own schema, one report whether it passes or not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.azure_check import azure_problems
from mlops_actions.pipeline.checks import Problem, check_pipeline, execution_order
from mlops_actions.pipeline.spec import Pipeline, load_pipeline


@dataclass(frozen=True)
class Validation:
    """What validating a pipeline file found; empty ``problems`` means valid."""

    file: Path
    spec: Pipeline
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def jobs(self) -> list[str]:
        """Execution order when valid; file order otherwise (there may be no
        order, e.g. with a cycle)."""
        return execution_order(self.spec) if self.valid else list(self.spec.jobs)

    def to_json(self) -> dict[str, Any]:
        """The report ``--json`` prints."""
        return {
            "file": str(self.file),
            "valid": self.valid,
            "jobs": self.jobs,
            "problems": [p.__dict__ | {"file": str(p.file)} for p in self.problems],
        }

    def error(self) -> UsageError | None:
        """The first problem as the error to exit with, the rest as its detail."""
        if not self.problems:
            return None
        return UsageError(str(self.problems[0]), detail=more_problems(self.problems))


def validate_pipeline(file: Path) -> Validation:
    """Load ``file``; run the graph checks, and only when they pass, azure-ai-ml's
    validation (its messages about a broken graph are harder to act on)."""
    spec = load_pipeline(file)
    problems = check_pipeline(spec) or azure_problems(spec)
    return Validation(file, spec, tuple(problems))


def more_problems(problems: tuple[Problem, ...] | list[Problem]) -> str | None:
    """Problems after the first, one ``error:`` line each."""
    return "\n".join(f"error: {p}" for p in problems[1:]) or None
