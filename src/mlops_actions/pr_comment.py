"""The one sticky comment a command keeps on a pull request (GitHub REST API).

A hidden HTML marker identifies the comment: the first run creates it, later
runs edit it in place, so a pull request carries one gate table however often
the workflow runs. The base URL comes from ``GITHUB_API_URL`` (GitHub
Enterprise, and a fake API on 127.0.0.1 in tests); the token from
``GITHUB_TOKEN``, sent only over https (or to loopback).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mlops_actions import gha
from mlops_actions.errors import BackendError

API_VERSION = "2022-11-28"
_PAGE = 100
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class GitHubApiError(BackendError):
    """A GitHub API call failed; the message names the call and the status."""


@dataclass(frozen=True)
class CommentResult:
    action: str  # created | updated | skipped
    detail: str  # comment URL, or why it was skipped


def marker(name: str) -> str:
    return f"<!-- mlops-actions:{name} -->"


def pull_request_number(environ: Mapping[str, str]) -> int | None:
    """The pull request this run belongs to, from the event payload or the ref."""
    path = environ.get("GITHUB_EVENT_PATH")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                event = json.load(handle)
            number = (event.get("pull_request") or {}).get("number")
            if isinstance(number, int):
                return number
        except (OSError, ValueError, AttributeError):
            pass
    match = re.fullmatch(r"refs/pull/(\d+)/(merge|head)", environ.get("GITHUB_REF", ""))
    return int(match.group(1)) if match else None


def upsert_comment(
    name: str,
    body: str,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> CommentResult:
    """Create or update the pull request comment marked ``name`` with ``body``.

    Skipped (not an error) outside a pull request or without a token. Raises
    GitHubApiError when an API call fails.
    """
    env = os.environ if environ is None else environ
    number = pull_request_number(env)
    if number is None:
        return CommentResult("skipped", "not a pull request")
    token = env.get("GITHUB_TOKEN", "")
    repo = env.get("GITHUB_REPOSITORY", "")
    if not token:
        return CommentResult("skipped", "GITHUB_TOKEN is not set")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        return CommentResult("skipped", "GITHUB_REPOSITORY is not set")
    gha.add_mask(token, environ=env)
    api = _api(env.get("GITHUB_API_URL") or "https://api.github.com")
    client = _Client(api, token, timeout)
    tagged = f"{marker(name)}\n{body}"
    existing = client.find(f"/repos/{repo}/issues/{number}/comments", marker(name))
    if existing is not None:
        answer = client.call(
            "PATCH", f"/repos/{repo}/issues/comments/{existing}", tagged
        )
        return CommentResult("updated", str(answer.get("html_url", existing)))
    answer = client.call("POST", f"/repos/{repo}/issues/{number}/comments", tagged)
    return CommentResult("created", str(answer.get("html_url", "")))


def _api(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
        raise GitHubApiError(
            f"GITHUB_API_URL {url} is not https: the token is only sent over https"
        )
    return url.rstrip("/")


class _Client:
    def __init__(self, api: str, token: str, timeout: float) -> None:
        self.api, self.token, self.timeout = api, token, timeout

    def find(self, path: str, needle: str) -> int | None:
        """Id of the first comment (any page) whose body contains ``needle``."""
        page = 1
        while True:
            comments = self.call("GET", f"{path}?per_page={_PAGE}&page={page}")
            for comment in comments:
                if needle in str(comment.get("body", "")):
                    return int(comment["id"])
            if len(comments) < _PAGE:
                return None
            page += 1

    def call(self, method: str, path: str, body: str | None = None) -> Any:
        data = None if body is None else json.dumps({"body": body}).encode()
        request = urllib.request.Request(
            self.api + path,
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "mlops-actions",
                "Content-Type": "application/json",
            },
        )
        call = f"GitHub API {method} {path.split('?')[0]}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise GitHubApiError(
                f"{call} answered {exc.code}: {_message(exc)}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise GitHubApiError(f"{call} failed: {exc}") from None


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("message", exc.reason))
    except (ValueError, AttributeError, OSError):
        return str(exc.reason)
