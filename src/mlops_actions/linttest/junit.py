"""Read pytest's JUnit XML report into counts, failures and the slowest tests.

Pure: takes the XML text and the project folder's path (only to make paths
relative); touches no file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from mlops_actions.linttest.findings import relative

#: a traceback frame as pytest prints it: ``tests/test_x.py:12: AssertionError``
_FRAME = re.compile(r"^(?P<path>[^\s:][^:\n]*\.py):(?P<line>\d+):", re.M)
_OUTSIDE = ("site-packages", "dist-packages")


@dataclass(frozen=True)
class TestFailure:
    """A failed or erroring test: ``kind`` is ``failure`` or ``error``;
    ``file`` is relative to the project folder, ``line`` 1-based."""

    __test__ = False  # not a pytest test class, despite the name

    test: str
    kind: str
    message: str
    file: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        """``file:line``, ``file`` or "" when unknown."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class TestTime:
    __test__ = False

    test: str
    seconds: float


@dataclass(frozen=True)
class TestReport:
    """What pytest reported. A test with a failure and a teardown error counts
    in both ``failed`` and ``errors``, as pytest's own summary does."""

    __test__ = False

    passed: int
    failed: int
    errors: int
    skipped: int
    seconds: float
    failures: tuple[TestFailure, ...] = ()
    slowest: tuple[TestTime, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.errors == 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    def describe(self) -> str:
        """``3 passed, 1 failed, 0 skipped in 0.42s`` (errors only when any)."""
        parts = [f"{self.passed} passed", f"{self.failed} failed"]
        if self.errors:
            parts.append(f"{self.errors} error{'s' if self.errors != 1 else ''}")
        parts.append(f"{self.skipped} skipped")
        return f"{', '.join(parts)} in {self.seconds:.2f}s"


def parse_junit(text: str | bytes, project_dir: str = ".") -> TestReport:
    """Parse a JUnit XML document (``<testsuites>`` or ``<testsuite>`` root,
    suites nested at any depth). Missing ``time`` counts as 0, missing names as
    "". Raises ``xml.etree.ElementTree.ParseError`` on malformed XML."""
    root = ET.fromstring(text)
    cases = list(root.iter("testcase"))
    passed = failed = errors = skipped = 0
    failures: list[TestFailure] = []
    times: list[TestTime] = []
    for case in cases:
        test = case_id(case)
        times.append(TestTime(test, _seconds(case.get("time"))))
        problems = [c for c in case if c.tag in ("failure", "error")]
        failed += sum(1 for c in problems if c.tag == "failure")
        errors += sum(1 for c in problems if c.tag == "error")
        if problems:
            failures += [_failure(test, case, p, project_dir) for p in problems]
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    slowest = sorted(times, key=lambda t: -t.seconds)[:5]
    return TestReport(
        passed=passed,
        failed=failed,
        errors=errors,
        skipped=skipped,
        seconds=_suite_seconds(root, times),
        failures=tuple(failures),
        slowest=tuple(slowest),
    )


def case_id(case: ET.Element) -> str:
    """``classname::name``, or whichever of the two is present."""
    classname, name = case.get("classname") or "", case.get("name") or ""
    return f"{classname}::{name}" if classname and name else classname or name


def failure_location(text: str, project_dir: str = ".") -> tuple[str, int] | None:
    """The last ``path.py:line:`` frame in a pytest traceback whose file lies
    inside the project (and not in an installed package), as a path relative
    to the project and a 1-based line; None when there is none."""
    found = None
    for match in _FRAME.finditer(text or ""):
        path = _inside(match["path"], project_dir)
        if path is not None:
            found = (path, int(match["line"]))
    return found


def _failure(
    test: str, case: ET.Element, problem: ET.Element, project_dir: str
) -> TestFailure:
    message = problem.get("message") or (problem.text or "").strip()
    first = message.strip().splitlines()[0] if message.strip() else problem.tag
    file: str | None = None
    line: int | None = None
    where = failure_location(problem.text or "", project_dir)
    if where is not None:
        file, line = where
    elif case.get("file"):
        file = _inside(case.get("file", ""), project_dir)
        number = case.get("line") or ""
        # pytest's xunit1 ``line`` attribute is 0-based
        line = int(number) + 1 if file and number.isdigit() else None
    return TestFailure(test, problem.tag, first, file, line)


def _inside(path: str, project_dir: str) -> str | None:
    path = relative(path, project_dir)
    parts = path.split("/")
    if parts[0] == ".." or any(p in _OUTSIDE for p in parts):
        return None
    return path


def _seconds(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _suite_seconds(root: ET.Element, times: list[TestTime]) -> float:
    # The suite's own time includes collection; without one, sum the tests.
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    timed = [s.get("time") for s in suites if s.get("time")]
    if timed:
        return sum(_seconds(t) for t in timed)
    if root.get("time"):
        return _seconds(root.get("time"))
    return sum(t.seconds for t in times)
