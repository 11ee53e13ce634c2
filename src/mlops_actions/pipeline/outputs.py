"""A pipeline's outputs by name, and whether it has the ones the loop reads.

The gate, ``model register --run`` and ``release`` read two of a pipeline's
outputs: the model (an MLflow model folder) and the metrics (the folder of
``metrics.json``). Their names are configuration (gate.yml ``outputs:``, or
the ``--model-output`` / ``--metrics-output`` flags); this module tells a
pipeline that lacks them before anything runs.
"""

from __future__ import annotations

from pathlib import Path

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.checks import Problem
from mlops_actions.pipeline.expressions import Binding, parse_binding
from mlops_actions.pipeline.spec import Pipeline


def pipeline_outputs(pipeline: Pipeline) -> set[str]:
    """The outputs ``pipeline`` declares or its jobs bind
    (``${{parent.outputs.NAME}}``)."""
    names = set(pipeline.outputs)
    for job in pipeline.jobs.values():
        for value in job.outputs.values():
            binding = parse_binding(value)
            if isinstance(binding, Binding) and binding.kind == "parent-output":
                names.add(binding.name)
    return names


def missing_outputs(pipeline: Pipeline, *, model: str, metrics: str) -> list[Problem]:
    """A warning for each of ``model`` and ``metrics`` the pipeline lacks."""
    have = pipeline_outputs(pipeline)
    listed = ", ".join(sorted(have)) or "none"
    line = pipeline.doc.line(("outputs",))
    found = []
    for role, name, holds in (
        ("model", model, "MLflow model folder that register and release read"),
        ("metrics", metrics, "metrics.json folder that the gate reads"),
    ):
        if name not in have:
            found.append(
                Problem(
                    pipeline.path,
                    line,
                    "outputs",
                    f"no `{name}` output for the {holds} (the pipeline's "
                    f"outputs: {listed}): add it, or name the right one with "
                    f"outputs.{role} in gate.yml or --{role}-output",
                    "warning",
                )
            )
    return found


def require_model_output(pipeline: Pipeline, name: str, file: Path) -> None:
    """A UsageError (exit 2) naming ``name`` when ``pipeline`` has no such
    output: ``release`` checks this before it trains anything."""
    have = pipeline_outputs(pipeline)
    if name not in have:
        listed = ", ".join(sorted(have)) or "none"
        raise UsageError(
            f"{file}: the pipeline has no `{name}` output for release to register "
            f"(its outputs: {listed}): name the output holding the MLflow model "
            "with outputs.model in gate.yml or --model-output"
        )
