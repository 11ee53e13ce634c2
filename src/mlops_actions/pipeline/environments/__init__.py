"""The environment each step runs in: ``--env host``, ``venv`` or ``container``.

``auto`` (the CLI's default) builds a venv for an environment whose conda file
lists pip dependencies, and runs the other steps on the host, as before.
Choosing is pure (:meth:`Environments.plan`), so the run header can say what
every step will use before any starts; building happens when a step first
needs it (:meth:`Environments.wrap`, called where the step's process starts).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_actions.errors import UsageError
from mlops_actions.pipeline.environments import container
from mlops_actions.pipeline.environments.declared import Declared, declared_environment
from mlops_actions.pipeline.environments.venv import (
    describe,
    ensure_venv,
    find_uv,
    venv_folder,
)
from mlops_actions.pipeline.spec import Job

MODES = ("auto", "host", "venv", "container")
Say = Callable[[str], None]

__all__ = ["MODES", "Declared", "Environments", "Plan", "declared_environment"]


#: put before a container step's command: ``python`` is python3 where the
#: image has no ``python`` of its own
PYTHON_FALLBACK = 'command -v python >/dev/null 2>&1 || python() { python3 "$@"; }; '


@dataclass(frozen=True)
class Plan:
    """Where one step runs: ``kind`` host, venv or container, and why."""

    kind: str
    declared: Declared
    #: what the run header says: ``venv .mlops/envs/ab12 (python 3.11, 3 packages)``
    shown: str


class Environments:
    """Chooses, builds and enters the steps' environments for one ``--env``.

    ``state`` is the folder holding ``envs/`` (``.mlops``); ``say`` receives one
    line per environment built; ``uv`` is the uv program (None: ``python -m
    venv`` and pip); ``which`` finds podman and buildah (injectable for tests).
    """

    def __init__(
        self,
        state: Path,
        mode: str = "host",
        *,
        say: Say | None = None,
        uv: str | None | bool = True,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        if mode not in MODES:
            raise UsageError(f"--env {mode}: expected one of {', '.join(MODES)}")
        # Absolute: steps run in their code folders, not in this one.
        self.state = Path(os.path.abspath(state))
        self.mode = mode
        self.say = say or (lambda line: None)
        self.uv = find_uv() if uv is True else uv or None
        self.which = which

    def plan(self, job: Job) -> Plan:
        """Where ``job`` runs; UsageError when its environment cannot be had
        that way, ToolMissing when ``--env container`` lacks podman/buildah."""
        component = job.component
        assert component is not None
        if self.mode == "host":  # as before: the declaration is not even read
            return Plan("host", Declared(source="host"), _host(None, "host"))
        declared = declared_environment(component.environment, component.path.parent)
        if self.mode == "container":
            container.tools(declared, self.which)
            return Plan("container", declared, f"container {_image(declared)}")
        if self.mode in ("auto", "venv") and declared.conda_only:
            raise UsageError(_conda_only(job, declared))
        wanted = self.mode == "venv" and declared.conda_file is not None
        if self.mode != "host" and (declared.has_pip or wanted):
            folder = _shown(venv_folder(self.state, declared))
            return Plan("venv", declared, f"venv {folder} ({describe(declared)})")
        return Plan("host", declared, _host(declared, self.mode))

    def key(self, job: Job) -> str:
        """What of the environment goes into the step's cache key: the venv's
        or image's content hash, or (host) this Python's version as before."""
        plan = self.plan(job)
        if plan.kind == "venv":
            return f"venv:{plan.declared.venv_hash()}"
        if plan.kind == "container":
            return f"container:{plan.declared.image_hash()}"
        return f"{sys.version_info[:3]}"

    def header(self, jobs: list[Job]) -> list[str]:
        """``env: STEPS: WHERE`` lines, steps sharing an environment together."""
        grouped: dict[str, list[str]] = {}
        for job in jobs:
            if job.component is None:
                continue  # not a step of its own (the runner says why)
            grouped.setdefault(self.plan(job).shown, []).append(job.name)
        return [f"env: {', '.join(names)}: {shown}" for shown, names in grouped.items()]

    def wrap(
        self,
        job: Job,
        argv: list[str],
        env: Mapping[str, str],
        *,
        cwd: Path,
        interpreter: str,
    ) -> tuple[list[str], dict[str, str]]:
        """``argv`` and ``env`` that run the step in its environment, built
        first when needed. ``interpreter`` is the host Python the runner put
        in for ``python``: the venv's or the image's takes its place."""
        plan = self.plan(job)
        env = dict(env)
        if plan.kind == "venv":
            venv = ensure_venv(
                self.state,
                plan.declared,
                run_id=env.get("MLOPS_PIPELINE_RUN_ID", ""),
                say=self.say,
                uv=self.uv,
            )
            env.pop("PYTHONHOME", None)
            env["VIRTUAL_ENV"] = str(venv.folder)
            env["PATH"] = os.pathsep.join([str(venv.bin), env.get("PATH", "")])
            return [a.replace(interpreter, str(venv.python)) for a in argv], env
        if plan.kind == "container":
            tools = container.tools(plan.declared, self.which)
            image = container.ensure_image(plan.declared, tools, self.say, self.state)
            inner = [a.replace(interpreter, "python3") for a in argv]
            if inner[:2] == ["bash", "-c"]:
                # Images made from distribution packages have python3 only;
                # Azure ML's have python: a command saying python works in both.
                inner[2] = PYTHON_FALLBACK + inner[2]
            mounts = container.mounts_for(inner, cwd, self.state)
            wrapped = container.podman_argv(
                tools["podman"], image, inner, env, cwd=cwd, mounts=mounts
            )
            return wrapped, env
        return list(argv), env


def _image(declared: Declared) -> str:
    tag = container.image_tag(declared)
    if declared.conda_layer:
        return f"{tag} ({declared.image} + {_shown(declared.conda_file)})"
    return f"{tag} (built from {_shown(declared.build)})" if declared.build else tag


def _host(declared: Declared | None, mode: str) -> str:
    python = ".".join(map(str, sys.version_info[:3]))
    if declared is None or mode == "host":
        return f"host (python {python})"
    if declared.unresolved:
        return f"host (python {python}; {declared.source}: {declared.unresolved})"
    if declared.image or declared.build:
        return (
            f"host (python {python}; {declared.source} lists no pip packages, "
            "--env container runs its image)"
        )
    if declared.source != "none":
        return f"host (python {python}; {declared.source} lists no pip packages)"
    return f"host (python {python}; no environment declared)"


def _conda_only(job: Job, declared: Declared) -> str:
    where = _shown(declared.conda_file) if declared.conda_file else declared.source
    return (
        f"jobs.{job.name}: environment {declared.source}: conda-only packages "
        f"{', '.join(declared.conda_only)} cannot be installed in a venv: move "
        f"them under pip: in {where}, or run with --env container or --env host"
    )


def _shown(path: Path | None) -> str:
    try:
        return os.path.relpath(path) if path else ""
    except ValueError:
        return str(path)
