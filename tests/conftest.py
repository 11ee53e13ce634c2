from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_actions.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def mlops(monkeypatch):
    """Run ``mlops ARGS`` in-process; returns exit code, stdout and stderr."""
    for name in (
        "MLOPS_BACKEND",
        "MLOPS_HOME",
        "MLFLOW_TRACKING_URI",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0)
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def cli_env() -> dict[str, str]:
    """This environment without the variables that point the CLI elsewhere
    (MLOPS_*, MLFLOW_*) or make it talk to GitHub Actions."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLF"))}
    env.pop("GITHUB_ACTIONS", None)
    return env


@pytest.fixture
def mlops_process(cli_env):
    """Run ``mlops ARGS`` as a process of its own, in ``cwd``, with ``cli_env``
    (or ``env``); returns the CompletedProcess, output as text."""

    def run(
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "mlops_actions", *args],
            cwd=cwd,
            env=cli_env if env is None else env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def toy(tmp_path, monkeypatch) -> Path:
    """A copy of the two-step toy pipeline, with the working directory beside it."""
    shutil.copytree(FIXTURES / "toy", tmp_path / "toy")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path / "toy" / "pipeline.yml"


@pytest.fixture
def reference(tmp_path) -> Path:
    """A copy of the reference pipeline and its environments, safe to edit."""
    for folder in ("pipelines", "environments"):
        shutil.copytree(
            ROOT / folder,
            tmp_path / folder,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    # evaluate's additional_includes names ../../../src/mlops_actions
    (tmp_path / "src").symlink_to(ROOT / "src")
    return tmp_path / "pipelines" / "pipeline.yml"
