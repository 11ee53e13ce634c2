"""The action's inputs, checked before any tool runs, as one :class:`Plan`.

Every refusal is a :class:`~mlops_actions.errors.UsageError` whose message
starts with the action input's name (``paths``, ``checks``, ``pytest-args``,
``python``, ``project-dir``), because the inputs reach the CLI only through
environment variables and the user knows them by those names.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_actions.errors import UsageError

#: the checks, in the order they run
CHECKS = ("black", "flake8", "pytest")
SETUP_PYTHON = "set up Python first, e.g. actions/setup-python"


@dataclass(frozen=True)
class Plan:
    """What to run. ``project_dir``, ``python`` and ``junit_path`` are
    absolute; ``paths`` are as given, relative to ``project_dir``."""

    project_dir: Path
    paths: tuple[str, ...]
    checks: tuple[str, ...]
    pytest_args: tuple[str, ...]
    python: str
    junit_path: Path
    lint_fails: bool


def make_plan(
    *,
    project_dir: str,
    paths: Iterable[str],
    checks: str,
    pytest_args: str,
    python: str | None,
    junit_path: str | None,
    lint_fails: bool,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """Check every input before anything runs: project-dir first (paths are
    looked up in it), then paths, checks, pytest-args, python; raise
    UsageError naming the first bad one."""
    env = os.environ if environ is None else environ
    folder = project_folder(project_dir)
    return Plan(
        project_dir=folder,
        paths=check_paths(paths, folder),
        checks=parse_checks(checks),
        pytest_args=parse_pytest_args(pytest_args),
        python=find_python(python, folder, env),
        junit_path=junit_file(junit_path, folder, env),
        lint_fails=lint_fails,
    )


def project_folder(project_dir: str) -> Path:
    folder = Path(project_dir or ".")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(
            f"project-dir: {project_dir!r} {what}: pass the folder of the project "
            "to check (relative to the working directory)"
        )
    return Path(os.path.abspath(folder))


def check_paths(paths: Iterable[str], folder: Path) -> tuple[str, ...]:
    """Paths are names, never options: a value starting with ``-`` would reach
    black, flake8 and pytest as a flag."""
    chosen = tuple(p for p in paths if p) or (".",)
    for path in chosen:
        if path.startswith("-"):
            raise UsageError(
                f"paths: {path!r} looks like an option: pass a file or folder"
            )
        if not (folder / path).exists():
            raise UsageError(
                f"paths: {path!r} does not exist in {folder}: "
                "pass files or folders of the project"
            )
    return chosen


def parse_checks(checks: str) -> tuple[str, ...]:
    names = [n.lower() for n in re.split(r"[\s,]+", checks or "") if n]
    unknown = [n for n in names if n not in CHECKS]
    if unknown or not names:
        what = f"unknown check {unknown[0]!r}" if unknown else "no check named"
        raise UsageError(
            f"checks: {what}: use one or more of {', '.join(CHECKS)} "
            "(comma separated)"
        )
    return tuple(c for c in CHECKS if c in names)


def parse_pytest_args(text: str) -> tuple[str, ...]:
    """Split like a POSIX shell would, but run nothing: ``$(...)`` and
    ``*`` stay literal because no shell ever sees them."""
    try:
        args = tuple(shlex.split(text or ""))
    except ValueError as exc:
        raise UsageError(
            f"pytest-args: cannot split {text!r} ({exc}): "
            'balance the quotes, e.g. -k "add or divide"'
        ) from None
    for arg in args:
        if arg.startswith(("--junitxml", "--junit-xml")):
            raise UsageError(
                f"pytest-args: {arg!r} would move the JUnit report we read: "
                "use the junit-path input instead"
            )
    return args


def find_python(python: str | None, folder: Path, env: Mapping[str, str]) -> str:
    """The project's interpreter: a path (relative ones against the project),
    a command name looked up on PATH, or by default python3, then python."""
    search = env.get("PATH")
    if not python:
        found = shutil.which("python3", path=search) or shutil.which(
            "python", path=search
        )
        if not found:
            raise UsageError(f"python: no python3 or python on PATH: {SETUP_PYTHON}")
        return os.path.abspath(found)
    if "/" not in python and os.sep not in python:
        found = shutil.which(python, path=search)
        if not found:
            raise UsageError(f"python: {python!r} is not on PATH: {SETUP_PYTHON}")
        return os.path.abspath(found)
    path = folder / python  # an absolute ``python`` replaces ``folder``
    if not path.is_file() or not os.access(path, os.X_OK):
        what = "is not executable" if path.is_file() else "does not exist"
        raise UsageError(f"python: {python!r} {what}: {SETUP_PYTHON}")
    # abspath, not resolve(): a venv's python is a symlink that must stay one
    return os.path.abspath(path)


def junit_file(junit_path: str | None, folder: Path, env: Mapping[str, str]) -> Path:
    """The report's absolute path: as given (relative to the project), else
    under ``$RUNNER_TEMP`` inside Actions, else ``.mlops/junit.xml``."""
    if junit_path:
        return Path(os.path.abspath(folder / junit_path))
    if env.get("RUNNER_TEMP"):
        return Path(env["RUNNER_TEMP"]).absolute() / "mlops-lint-test" / "junit.xml"
    return folder / ".mlops" / "junit.xml"
