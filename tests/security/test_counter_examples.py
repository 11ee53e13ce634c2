"""Each rule and scanner catches its planted counter-example.

``tests/fixtures/insecure`` holds one broken file per rule. A check that never
fails proves nothing: these tests show each one can.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import rules, scanners
from .documents import Document
from .rules import RULES

INSECURE = Path(__file__).resolve().parents[1] / "fixtures" / "insecure"

#: fixture, kind, the one rule that must fire, and (line, message part) of
#: each finding it must report, in order.
CASES = [
    (
        "injection/action.yml",
        "action",
        rules.no_expression_in_run,
        [(14, "`${{` inside run")],
    ),
    (
        "no-shell/action.yml",
        "action",
        rules.composite_steps_are_strict,
        [(7, "without shell: bash")],
    ),
    (
        "no-set-e/action.yml",
        "action",
        rules.composite_steps_are_strict,
        [(8, "does not start with `set -euo pipefail`")],
    ),
    (
        "unpinned/workflow.yml",
        "workflow",
        rules.uses_pinned_by_sha,
        [
            (12, "actions/checkout@v4 is not pinned to a commit SHA"),
            (16, "lacks a `# vX.Y.Z` comment"),
        ],
    ),
    (
        "write-all/workflow.yml",
        "workflow",
        rules.least_privilege,
        [(3, "top-level permissions 'write-all' are not read-only")],
    ),
    (
        "no-permissions/workflow.yml",
        "workflow",
        rules.least_privilege,
        [(1, "no top-level permissions")],
    ),
    (
        "id-token/workflow.yml",
        "workflow",
        rules.least_privilege,
        [(8, "job build has id-token: write but does not log in to Azure")],
    ),
    (
        "prt/workflow.yml",
        "workflow",
        rules.no_pull_request_target,
        [(2, "pull_request_target")],
    ),
    (
        "checkout-creds/workflow.yml",
        "workflow",
        rules.checkout_without_credentials,
        [(12, "without persist-credentials: false")],
    ),
    (
        "zizmor-ignore/action.yml",
        "action",
        rules.zizmor_ignores_have_reasons,
        [(8, "zizmor ignore without a written reason")],
    ),
]


@pytest.mark.parametrize(
    "fixture, kind, rule, expected", CASES, ids=[case[0] for case in CASES]
)
def test_rule_flags_its_counter_example(fixture, kind, rule, expected):
    doc = Document.load(INSECURE / fixture, kind)
    found = rule(doc)
    assert [(f.line, f.file) for f in found] == [
        (line, INSECURE / fixture) for line, _ in expected
    ], found
    for finding, (_, part) in zip(found, expected):
        assert part in finding.message
    # The fixture breaks this rule alone, so the case cannot pass by accident.
    fired = {other.__name__ for other in RULES if other(doc)}
    assert fired == {rule.__name__}


def test_every_rule_has_a_counter_example():
    assert {rule.__name__ for rule in RULES} == {case[2].__name__ for case in CASES}


@pytest.mark.parametrize(
    "fixture, audit",
    [
        ("injection/action.yml", "template-injection"),
        ("unpinned/workflow.yml", "unpinned-uses"),
        ("write-all/workflow.yml", "excessive-permissions"),
        ("no-permissions/workflow.yml", "excessive-permissions"),
        ("prt/workflow.yml", "dangerous-triggers"),
        ("checkout-creds/workflow.yml", "artipacked"),
    ],
)
def test_zizmor_flags_counter_example(fixture, audit):
    result = scanners.zizmor([INSECURE / fixture], output="json")
    assert result.returncode not in (0, scanners.ZIZMOR_NOTHING_SCANNED), result
    assert audit in {finding["ident"] for finding in json.loads(result.stdout)}


def test_zizmor_honours_an_inline_ignore_with_a_reason(tmp_path):
    # Inside a block scalar a `#` is shell, not YAML: the ignore comment goes
    # after `run: |`, on the line where zizmor's finding starts.
    text = (INSECURE / "injection/action.yml").read_text()
    silenced = text.replace(
        "run: |", "run: | # zizmor: ignore[template-injection] -- test only"
    )
    (tmp_path / "action.yml").write_text(silenced)
    result = scanners.zizmor([tmp_path / "action.yml"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert not rules.zizmor_ignores_have_reasons(
        Document.load(tmp_path / "action.yml", "action")
    )


def test_zizmor_fails_when_it_scanned_nothing(tmp_path):
    result = scanners.zizmor([tmp_path])
    assert result.returncode == scanners.ZIZMOR_NOTHING_SCANNED


def test_zizmor_fails_on_a_file_it_cannot_read_as_an_action():
    # Without --strict-collection this file would be skipped with a warning.
    result = scanners.zizmor([INSECURE / "bad-schema/action.yml"])
    assert result.returncode != 0


@pytest.mark.parametrize(
    "fixture, schema, message",
    [
        ("bad-schema/action.yml", scanners.ACTION_SCHEMA, "'runs' is a required"),
        ("no-shell/action.yml", scanners.ACTION_SCHEMA, "no-shell/action.yml::$.runs"),
        (
            "bad-schema/workflow.yml",
            scanners.WORKFLOW_SCHEMA,
            "'runs-on' is a required property",
        ),
    ],
    ids=["bad-schema/action.yml", "no-shell/action.yml", "bad-schema/workflow.yml"],
)
def test_schema_rejects_counter_example(fixture, schema, message):
    result = scanners.check_jsonschema(schema, [INSECURE / fixture])
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout + result.stderr
