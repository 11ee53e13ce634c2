"""Pipelines of one shared component written on the fly: bash, graph tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml


def write_pipeline(
    folder: Path,
    command: str,
    jobs: dict[str, dict[str, Any]],
    *,
    script: str = "",
    inputs: dict[str, Any] | None = None,
    component_inputs: dict[str, Any] | None = None,
    component_extra: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> Path:
    """``folder/pipeline.yml`` whose jobs all run ``step/component.yml``
    (``command``, output ``out``, code ``step/`` holding ``step.py``)."""
    step = folder / "step"
    step.mkdir(parents=True)
    (step / "step.py").write_text(textwrap.dedent(script))
    component = {
        "type": "command",
        "name": "step",
        "inputs": component_inputs or {},
        "outputs": {"out": {"type": "uri_folder"}},
        "code": ".",
        "command": command,
        **(component_extra or {}),
    }
    (step / "component.yml").write_text(yaml.safe_dump(component, sort_keys=False))
    pipeline = {
        "type": "pipeline",
        "display_name": "graph",
        "settings": settings or {},
        "inputs": inputs or {},
        "jobs": {
            name: {"type": "command", "component": "./step/component.yml", **job}
            for name, job in jobs.items()
        },
    }
    path = folder / "pipeline.yml"
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    return path


def after(job: str) -> str:
    """The binding of a job input to ``job``'s output."""
    return "${{parent.jobs.%s.outputs.out}}" % job
