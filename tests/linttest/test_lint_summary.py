"""The step summary's markdown and the annotation paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_actions.linttest.findings import Finding
from mlops_actions.linttest.inputs import Plan
from mlops_actions.linttest.junit import TestFailure, TestReport, TestTime
from mlops_actions.linttest.report import cell, summary_markdown, workspace_path
from mlops_actions.linttest.run import LintTestResult
from mlops_actions.linttest.tools import CheckResult


def plan(lint_fails: bool = True) -> Plan:
    return Plan(
        project_dir=Path("/ws/proj"),
        paths=(".",),
        checks=("black", "flake8", "pytest"),
        pytest_args=(),
        python="/usr/bin/python3",
        junit_path=Path("/tmp/junit.xml"),
        lint_fails=lint_fails,
    )


TESTS = TestReport(
    passed=3,
    failed=1,
    errors=0,
    skipped=1,
    seconds=0.42,
    failures=(
        TestFailure(
            "tests.test_x::test_pipe[a|b]",
            "failure",
            "assert '<b>x</b>' == '*y*'",
            "tests/test_x.py",
            7,
        ),
    ),
    slowest=(TestTime("tests.test_x::test_pipe[a|b]", 0.3),),
)


def test_summary_of_a_failed_run():
    result = LintTestResult(
        plan(),
        (
            CheckResult("black", "ok", "0 files would be reformatted"),
            CheckResult(
                "flake8",
                "failed",
                "1 finding",
                findings=(
                    Finding("flake8", "calc.py", "F401 'os' imported but unused", 1, 1),
                ),
            ),
            CheckResult("pytest", "failed", TESTS.describe(), tests=TESTS),
        ),
    )
    assert summary_markdown(result) == (
        "### mlops lint-test: failed (lint, tests)\n"
        "\n"
        "| check | result | details |\n"
        "|---|---|---|\n"
        "| black | ok | 0 files would be reformatted |\n"
        "| flake8 | failed | 1 finding |\n"
        "| pytest | failed | 3 passed, 1 failed, 1 skipped in 0.42s |\n"
        "\n"
        "#### Lint findings\n"
        "\n"
        "| tool | where | finding |\n"
        "|---|---|---|\n"
        "| flake8 | calc.py:1:1 | F401 'os' imported but unused |\n"
        "\n"
        "#### Tests\n"
        "\n"
        "| passed | failed | errors | skipped | duration |\n"
        "|---|---|---|---|---|\n"
        "| 3 | 1 | 0 | 1 | 0.42s |\n"
        "\n"
        "#### Failures\n"
        "\n"
        "| test | message | file:line |\n"
        "|---|---|---|\n"
        "| tests.test\\_x::test\\_pipe\\[a\\|b\\] "
        "| assert '\\<b\\>x\\</b\\>' == '\\*y\\*' | tests/test\\_x.py:7 |\n"
        "\n"
        "#### Slowest tests\n"
        "\n"
        "| test | duration |\n"
        "|---|---|\n"
        "| tests.test\\_x::test\\_pipe\\[a\\|b\\] | 0.30s |\n"
    )


def test_summary_without_pytest_and_with_lint_not_enforced():
    result = LintTestResult(
        plan(lint_fails=False),
        (
            CheckResult("black", "failed", "1 file would be reformatted"),
            CheckResult("flake8", "ok", "0 findings"),
            CheckResult("pytest", "skipped", "skipped (not requested)"),
        ),
    )
    text = summary_markdown(result)
    assert text.startswith("### mlops lint-test: ok (lint findings not enforced)\n")
    assert text.endswith("| pytest | skipped | skipped (not requested) |\n")
    assert (result.lint_ok, result.tests_ok, result.ok) == (False, True, True)


@pytest.mark.parametrize(
    "value, shown",
    [
        ("a|b", "a\\|b"),
        ("line one\nline two\r\nthree", "line one<br>line two<br>three"),
        ("`code` and $x$ & <br>", "\\`code\\` and \\$x\\$ \\& \\<br\\>"),
        ("__init__ ~~x~~", "\\_\\_init\\_\\_ \\~\\~x\\~\\~"),
        ("  padded  ", "padded"),
        (3, "3"),
    ],
)
def test_cell_shows_text_literally_on_one_row(value, shown):
    assert cell(value) == shown


def test_many_rows_are_cut(monkeypatch):
    from mlops_actions.linttest import report

    monkeypatch.setattr(report, "MAX_ROWS", 2)
    lines = report.table(("n",), [(1,), (2,), (3,), (4,)])
    assert lines == [
        "| n |",
        "|---|",
        "| 1 |",
        "| 2 |",
        "",
        "… and 2 more (see the log)",
    ]


@pytest.mark.parametrize(
    "workspace, expected",
    [
        ("/ws", "proj/tests/test_x.py"),
        ("/ws/proj", "tests/test_x.py"),
        ("/other", "tests/test_x.py"),
    ],
)
def test_annotation_paths_are_relative_to_the_workspace(workspace, expected):
    assert workspace_path(Path("/ws/proj"), "tests/test_x.py", workspace) == expected
