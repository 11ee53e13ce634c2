"""`mlops lint-test` on copies of the fixture projects, in and out of Actions.

The real black, flake8 and pytest run, with this interpreter as the project's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECTS = Path(__file__).resolve().parents[1] / "fixtures" / "projects"
PY = sys.executable
SETUP = "set up Python first, e.g. actions/setup-python"
PYTEST_LINE = r"pytest: {} in \d+\.\d\ds"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("RUNNER_TEMP", "GITHUB_WORKSPACE", "GITHUB_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("MLOPS_LINT_TEST_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def project(tmp_path):
    """Copy a fixture project into tmp_path; returns its folder."""

    def copy(name: str) -> Path:
        ignore = shutil.ignore_patterns("__pycache__", ".mlops")
        return Path(shutil.copytree(PROJECTS / name, tmp_path / name, ignore=ignore))

    return copy


@dataclass(frozen=True)
class Runner:
    output: Path
    summary: Path
    temp: Path
    workspace: Path

    def outputs(self) -> list[tuple[str, str]]:
        """$GITHUB_OUTPUT read back: the heredoc form gha.set_outputs writes."""
        found = re.findall(
            r"^([\w-]+)<<(\S+)\n(.*?)\n\2$", self.output.read_text(), re.M | re.S
        )
        return [(name, value) for name, _, value in found]


@pytest.fixture
def actions(mlops, tmp_path, monkeypatch) -> Runner:
    """A fake GitHub Actions step whose workspace is tmp_path."""
    runner = Runner(
        tmp_path / "github_output",
        tmp_path / "step_summary.md",
        tmp_path / "runner_temp",
        tmp_path,
    )
    runner.temp.mkdir()
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": runner.output,
        "GITHUB_STEP_SUMMARY": runner.summary,
        "RUNNER_TEMP": runner.temp,
        "GITHUB_WORKSPACE": runner.workspace,
    }.items():
        monkeypatch.setenv(name, str(value))
    return runner


def fake_python(folder: Path) -> Path:
    """An "interpreter" that runs but can import nothing."""
    path = folder / "bin" / "python"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def annotations(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("::error")]


def said(out: str) -> list[str]:
    """The lines a person reads: workflow commands left out."""
    return [line for line in out.splitlines() if not line.startswith("::")]


def test_clean_project_passes_outside_actions(mlops, project):
    clean = project("clean")
    result = mlops("lint-test", "--project-dir", str(clean), "--python", PY)
    assert (result.code, result.err) == (0, "")
    lines = result.out.splitlines()
    assert lines[:2] == ["black: 0 files would be reformatted", "flake8: 0 findings"]
    assert re.fullmatch(PYTEST_LINE.format("3 passed, 0 failed, 0 skipped"), lines[-2])
    assert lines[-1] == "lint-test: ok"
    assert not [line for line in lines if line.startswith("::")]
    junit = ET.parse(clean / ".mlops" / "junit.xml")
    assert len(junit.findall(".//testcase")) == 3


def test_broken_project_in_actions(mlops, project, actions):
    broken = project("broken")
    result = mlops("lint-test", "--project-dir", str(broken), "--python", PY)
    assert result.code == 1
    assert result.err == "error: lint-test: failed (lint, tests)\n"
    assert annotations(result.out) == [
        "::error file=broken/calc.py,title=black::would reformat broken/calc.py",
        "::error file=broken/calc.py,line=1,col=1,title=flake8::"
        "F401 'os' imported but unused",
        "::error file=broken/tests/test_calc.py,line=13,title=pytest::"
        "tests.test_calc.test_divide failed: assert 0.5 == 0.25",
        "::error::lint-test: failed (lint, tests)",
    ]
    lines = result.out.splitlines()
    group = lines.index("::group::black: 1 file would be reformatted")
    assert '+UNITS = "metric"' in lines[group : lines.index("::endgroup::")]
    for line in (
        "black: 1 file would be reformatted",
        "calc.py:1:1: F401 'os' imported but unused",
        "flake8: 1 finding",
    ):
        assert line in lines
    assert re.fullmatch(
        PYTEST_LINE.format("2 passed, 1 failed, 0 skipped"), said(result.out)[-1]
    )

    junit = actions.temp / "mlops-lint-test" / "junit.xml"
    # black's own outputs (it writes some when it sees $GITHUB_OUTPUT) stay out
    assert actions.outputs() == [
        ("lint-ok", "false"),
        ("tests-ok", "false"),
        ("junit-path", str(junit)),
    ]
    assert ET.parse(junit).find(".//testcase[@name='test_divide']/failure") is not None
    summary = actions.summary.read_text()
    assert summary.startswith("### mlops lint-test: failed (lint, tests)\n")
    assert "| flake8 | failed | 1 finding |" in summary
    assert "| flake8 | calc.py:1:1 | F401 'os' imported but unused |" in summary
    assert "| 2 | 1 | 0 | 0 |" in summary
    assert (
        "| tests.test\\_calc::test\\_divide | assert 0.5 == 0.25 "
        "| tests/test\\_calc.py:13 |"
    ) in summary


def test_lint_findings_reported_only(mlops, project, actions, monkeypatch):
    monkeypatch.setenv("MLOPS_LINT_TEST_LINT_FAILS", "false")
    broken = project("broken")
    result = mlops(
        "lint-test",
        *("--project-dir", str(broken), "--python", PY, "--checks", "black,flake8"),
    )
    assert (result.code, result.err) == (0, "")
    assert len(annotations(result.out)) == 2
    lines = result.out.splitlines()
    assert lines[-2:] == [
        "pytest: skipped (not requested)",
        "lint-test: ok (lint findings not enforced)",
    ]
    assert actions.outputs() == [
        ("lint-ok", "false"),
        ("tests-ok", "true"),
        ("junit-path", ""),
    ]
    assert (
        "| pytest | skipped | skipped (not requested) |" in actions.summary.read_text()
    )


def test_inputs_from_env_reach_pytest_verbatim(mlops, project, monkeypatch):
    broken = project("broken")
    for option, value in {
        "PROJECT_DIR": str(broken),
        "PATH": "calc.py  tests",
        "CHECKS": "pytest",
        "PYTEST_ARGS": '-k "add or no_such_test"',
        "PYTHON": PY,
        "JUNIT_PATH": "reports/junit.xml",
    }.items():
        monkeypatch.setenv(f"MLOPS_LINT_TEST_{option}", value)
    result = mlops("lint-test")
    assert (result.code, result.err) == (0, "")
    assert re.fullmatch(
        PYTEST_LINE.format("2 passed, 0 failed, 0 skipped"),
        result.out.splitlines()[-2],
    )
    junit = ET.parse(broken / "reports" / "junit.xml")
    assert [c.get("name") for c in junit.iter("testcase")] == [
        "test_add",
        "test_add_negative",
    ]


def test_hostile_pytest_args_run_nothing(mlops, project, tmp_path):
    clean, marker = project("clean"), tmp_path / "pwned"
    result = mlops(
        "lint-test",
        *("--project-dir", str(clean), "--python", PY, "--checks", "pytest"),
        *("--pytest-args", f'-k "$(touch {marker}) or `touch {marker}`"'),
    )
    assert result.code == 1
    assert result.err == "error: lint-test: failed (tests)\n"
    line = said(result.out)[-1]
    assert line.startswith("pytest: usage error (exit 4): ERROR: ")
    assert f"$(touch {marker})" in line
    assert not marker.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--path", "calc.py", "--path", "nope.py"],
            "paths: 'nope.py' does not exist in {clean}: "
            "pass files or folders of the project",
        ),
        (
            ["--path", "--help"],
            "paths: '--help' looks like an option: pass a file or folder",
        ),
        (
            ["--checks", "black, mypy"],
            "checks: unknown check 'mypy': use one or more of black, flake8, "
            "pytest (comma separated)",
        ),
        (
            ["--pytest-args", '-k "add or divide'],
            "pytest-args: cannot split '-k \"add or divide' (No closing quotation): "
            'balance the quotes, e.g. -k "add or divide"',
        ),
        (
            ["--pytest-args", "-x --junitxml=other.xml"],
            "pytest-args: '--junitxml=other.xml' would move the JUnit report we "
            "read: use the junit-path input instead",
        ),
        (
            ["--python", "/nonexistent/python3"],
            f"python: '/nonexistent/python3' does not exist: {SETUP}",
        ),
        (
            ["--python", "no-such-python-3.99"],
            f"python: 'no-such-python-3.99' is not on PATH: {SETUP}",
        ),
        (
            ["--project-dir", "/nonexistent/project"],
            "project-dir: '/nonexistent/project' does not exist: pass the folder "
            "of the project to check (relative to the working directory)",
        ),
    ],
    ids=lambda v: v[-1] if isinstance(v, list) else None,
)
def test_bad_input_is_one_line_exit_2(mlops, args, message):
    clean = PROJECTS / "clean"  # nothing runs: read-only use is safe
    result = mlops("lint-test", "--project-dir", str(clean), "--python", PY, *args)
    assert (result.code, result.out) == (2, "")
    assert result.err == f"error: {message.format(clean=clean)}\n"


def test_path_option_from_env_is_refused_too(mlops, monkeypatch):
    monkeypatch.setenv("MLOPS_LINT_TEST_PATH", "tests --collect-only")
    result = mlops("lint-test", "--project-dir", str(PROJECTS / "clean"))
    assert result.code == 2
    assert result.err == (
        "error: paths: '--collect-only' looks like an option: pass a file or folder\n"
    )


def test_no_python_on_path(mlops, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = mlops("lint-test", "--project-dir", str(PROJECTS / "clean"))
    assert (result.code, result.err) == (
        2,
        f"error: python: no python3 or python on PATH: {SETUP}\n",
    )


def test_python_not_executable(mlops, tmp_path):
    python = tmp_path / "python"
    python.write_text("")
    result = mlops(
        "lint-test", "--project-dir", str(PROJECTS / "clean"), "--python", str(python)
    )
    assert (result.code, result.err) == (
        2,
        f"error: python: '{python}' is not executable: {SETUP}\n",
    )


@pytest.mark.parametrize(
    "args, where",
    [
        (["--pytest-args", "-k nothing_matches"], "."),
        (["--path", "calc.py"], "calc.py"),
    ],
)
def test_no_tests_collected_is_exit_2(mlops, project, args, where):
    clean = project("clean")
    result = mlops(
        "lint-test",
        *("--project-dir", str(clean), "--python", PY, "--checks", "pytest", *args),
    )
    assert result.code == 2
    assert result.err == (
        f"error: pytest collected no tests in {where}: "
        "check the paths and pytest-args inputs\n"
    )


def test_pytest_missing_for_the_project_python(mlops, project, tmp_path):
    python = fake_python(tmp_path)
    result = mlops(
        "lint-test", "--project-dir", str(project("clean")), "--python", str(python)
    )
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"error: pytest is not installed for {python}: "
        "add it to your project's test requirements\n"
    )


def test_linters_fall_back_to_mlops_python(mlops, project, tmp_path):
    python = fake_python(tmp_path)
    result = mlops(
        "lint-test",
        *("--project-dir", str(project("clean")), "--python", str(python)),
        *("--checks", "black flake8", "--json"),
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["ok"], report["lint_ok"], report["tests_ok"]) == (True, True, True)
    checks = report["checks"]
    assert [c["command"][:3] for c in checks.values()] == [
        [PY, "-m", "black"],
        [PY, "-m", "flake8"],
        [],
    ]
    assert checks["pytest"]["status"] == "skipped"
    assert result.err.splitlines()[-1] == "lint-test: ok"


def test_linter_missing_everywhere_is_exit_4(mlops, project, tmp_path, monkeypatch):
    from mlops_actions.linttest import tools

    monkeypatch.setattr(tools, "mlops_has", lambda tool: False)
    python = fake_python(tmp_path)
    result = mlops(
        "lint-test",
        *("--project-dir", str(project("clean")), "--python", str(python)),
        *("--checks", "flake8"),
    )
    assert (result.code, result.out) == (4, "")
    assert result.err == (
        f"error: flake8 is not installed for {python} nor for mlops: "
        "pip install flake8, or install mlops-actions[lint]\n"
    )


def test_black_cannot_parse_is_a_lint_failure(mlops, project, actions):
    clean = project("clean")
    (clean / "bad.py").write_text("def f(:\n")
    result = mlops(
        "lint-test",
        *("--project-dir", str(clean), "--python", PY, "--checks", "black"),
    )
    assert result.code == 1
    found = annotations(result.out)
    assert found[0].startswith("::error file=clean/bad.py,")
    assert "title=black::cannot " in found[0]
    assert said(result.out)[-3].startswith("black: failed (exit 123): cannot")
    assert actions.outputs()[0] == ("lint-ok", "false")


def test_collection_error_is_a_test_failure(mlops, project, actions):
    clean = project("clean")
    (clean / "tests" / "test_import.py").write_text("import no_such_module  # noqa\n")
    result = mlops(
        "lint-test",
        *("--project-dir", str(clean), "--python", PY, "--checks", "pytest"),
    )
    assert result.code == 1
    assert annotations(result.out)[:2] == [
        "::error file=clean/tests/test_import.py,line=1,title=pytest::"
        "tests.test_import errored: collection failure",
        "::error title=pytest::interrupted (exit 2): "
        "Interrupted: 1 error during collection",
    ]
    assert re.fullmatch(
        PYTEST_LINE.format("0 passed, 0 failed, 1 error, 0 skipped")
        + "; interrupted \\(exit 2\\): Interrupted: 1 error during collection",
        said(result.out)[-1],
    )
    assert actions.outputs()[1] == ("tests-ok", "false")
