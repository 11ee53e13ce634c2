"""Run the requested checks of a :class:`Plan` and judge the outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlops_actions.linttest.inputs import CHECKS, Plan
from mlops_actions.linttest.tools import (
    CheckResult,
    choose_interpreters,
    run_black,
    run_flake8,
    run_pytest,
)

LINTERS = ("black", "flake8")


@dataclass(frozen=True)
class LintTestResult:
    """All three checks, in order, those not requested with status
    ``skipped``. A check not requested counts as ok."""

    plan: Plan
    checks: tuple[CheckResult, ...]

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    @property
    def lint_ok(self) -> bool:
        return all(self.check(n).status != "failed" for n in LINTERS)

    @property
    def tests_ok(self) -> bool:
        return self.check("pytest").status != "failed"

    @property
    def failed_parts(self) -> tuple[str, ...]:
        """What makes the command fail: ``lint`` (only with lint-fails) and
        ``tests``."""
        lint = not self.lint_ok and self.plan.lint_fails
        return ("lint",) * lint + ("tests",) * (not self.tests_ok)

    @property
    def ok(self) -> bool:
        return not self.failed_parts

    @property
    def verdict(self) -> str:
        """``ok``, ``ok (lint findings not enforced)`` or ``failed (lint, tests)``."""
        if self.failed_parts:
            return f"failed ({', '.join(self.failed_parts)})"
        return "ok" if self.lint_ok else "ok (lint findings not enforced)"

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "schema": "mlops-lint-test/v1",
            "ok": self.ok,
            "lint_ok": self.lint_ok,
            "tests_ok": self.tests_ok,
            "lint_fails": plan.lint_fails,
            "project_dir": str(plan.project_dir),
            "paths": list(plan.paths),
            "python": plan.python,
            "junit_path": str(plan.junit_path),
            "checks": {c.name: _check_json(c) for c in self.checks},
        }


def lint_test(
    plan: Plan,
    *,
    log: Callable[[str], None] = lambda line: None,
    on_check: Callable[[CheckResult], None] = lambda check: None,
) -> LintTestResult:
    """Run black, then flake8, then pytest (those in ``plan.checks``).

    Every missing tool is found before the first one runs. pytest's output
    goes to ``log`` as it comes; ``on_check`` gets each check as it ends, so a
    caller can show black's diff before the tests start. Raises UsageError
    (pytest collected no tests, bad interpreter) or ToolMissing.
    """
    pythons = choose_interpreters(plan)
    results = []
    for name in CHECKS:
        if name not in plan.checks:
            result = CheckResult(name, "skipped", "skipped (not requested)")
        elif name == "black":
            result = run_black(plan, pythons[name])
        elif name == "flake8":
            result = run_flake8(plan, pythons[name])
        else:
            result = run_pytest(plan, log)
        on_check(result)
        results.append(result)
    return LintTestResult(plan, tuple(results))


def _check_json(check: CheckResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": check.status,
        "summary": check.summary,
        "problem": check.problem,
        "seconds": round(check.seconds, 3),
        "command": list(check.command),
        "findings": [f.__dict__ for f in check.findings],
    }
    if check.tests is not None:
        tests = check.tests
        data["tests"] = {
            "passed": tests.passed,
            "failed": tests.failed,
            "errors": tests.errors,
            "skipped": tests.skipped,
            "seconds": tests.seconds,
            "failures": [f.__dict__ | {"location": f.location} for f in tests.failures],
            "slowest": [t.__dict__ for t in tests.slowest],
        }
    return data
