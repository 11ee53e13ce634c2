"""Inputs turned into a plan: the pure parts, and the JUnit path's default."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.linttest.inputs import junit_file, parse_checks, parse_pytest_args


@pytest.mark.parametrize(
    "text, checks",
    [
        ("black,flake8,pytest", ("black", "flake8", "pytest")),
        ("pytest, Black", ("black", "pytest")),
        (" flake8\npytest ", ("flake8", "pytest")),
        ("pytest,pytest", ("pytest",)),
    ],
)
def test_checks_are_a_comma_or_space_list_run_in_order(text, checks):
    assert parse_checks(text) == checks


def test_no_check_is_refused():
    with pytest.raises(UsageError, match=r"^checks: no check named: use one or"):
        parse_checks(" , ")


def test_pytest_args_split_like_a_shell_without_one():
    assert parse_pytest_args('-k "a or b" -x $(id) `id` *.py ; rm') == (
        "-k",
        "a or b",
        "-x",
        "$(id)",
        "`id`",
        "*.py",
        ";",
        "rm",
    )
    assert parse_pytest_args("") == ()


def test_junit_default_follows_runner_temp(tmp_path):
    project = tmp_path / "p"
    assert junit_file(None, project, {}) == project / ".mlops" / "junit.xml"
    assert junit_file(None, project, {"RUNNER_TEMP": str(tmp_path / "t")}) == (
        tmp_path / "t" / "mlops-lint-test" / "junit.xml"
    )
    assert junit_file("out/j.xml", project, {"RUNNER_TEMP": "/x"}) == (
        project / "out" / "j.xml"
    )
    assert junit_file("/abs/j.xml", project, {}) == Path("/abs/j.xml")
