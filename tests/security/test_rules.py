"""What the rules accept: the safe forms they must not flag."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from . import rules
from .documents import Document

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"


def load(tmp_path: Path, text: str, kind: str = "workflow") -> Document:
    path = tmp_path / ("action.yml" if kind == "action" else "workflow.yml")
    path.write_text(textwrap.dedent(text))
    return Document.load(path, kind)


def test_on_is_a_key_not_a_boolean(tmp_path):
    # YAML 1.1 reads a bare `on` as True; GitHub (YAML 1.2) does not.
    doc = load(tmp_path, "on: [pull_request_target]\nflag: yes\nother: true\n")
    assert doc.data == {"on": ["pull_request_target"], "flag": "yes", "other": True}
    assert rules.no_pull_request_target(doc)


@pytest.mark.parametrize(
    "on",
    ["pull_request_target", "[push, pull_request_target]", "{pull_request_target: {}}"],
)
def test_pull_request_target_in_any_form(tmp_path, on):
    assert rules.no_pull_request_target(load(tmp_path, f"on: {on}\n"))


def test_a_strict_composite_action_passes_every_rule(tmp_path):
    doc = load(
        tmp_path,
        f"""\
        name: Good
        description: Every value through env.
        inputs:
          x:
            description: Any text.
        runs:
          using: composite
          steps:
            - uses: {CHECKOUT} # v4.2.2
              with:
                persist-credentials: "false"
            - uses: ./actions/local
            - uses: docker://alpine:3.20
            - shell: bash
              env:
                X: ${{{{ inputs.x }}}}
              run: |
                # why: comments may come first
                set -euo pipefail
                mlops gate --metric "$X"
        """,
        kind="action",
    )
    assert rules.check(doc) == []


def test_a_least_privilege_workflow_passes_every_rule(tmp_path):
    doc = load(
        tmp_path,
        """\
        on:
          push:
          pull_request:
        permissions:
          contents: read
        jobs:
          login:
            runs-on: ubuntu-latest
            permissions:
              contents: read
              id-token: write # azure/login exchanges it for an Azure token
            steps:
              - uses: azure/login@a457da9ea143d694b1b9c7c869ebb04ebe844ef5 # v2.3.0
          backend-env:
            runs-on: ubuntu-latest
            permissions:
              id-token: write
            env:
              MLOPS_BACKEND: azure
            steps:
              - run: mlops pipeline run
          backend-input:
            runs-on: ubuntu-latest
            permissions:
              id-token: write
            steps:
              - uses: ./actions/pipeline
                with:
                  backend: azure
          reuse:
            uses: ./.github/workflows/train.yml
        """,
    )
    assert rules.check(doc) == []


@pytest.mark.parametrize(
    "permissions", ["read-all", "write-all", "{contents: write}", "{id-token: write}"]
)
def test_top_level_permissions_beyond_read_are_flagged(tmp_path, permissions):
    doc = load(tmp_path, f"on: push\npermissions: {permissions}\njobs: {{}}\n")
    assert rules.least_privilege(doc)


def test_write_all_on_a_job_grants_id_token(tmp_path):
    doc = load(
        tmp_path,
        """\
        on: push
        permissions: {}
        jobs:
          build:
            runs-on: ubuntu-latest
            permissions: write-all
            steps:
              - run: "true"
        """,
    )
    assert "id-token" in rules.least_privilege(doc)[0].message


def test_reusable_workflow_calls_must_be_pinned(tmp_path):
    doc = load(
        tmp_path,
        """\
        on: push
        permissions: {}
        jobs:
          call:
            uses: octo/repo/.github/workflows/x.yml@main
        """,
    )
    assert [f.line for f in rules.uses_pinned_by_sha(doc)] == [5]


@pytest.mark.parametrize(
    "comment, flagged",
    [
        (
            "# zizmor: ignore[artipacked] -- the job reuses the token to push tags",
            False,
        ),
        ("# zizmor: ignore[artipacked]", True),
        ("# zizmor: ignore[artipacked] --", True),
        ("#zizmor:ignore[a,b]: ok", True),
    ],
)
def test_zizmor_ignore_needs_a_reason(tmp_path, comment, flagged):
    doc = load(tmp_path, f"on: push # {comment}\n")
    assert bool(rules.zizmor_ignores_have_reasons(doc)) is flagged
