"""``mlops lint-test``: black, flake8 and pytest with annotations and a summary."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import click

from mlops_actions.cli import options
from mlops_actions.errors import CheckFailed

if TYPE_CHECKING:
    from mlops_actions.linttest.inputs import Plan
    from mlops_actions.linttest.run import LintTestResult
    from mlops_actions.linttest.tools import CheckResult


@click.command("lint-test")
@click.option(
    "--path",
    multiple=True,
    metavar="PATH",
    default=(".",),
    show_default=True,
    show_envvar=True,
    help="File or folder to check and test, relative to --project-dir "
    "(repeatable; the env var takes several, space separated).",
)
@click.option(
    "--checks",
    default="black,flake8,pytest",
    show_default=True,
    show_envvar=True,
    help="Which checks to run, comma or space separated.",
)
@click.option(
    "--pytest-args",
    default="",
    show_envvar=True,
    help='Extra pytest arguments, split like a shell would (-k "a or b") '
    "but never run through one.",
)
@click.option(
    "--lint-fails/--no-lint-fails",
    default=True,
    show_default=True,
    show_envvar=True,
    help="Fail on black or flake8 findings, or only report them.",
)
@click.option(
    "--python",
    metavar="PATH",
    show_envvar=True,
    help="The project's interpreter, which runs pytest (and black/flake8 when "
    "it has them): a path or a name on PATH. Default: python3, else python.",
)
@click.option(
    "--project-dir",
    metavar="DIR",
    default=".",
    show_default=True,
    show_envvar=True,
    help="The project's folder: every tool runs there.",
)
@click.option(
    "--junit-path",
    metavar="PATH",
    show_envvar=True,
    help="Where pytest writes its JUnit XML, relative to --project-dir. Default: "
    "$RUNNER_TEMP/mlops-lint-test/junit.xml, else .mlops/junit.xml.",
)
@options.json_flag("Print the result as JSON (the tools' output goes to stderr).")
def lint_test(
    path: tuple[str, ...],
    checks: str,
    pytest_args: str,
    lint_fails: bool,
    python: str | None,
    project_dir: str,
    junit_path: str | None,
    as_json: bool,
) -> None:
    """Run black --check, flake8 and pytest on a project.

    Inside GitHub Actions every finding and failing test becomes an annotation
    on its file and line, the results go to the job summary, and the step sets
    the outputs lint-ok, tests-ok and junit-path. Exits 0 when every requested
    check passes, 1 when tests fail or (with --lint-fails) black or flake8
    find something, 2 on a bad input or when pytest collects no tests, 4 when
    black or flake8 is installed neither for --python nor for mlops.
    """
    from mlops_actions.linttest.inputs import make_plan
    from mlops_actions.linttest.run import lint_test as run_checks

    echo = partial(click.echo, err=as_json)
    plan = make_plan(
        project_dir=project_dir,
        paths=path,
        checks=checks,
        pytest_args=pytest_args,
        python=python,
        junit_path=junit_path,
        lint_fails=lint_fails,
    )
    result = run_checks(plan, log=echo, on_check=partial(_show_check, plan, echo))
    _to_actions(result)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    if not result.ok:
        raise CheckFailed(f"lint-test: {result.verdict}")
    echo(f"lint-test: {result.verdict}")


def _show_check(plan: Plan, echo: Callable[[str], None], check: CheckResult) -> None:
    """A check's log, its annotations (inside Actions) and its result line."""
    from mlops_actions import gha
    from mlops_actions.linttest.report import workspace_path

    def where(file: str) -> str:
        return workspace_path(
            plan.project_dir, file, os.environ.get("GITHUB_WORKSPACE")
        )

    if check.diff:
        with gha.group(f"black: {check.summary}"):
            echo(check.diff.rstrip("\n"))
    for finding in check.findings:
        echo(str(finding))
        message = finding.message
        if finding.tool == "black":  # black's message names the file
            message = message.replace(finding.file, where(finding.file), 1)
        gha.error(
            message,
            file=where(finding.file),
            line=finding.line,
            col=finding.col,
            title=finding.tool,
        )
    for failure in check.tests.failures if check.tests else ():
        verb = "failed" if failure.kind == "failure" else "errored"
        # No "::" in the message: act reads the last "::" of a command line as
        # the separator (GitHub reads the first), which would cut the title.
        test = failure.test.replace("::", ".")
        gha.error(
            f"{test} {verb}: {failure.message}",
            file=where(failure.file) if failure.file else None,
            line=failure.line,
            title="pytest",
        )
    if check.problem and not check.findings:
        gha.error(check.problem, title=check.name)
    echo(f"{check.name}: {check.summary}")


def _to_actions(result: LintTestResult) -> None:
    """Outputs and the job summary, when inside GitHub Actions."""
    from mlops_actions import gha
    from mlops_actions.linttest.report import summary_markdown

    ran_pytest = result.check("pytest").status != "skipped"
    gha.set_outputs(
        {
            "lint-ok": result.lint_ok,
            "tests-ok": result.tests_ok,
            "junit-path": str(result.plan.junit_path) if ran_pytest else "",
        }
    )
    gha.append_summary(summary_markdown(result))
