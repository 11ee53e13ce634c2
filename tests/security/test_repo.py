"""The repository's own actions and workflows pass every security check.

Files are found by fixed globs (see :func:`rules.discover`), so the
deliberately insecure fixtures are never scanned here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import scanners
from .documents import Document, discover
from .rules import RULES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files() -> tuple[list[Path], list[Path]]:
    return discover(ROOT)


@pytest.fixture(scope="module")
def documents(files) -> list[Document]:
    actions, workflows = files
    return [Document.load(p, "action") for p in actions] + [
        Document.load(p, "workflow") for p in workflows
    ]


def _show(paths: list[Path]) -> str:
    return ", ".join(str(p.relative_to(ROOT)) for p in paths) or "none"


def test_repo_has_actions_to_scan(files):
    # Without this, every check below would pass on an empty list.
    actions, workflows = files
    assert actions, "no action.yml or actions/*/action.yml found to scan"
    assert workflows, "no .github/workflows/*.yml or workflows/*.yml found to scan"


def test_repo_scan_leaves_out_the_fixtures(files):
    fixtures = ROOT / "tests"
    scanned = [p for group in files for p in group]
    assert not [p for p in scanned if p.is_relative_to(fixtures)]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_rule_holds_on_repo(rule, documents):
    findings = [finding for doc in documents for finding in rule(doc)]
    assert not findings, "\n" + "\n".join(
        f"{f.file.relative_to(ROOT)}:{f.line}: {f.message}" for f in findings
    )


def test_zizmor_pedantic_passes_on_repo(files):
    paths = [p for group in files for p in group]
    if not paths:
        pytest.skip("nothing to scan yet: see test_repo_has_actions_to_scan")
    result = scanners.zizmor(paths)
    report = f"zizmor over {_show(paths)}:\n{result.stdout}\n{result.stderr}"
    assert result.returncode != scanners.ZIZMOR_NOTHING_SCANNED, report
    assert result.returncode == 0, report


@pytest.mark.parametrize(
    "kind, schema",
    [("action", scanners.ACTION_SCHEMA), ("workflow", scanners.WORKFLOW_SCHEMA)],
)
def test_schema_passes_on_repo(files, kind, schema):
    paths = files[0] if kind == "action" else files[1]
    if not paths:
        pytest.skip(f"no {kind} files yet: see test_repo_has_actions_to_scan")
    result = scanners.check_jsonschema(schema, paths)
    assert result.returncode == 0, f"{_show(paths)}:\n{result.stdout}{result.stderr}"
