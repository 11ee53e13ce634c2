"""`.github/workflows/selftest.yml` under act: the actions on fixture projects."""

from __future__ import annotations

import pytest

from mlops_actions import __version__

from fakes.github_api import FakeGitHub

from .act import ROOT, run_act
from .conftest import site_packages

WORKFLOW = ROOT / ".github" / "workflows" / "selftest.yml"
JOBS = (
    "setup",
    "lint-test-clean",
    "lint-test-broken",
    "bad-input",
    "gate-and-register",
    "all-green",
)
PR = 5

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def github():
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture(scope="module")
def selftest(act_env, user_python, github, tmp_path_factory):
    """The whole workflow, once, as a pull request whose API is the fake."""
    before = site_packages(user_python)
    run = run_act(
        WORKFLOW,
        tmp_path_factory.mktemp("selftest"),
        event="pull_request",
        payload={"pull_request": {"number": PR}, "repository": {"full_name": "o/r"}},
        # act derives GITHUB_REPOSITORY from the git remote, which a CI clone
        # sets to a local path: name a repository as GitHub would.
        env=act_env | {"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "o/r"},
        secrets={"GITHUB_TOKEN": github.token},
    )
    run.user_site_unchanged = site_packages(user_python) == before
    return run


def test_every_job_passes_including_the_all_green_one(selftest):
    assert selftest.job_results() == {job: "success" for job in JOBS}, (
        selftest.log() + selftest.stderr
    )


def test_root_action_outputs_and_reuse(selftest):
    first = selftest.outputs("setup", "first")
    second = selftest.outputs("setup", "second")
    assert first["version"] == __version__
    assert first["cli-path"].endswith("/mlops")
    assert "/mlops-actions/bin-" in first["cli-path"]
    assert (first["reused"], second["reused"]) == ("false", "true")
    assert second["cli-path"] == first["cli-path"]


def test_nothing_is_installed_into_the_users_python(selftest):
    assert selftest.user_site_unchanged


def test_clean_project_outputs(selftest):
    outputs = selftest.outputs("lint-test-clean", "lint-test")
    assert outputs["lint-ok"] == "true"
    assert outputs["tests-ok"] == "true"
    assert outputs["junit-path"].endswith(".xml")
    assert selftest.annotations("lint-test-clean") == []


def test_broken_project_is_annotated_at_the_right_places(selftest):
    outputs = selftest.outputs("lint-test-broken", "lint-test")
    assert (outputs["lint-ok"], outputs["tests-ok"]) == ("false", "false")
    found = {
        (a.get("title"), a.get("file"), a.get("line"))
        for a in selftest.annotations("lint-test-broken")
    }
    broken = "tests/fixtures/projects/broken"
    assert found == {
        ("black", f"{broken}/calc.py", None),
        ("flake8", f"{broken}/calc.py", "1"),
        ("pytest", f"{broken}/tests/test_calc.py", "13"),
        (None, None, None),  # the step's closing "lint-test: failed" error
    }


def test_broken_project_summary_names_the_failing_test(selftest):
    summary = selftest.summary("lint-test-broken")
    assert "| tests.test\\_calc::test\\_divide | assert 0.5 == 0.25 | " in summary
    assert "tests/test\\_calc.py:13" in summary


def test_bad_inputs_name_what_to_change(selftest):
    messages = [a["message"] for a in selftest.annotations("bad-input")]
    assert any(m.startswith("extras: unknown extra 'gpu'") for m in messages)
    assert any(
        m.startswith("python: 'python2.7' was not found") for m in messages
    ), messages
    assert any(
        m.startswith("paths: 'no-such-folder' does not exist") for m in messages
    ), messages
    assert (
        "no-such-bundle: no Dockerfile: make the build context with `mlops "
        "image bundle MODEL --out DIR` first" in messages
    )


def test_gate_decisions_and_registered_versions(selftest):
    decisions = {
        step: selftest.outputs("gate-and-register", step).get("decision")
        for step in ("first", "better", "worse", "worse-dry-run")
    }
    assert decisions == {
        "first": "first",
        "better": "promote",
        "worse": "reject",
        "worse-dry-run": "reject",
    }
    registered = selftest.outputs("gate-and-register", "register-better")
    assert registered["model-version"] == "2"
    assert registered["model-uri"] == "models:/selftest-model/2"
    assert registered["promoted"] == "true"


def test_gate_summary_has_the_table(selftest):
    summary = selftest.summary("gate-and-register")
    assert "| roc_auc |" in summary
    assert "reject" in summary and "promote" in summary


def test_one_sticky_comment_carries_the_last_table(selftest, github):
    comments = github.issue_comments(PR)
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith("<!-- mlops-actions:gate -->")
    assert "dry-run" in body
    posts = [r for r in github.requests if r["method"] == "POST"]
    patches = [r for r in github.requests if r["method"] == "PATCH"]
    assert (len(posts), len(patches)) == (1, 3)
