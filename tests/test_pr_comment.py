"""The sticky pull request comment against a fake GitHub API on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from fakes.github_api import FakeGitHub
from mlops_actions.pr_comment import (
    GitHubApiError,
    marker,
    pull_request_number,
    upsert_comment,
)


@pytest.fixture
def github():
    with FakeGitHub() as fake:
        yield fake


def pr_env(fake: FakeGitHub, tmp_path, number: int = 7) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": number}}))
    return {
        "GITHUB_API_URL": fake.url,
        "GITHUB_REPOSITORY": "octo/models",
        "GITHUB_TOKEN": fake.token,
        "GITHUB_EVENT_PATH": str(event),
    }


def test_first_run_creates_later_runs_edit_the_same_comment(github, tmp_path):
    env = pr_env(github, tmp_path)
    first = upsert_comment("gate", "| a | b |", environ=env)
    second = upsert_comment("gate", "| c | d |", environ=env)
    assert (first.action, second.action) == ("created", "updated")
    comments = github.issue_comments(7)
    assert len(comments) == 1
    assert comments[0]["body"] == f"{marker('gate')}\n| c | d |"
    methods = [(r["method"], r["path"]) for r in github.requests]
    assert methods == [
        ("GET", "/repos/octo/models/issues/7/comments"),
        ("POST", "/repos/octo/models/issues/7/comments"),
        ("GET", "/repos/octo/models/issues/7/comments"),
        ("PATCH", f"/repos/octo/models/issues/comments/{comments[0]['id']}"),
    ]
    headers = github.requests[1]["headers"]
    assert headers["authorization"] == f"Bearer {github.token}"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["accept"] == "application/vnd.github+json"


def test_marker_is_found_past_the_first_page(github, tmp_path):
    for i in range(150):
        github.add_comment(7, f"chatter {i}")
    cid = github.add_comment(7, f"{marker('gate')}\nold table")
    result = upsert_comment("gate", "new table", environ=pr_env(github, tmp_path))
    assert result.action == "updated"
    assert github.comments[cid]["body"].endswith("new table")
    pages = [r["query"]["page"] for r in github.requests if r["method"] == "GET"]
    assert pages == [["1"], ["2"]]


def test_other_markers_are_left_alone(github, tmp_path):
    other = github.add_comment(7, f"{marker('drift')}\nkeep me")
    upsert_comment("gate", "table", environ=pr_env(github, tmp_path))
    assert github.comments[other]["body"].endswith("keep me")
    assert len(github.issue_comments(7)) == 2


def test_failing_api_raises_a_clear_error(github, tmp_path):
    github.fail["POST"] = 403
    with pytest.raises(GitHubApiError) as caught:
        upsert_comment("gate", "table", environ=pr_env(github, tmp_path))
    assert caught.value.message == (
        "GitHub API POST /repos/octo/models/issues/7/comments answered 403: "
        "Resource not accessible"
    )
    assert github.token not in caught.value.message


def test_unreachable_api_raises(tmp_path):
    env = pr_env(FakeGitHub(), tmp_path)  # never started: nothing listens
    env["GITHUB_API_URL"] = "http://127.0.0.1:9"
    with pytest.raises(GitHubApiError, match="failed"):
        upsert_comment("gate", "table", environ=env, timeout=2)


@pytest.mark.parametrize(
    "change, reason",
    [
        (
            {"GITHUB_EVENT_PATH": "", "GITHUB_REF": "refs/heads/main"},
            "not a pull request",
        ),
        ({"GITHUB_TOKEN": ""}, "GITHUB_TOKEN is not set"),
    ],
)
def test_skipped_outside_a_pull_request_or_without_token(
    github, tmp_path, change, reason
):
    result = upsert_comment("gate", "t", environ=pr_env(github, tmp_path) | change)
    assert (result.action, result.detail) == ("skipped", reason)
    assert github.requests == []


def test_token_is_never_sent_over_plain_http(tmp_path):
    env = pr_env(FakeGitHub(), tmp_path) | {"GITHUB_API_URL": "http://github.example"}
    with pytest.raises(GitHubApiError, match="is not https"):
        upsert_comment("gate", "t", environ=env)


def test_pull_request_number_from_ref():
    assert pull_request_number({"GITHUB_REF": "refs/pull/42/merge"}) == 42
    assert pull_request_number({"GITHUB_REF": "refs/tags/v1"}) is None
