"""Hostile action inputs under act: nothing executes, values arrive verbatim."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from .act import ROOT, run_act

pytestmark = pytest.mark.e2e

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0"


def repo_copy(dest: Path) -> Path:
    """The files git would check out (tracked or new, not ignored)."""
    names = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy"]):
        subprocess.run([*git, *args], cwd=dest, check=True)
    return dest


def step(step_id: str, uses: str, inputs: dict[str, str]) -> dict:
    return {"id": step_id, "continue-on-error": True, "uses": uses, "with": inputs}


@pytest.fixture(scope="module")
def hostile(act_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("injection")
    marker = Path("/tmp") / f"mlops-pwned-{uuid.uuid4().hex}"
    values = {
        "quote": f'a"; touch {marker}; echo "',
        "unspaced": f'x";touch${{IFS}}{marker};echo"',
        "subshell": f"$(touch {marker})",
        "backtick": f"`touch {marker}`",
        "newline": "black\n::set-output name=injected::yes",
        "option": "--help",
    }
    project = {"project-dir": "tests/fixtures/projects/clean"}
    steps = [
        {"uses": CHECKOUT.split(" #")[0], "with": {"persist-credentials": False}},
        {"uses": SETUP_PYTHON.split(" #")[0], "with": {"python-version": "3.11"}},
        step(
            "paths-quote", "./actions/lint-test", {**project, "paths": values["quote"]}
        ),
        step(
            "paths-unspaced",
            "./actions/lint-test",
            {**project, "paths": values["unspaced"]},
        ),
        step(
            "paths-option",
            "./actions/lint-test",
            {**project, "paths": values["option"]},
        ),
        step(
            "checks-newline",
            "./actions/lint-test",
            {**project, "checks": values["newline"]},
        ),
        step(
            "pytest-args",
            "./actions/lint-test",
            {
                **project,
                "checks": "pytest",
                "pytest-args": values["subshell"] + " " + values["backtick"],
            },
        ),
        step(
            "project-subshell",
            "./actions/lint-test",
            {"project-dir": values["subshell"]},
        ),
        step("extras-subshell", "./", {"extras": values["subshell"]}),
    ]
    workflow = {
        "name": "injection",
        "on": "push",
        "permissions": {},
        "jobs": {"hostile": {"runs-on": "ubuntu-latest", "steps": steps}},
    }
    repo = repo_copy(tmp / "repo")
    path = repo / ".github" / "workflows" / "injection.yml"
    # JSON is YAML: every hostile value is a properly quoted string.
    path.write_text(json.dumps(workflow, indent=2))
    run = run_act(path, tmp, env=act_env, repo=repo)
    yield run, values, marker
    marker.unlink(missing_ok=True)


def test_nothing_executes(hostile):
    run, _, marker = hostile
    assert run.job_results() == {"hostile": "success"}, run.log() + run.stderr
    assert not marker.exists()


def test_every_hostile_step_failed_cleanly(hostile):
    run, _, _ = hostile
    results = run.step_results("hostile")
    # A continue-on-error step concludes "success"; its inner step failed.
    for step_id in (
        "paths-quote/lint-test",
        "paths-unspaced/lint-test",
        "paths-option/lint-test",
        "checks-newline/lint-test",
        "pytest-args/lint-test",
        "project-subshell/lint-test",
        "extras-subshell/setup",
    ):
        assert results[step_id] == "failure", (step_id, results)


def test_values_reach_the_cli_verbatim(hostile):
    run, values, _ = hostile
    messages = [a["message"] for a in run.annotations("hostile")]
    assert f"paths: {values['unspaced']!r} does not exist" in "\n".join(messages)
    # paths and extras are space-separated lists: each word arrives verbatim.
    assert any(m.startswith("paths: 'a\";' does not exist") for m in messages)
    assert any(m.startswith("extras: unknown extra '$(touch'") for m in messages)
    assert f"project-dir: {values['subshell']!r} does not exist" in "\n".join(messages)


def test_option_looking_path_is_refused(hostile):
    run, _, _ = hostile
    messages = [a["message"] for a in run.annotations("hostile")]
    assert any(m.startswith("paths: '--help' looks like an option") for m in messages)


def test_newline_cannot_inject_a_workflow_command(hostile):
    run, _, _ = hostile
    names = {e.get("name") for e in run.events if e.get("command") == "set-output"}
    assert "injected" not in names
    # The value is a list of words; the one that looks like a command is named
    # inside the error line, never at the start of a line of its own.
    lines = run.log("hostile").splitlines()
    assert (
        "error: checks: unknown check '::set-output': use one or more of black, "
        "flake8, pytest (comma separated)"
    ) in lines
    assert not any(line.startswith("::set-output") for line in lines)
