"""Run black, flake8 and pytest as subprocesses in the project folder.

Never through a shell: every argument reaches the tool as one argv entry.
pytest always runs with the project's interpreter (the tests import the
project's dependencies); black and flake8 run with it when it has them (the
project's pinned versions decide), else with the interpreter running mlops.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mlops_actions import process
from mlops_actions.errors import ToolMissing, UsageError
from mlops_actions.linttest.findings import (
    Finding,
    black_errors,
    parse_black,
    parse_flake8,
)
from mlops_actions.linttest.flake8_config import default_options, defaults_said
from mlops_actions.linttest.inputs import SETUP_PYTHON, Plan
from mlops_actions.linttest.junit import TestReport, parse_junit

# Prints the names among argv[1:] that the interpreter can import.
_PROBE = (
    "import importlib.util as u, sys; "
    "print(' '.join(m for m in sys.argv[1:] if u.find_spec(m)))"
)
_PYTEST_EXITS = {2: "interrupted", 3: "internal error", 4: "usage error"}
# The step's file commands are ours: black >= 24 writes its own outputs to
# $GITHUB_OUTPUT, and a project's tests must not set env or outputs of the job.
_FILE_COMMANDS = (
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_STATE",
)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. ``status`` is ``ok``, ``failed`` or ``skipped``;
    ``summary`` is the one line a user reads after ``name:``; ``problem`` says
    why a tool could not do its job (black exit 123, pytest exit 2-4)."""

    name: str
    status: str
    summary: str
    findings: tuple[Finding, ...] = ()
    diff: str = ""
    problem: str | None = None
    tests: TestReport | None = None
    command: tuple[str, ...] = ()
    seconds: float = 0.0


def choose_interpreters(plan: Plan) -> dict[str, str]:
    """Which interpreter runs each requested check; raises before anything
    runs when a tool is missing (ToolMissing for a linter, UsageError for
    pytest, which only the project's interpreter can run)."""
    has = installed(plan.python, plan.checks, plan.project_dir)
    chosen = {}
    for tool in plan.checks:
        if tool in has:
            chosen[tool] = plan.python
        elif tool == "pytest":
            raise UsageError(
                f"pytest is not installed for {plan.python}: "
                "add it to your project's test requirements"
            )
        elif mlops_has(tool):
            chosen[tool] = sys.executable
        else:
            # Neither the project's interpreter nor ours has the linter.
            raise ToolMissing(
                f"{tool} is not installed for {plan.python} nor for mlops: "
                f"pip install {tool}, or install mlops-actions[lint]"
            )
    return chosen


def mlops_has(tool: str) -> bool:
    """Whether the interpreter running mlops can import ``tool``."""
    return importlib.util.find_spec(tool) is not None


def installed(python: str, modules: Iterable[str], cwd: os.PathLike) -> set[str]:
    """The names among ``modules`` that ``python`` can import (one subprocess)."""
    try:
        proc = process.capture([python, "-c", _PROBE, *modules], cwd=cwd, timeout=60)
    except (process.CannotStart, process.TimedOut) as exc:
        raise UsageError(
            f"python: {python} does not run ({exc.message}): {SETUP_PYTHON}"
        ) from None
    if proc.returncode != 0:
        why = _last_line(proc.stderr) or f"exit {proc.returncode}"
        raise UsageError(f"python: {python} does not run ({why}): {SETUP_PYTHON}")
    return set(proc.stdout.split())


def run_black(plan: Plan, python: str) -> CheckResult:
    """``black --check --diff PATHS``: a finding per file it would reformat;
    exit 123 (a file it cannot parse) fails with black's message."""
    command = (python, "-m", "black", "--check", "--diff", *plan.paths)
    start = time.monotonic()
    proc = _run(command, plan)
    found = parse_black(proc.stderr, str(plan.project_dir))
    errors = black_errors(proc.stderr, str(plan.project_dir))
    count = f"{len(found)} file{'' if len(found) == 1 else 's'} would be reformatted"
    problem = None
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not found):
        why = "; ".join(e.message for e in errors) or _last_line(proc.stderr)
        problem = f"failed (exit {proc.returncode}): {why}"
    return CheckResult(
        name="black",
        status="ok" if proc.returncode == 0 else "failed",
        summary=f"{count}; {problem}" if found and problem else problem or count,
        findings=found + errors,
        diff=proc.stdout,
        problem=problem,
        command=command,
        seconds=time.monotonic() - start,
    )


