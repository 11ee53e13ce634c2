"""The job summary of a lint-test run as markdown, and annotation paths. Pure."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlops_actions.linttest.junit import TestReport
from mlops_actions.linttest.run import LintTestResult

#: rows per table; the runner refuses a step summary over 1 MiB
MAX_ROWS = 50
# Punctuation that inside a cell could start emphasis, code, a link, HTML, an
# entity or math, or end the cell; a backslash shows it literally.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&$])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def cell(value: object) -> str:
    """``value`` as the text of one table cell: markdown shown literally, line
    breaks as ``<br>``, so no value can end its cell or row."""
    text = _MARKDOWN.sub(r"\\\1", str(value).strip())
    return _LINE_BREAK.sub("<br>", text)


def row(*values: object) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


def table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    lines = [row(*header), "|" + "---|" * len(header)]
    lines += [row(*r) for r in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines += ["", f"… and {len(rows) - MAX_ROWS} more (see the log)"]
    return lines


def summary_markdown(result: LintTestResult) -> str:
    """Header, checks table, lint findings, test counts, failures and the
    slowest tests; sections without content are left out."""
    lines = [f"### mlops lint-test: {result.verdict}", ""]
    lines += table(
        ("check", "result", "details"),
        [(c.name, c.status, c.summary) for c in result.checks],
    )
    findings = [f for c in result.checks for f in c.findings]
    if findings:
        lines += ["", "#### Lint findings", ""]
        lines += table(
            ("tool", "where", "finding"),
            [(f.tool, _where(f.file, f.line, f.col), f.message) for f in findings],
        )
    tests = result.check("pytest").tests
    if tests is None:
        return "\n".join(lines) + "\n"
    lines += ["", "#### Tests", ""]
    lines += table(
        ("passed", "failed", "errors", "skipped", "duration"),
        [(tests.passed, tests.failed, tests.errors, tests.skipped, _secs(tests))],
    )
    if tests.failures:
        lines += ["", "#### Failures", ""]
        lines += table(
            ("test", "message", "file:line"),
            [(f.test, _said(f.kind, f.message), f.location) for f in tests.failures],
        )
    if tests.slowest:
        lines += ["", "#### Slowest tests", ""]
        lines += table(
            ("test", "duration"), [(t.test, f"{t.seconds:.2f}s") for t in tests.slowest]
        )
    return "\n".join(lines) + "\n"


def workspace_path(project_dir: Path, file: str, workspace: str | None) -> str:
    """A project file's path as an annotation needs it: relative to the
    repository checkout (``$GITHUB_WORKSPACE``, else the working directory),
    or relative to the project when it lies outside that."""
    base = os.path.abspath(workspace or os.getcwd())
    full = os.path.abspath(os.path.join(project_dir, file))
    try:
        inside = os.path.commonpath([base, full]) == base
    except ValueError:  # another drive on Windows
        inside = False
    path = os.path.relpath(full, base) if inside else file
    return path.replace(os.sep, "/")


def _where(file: str, line: int | None, col: int | None) -> str:
    return ":".join(str(p) for p in (file, line, col) if p)


def _said(kind: str, message: str) -> str:
    return f"error: {message}" if kind == "error" else message


def _secs(tests: TestReport) -> str:
    return f"{tests.seconds:.2f}s"