def run_flake8(plan: Plan, python: str) -> CheckResult:
    """``flake8 --format=default PATHS``: a finding per reported line; with
    black's line length when the project has no flake8 configuration."""
    defaults = default_options(plan.project_dir)
    command = (
        *(python, "-m", "flake8", "--format=default"),
        *defaults,
        *plan.paths,
    )
    start = time.monotonic()
    proc = _run(command, plan)
    found = parse_flake8(proc.stdout, str(plan.project_dir))
    count = f"{len(found)} finding{'' if len(found) == 1 else 's'}"
    if defaults:
        count += f" ({defaults_said(plan.project_dir)})"
    problem = None
    if proc.returncode != 0 and not found:
        why = _last_line(proc.stderr) or _last_line(proc.stdout)
        problem = f"failed (exit {proc.returncode}): {why}"
    return CheckResult(
        name="flake8",
        status="ok" if proc.returncode == 0 else "failed",
        summary=problem or count,
        findings=found,
        problem=problem,
        command=command,
        seconds=time.monotonic() - start,
    )


def run_pytest(plan: Plan, log: Callable[[str], None]) -> CheckResult:
    """pytest with a JUnit report at ``plan.junit_path``, its output passed to
    ``log`` line by line as it comes. Exit 5 (no tests collected) raises
    UsageError: a run that tests nothing must not pass silently."""
    junit = plan.junit_path
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)  # never read a report left by an earlier run
    command = (
        plan.python,
        *("-m", "pytest", f"--junitxml={junit}", "-q", "-p", "no:cacheprovider"),
        *plan.pytest_args,
        *plan.paths,
    )
    start = time.monotonic()
    returncode, tail = _stream(command, plan, log)
    seconds = time.monotonic() - start
    if returncode == 5:
        raise UsageError(
            f"pytest collected no tests in {' '.join(plan.paths)}: "
            "check the paths and pytest-args inputs"
        )
    report, problem = None, None
    try:
        report = parse_junit(junit.read_bytes(), str(plan.project_dir))
    except (OSError, ET.ParseError) as exc:
        problem = f"no readable JUnit report at {junit} ({exc})"
    if returncode in _PYTEST_EXITS:
        why = _pytest_reason(tail) or "no output"
        problem = f"{_PYTEST_EXITS[returncode]} (exit {returncode}): {why}"
    elif returncode not in (0, 1):
        problem = f"failed (exit {returncode})"
    elif returncode == 1 and report is not None and report.ok:
        problem = "failed (exit 1) with no failing test in its report: see the log"
    ok = returncode == 0 and problem is None and report is not None and report.ok
    summary = report.describe() if report and report.total else ""
    if problem:
        summary = f"{summary}; {problem}" if summary else problem
    return CheckResult(
        name="pytest",
        status="ok" if ok else "failed",
        summary=summary,
        problem=problem,
        tests=report,
        command=command,
        seconds=seconds,
    )


def _environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FILE_COMMANDS}
    # Unbuffered so pytest's lines reach the log as they happen; UTF-8 so
    # black's emoji cannot fail on a runner with a C locale.
    return env | {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}


def _run(command: tuple[str, ...], plan: Plan) -> process.Captured:
    return process.capture(command, cwd=plan.project_dir, env=_environ())


def _stream(
    command: tuple[str, ...], plan: Plan, log: Callable[[str], None]
) -> tuple[int, list[str]]:
    done = process.run(
        command, cwd=plan.project_dir, env=_environ(), on_line=log, tail_lines=40
    )
    return done.returncode, list(done.tail)


def _pytest_reason(tail: list[str]) -> str:
    """pytest's own words for stopping: its ``ERROR:`` line (usage), its
    ``Interrupted:`` banner, else its last line."""
    lines = [line.strip(" =!") for line in tail if line.strip(" =!")]
    for marker in ("ERROR:", "Interrupted:"):
        hits = [line for line in lines if line.startswith(marker)]
        if hits:
            return hits[-1]
    return lines[-1] if lines else ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
