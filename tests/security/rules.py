"""Static security rules for the repository's actions and workflows.

Each rule takes a parsed file and returns findings; an empty list means the
file follows the rule. The same functions run over the repository (where the
list must be empty) and over ``tests/fixtures/insecure`` (where each rule must
fire), so every check is known to be able to fail.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from .documents import Document, Finding, line_of

SHA_REF = re.compile(r"@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+){0,2}\b")
ZIZMOR_IGNORE = re.compile(r"#\s*zizmor:\s*ignore\[[^\]]*\](?P<reason>.*)$")
# A reason is words after the bracket, not just punctuation.
REASON = re.compile(r"[A-Za-z]{3,}.*[A-Za-z]{3,}")
STRICT_PRELUDE = "set -euo pipefail"
READ_ONLY = {"read", "none"}


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _jobs(doc: Document) -> Iterator[tuple[str, dict]]:
    if doc.kind == "workflow":
        for name, job in _mapping(_mapping(doc.data).get("jobs")).items():
            yield str(name), _mapping(job)


def _steps(doc: Document) -> Iterator[dict]:
    """Every step: a composite action's, or every job's in a workflow."""
    if doc.kind == "action":
        runs = _mapping(_mapping(doc.data).get("runs"))
        containers = [runs.get("steps")]
    else:
        containers = [job.get("steps") for _, job in _jobs(doc)]
    for steps in containers:
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict):
                yield step


def _expression_line(doc: Document, step: dict, run: str) -> int:
    """The line of the first ``${{`` in a run script (block or inline)."""
    start = max(line_of(step, "run"), 1)
    lines = doc.text.splitlines()
    last = min(start + len(run.splitlines()), len(lines))
    for number in range(start, last + 1):
        if "${{" in lines[number - 1]:
            return number
    return start


def no_expression_in_run(doc: Document) -> list[Finding]:
    """No ``${{`` inside a ``run:`` script: values must come in through env."""
    found = []
    for step in _steps(doc):
        run = step.get("run")
        if isinstance(run, str) and "${{" in run:
            found.append(
                doc.finding(
                    _expression_line(doc, step, run),
                    "`${{` inside run: pass the value through env: instead",
                )
            )
    return found


def _first_command(script: str) -> str:
    for raw in script.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            return line
    return ""


def composite_steps_are_strict(doc: Document) -> list[Finding]:
    """Composite run steps use ``shell: bash`` and begin ``set -euo pipefail``."""
    if doc.kind != "action":
        return []
    found = []
    for step in _steps(doc):
        run = step.get("run")
        if run is None:
            continue
        if step.get("shell") != "bash":
            found.append(
                doc.finding(line_of(step, "run"), "run step without shell: bash")
            )
        if _first_command(str(run)) != STRICT_PRELUDE:
            found.append(
                doc.finding(
                    line_of(step, "run"),
                    f"run script does not start with `{STRICT_PRELUDE}`",
                )
            )
    return found


def _uses(doc: Document) -> Iterator[tuple[str, int]]:
    for step in _steps(doc):
        if isinstance(step.get("uses"), str):
            yield step["uses"], line_of(step, "uses")
    for _, job in _jobs(doc):  # reusable workflow calls
        if isinstance(job.get("uses"), str):
            yield job["uses"], line_of(job, "uses")


def uses_pinned_by_sha(doc: Document) -> list[Finding]:
    """Remote ``uses:`` pinned to a 40-hex commit with a ``# vX.Y.Z`` comment."""
    lines = doc.text.splitlines()
    found = []
    for uses, line in _uses(doc):
        ref = uses.strip()
        if ref.startswith("./") or ref.startswith("docker://"):
            continue
        if not SHA_REF.search(ref):
            found.append(doc.finding(line, f"{ref} is not pinned to a commit SHA"))
            continue
        raw = lines[line - 1] if 0 < line <= len(lines) else ""
        if not VERSION_COMMENT.search(raw):
            found.append(doc.finding(line, f"{ref} lacks a `# vX.Y.Z` comment"))
    return found


def _permissions_read_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(str(level) in READ_ONLY for level in value.values())
    return False


def _grants_id_token(value: Any) -> bool:
    if value == "write-all":
        return True
    return isinstance(value, dict) and value.get("id-token") == "write"


def _is_azure(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "azure"


def _logs_in_to_azure(job: dict) -> bool:
    if _is_azure(_mapping(job.get("env")).get("MLOPS_BACKEND")):
        return True
    for step in job.get("steps") or []:
        step = _mapping(step)
        if str(step.get("uses", "")).startswith("azure/login"):
            return True
        if _is_azure(_mapping(step.get("env")).get("MLOPS_BACKEND")):
            return True
        if _is_azure(_mapping(step.get("with")).get("backend")):
            return True
    return False


def least_privilege(doc: Document) -> list[Finding]:
    """Top-level permissions read-only; ``id-token: write`` only to log in to Azure."""
    if doc.kind != "workflow":
        return []
    data = _mapping(doc.data)
    found = []
    if "permissions" not in data:
        found.append(doc.finding(1, "no top-level permissions: start from `{}`"))
    elif not _permissions_read_only(data["permissions"]):
        found.append(
            doc.finding(
                line_of(data, "permissions"),
                f"top-level permissions {data['permissions']!r} are not read-only",
            )
        )
    for name, job in _jobs(doc):
        if _grants_id_token(job.get("permissions")) and not _logs_in_to_azure(job):
            found.append(
                doc.finding(
                    line_of(job, "permissions"),
                    f"job {name} has id-token: write but does not log in to Azure",
                )
            )
    return found


def _triggers(data: dict) -> list[str]:
    on = data.get("on")
    if isinstance(on, str):
        return [on]
    if isinstance(on, (list, dict)):
        return [str(event) for event in on]
    return []


def no_pull_request_target(doc: Document) -> list[Finding]:
    """``pull_request_target`` runs fork code with secrets: never use it."""
    data = _mapping(doc.data)
    if doc.kind == "workflow" and "pull_request_target" in _triggers(data):
        return [doc.finding(line_of(data, "on"), "pull_request_target trigger")]
    return []


def checkout_without_credentials(doc: Document) -> list[Finding]:
    """``actions/checkout`` must not leave the token in ``.git/config``."""
    found = []
    for step in _steps(doc):
        if not str(step.get("uses", "")).startswith("actions/checkout@"):
            continue
        persist = _mapping(step.get("with")).get("persist-credentials")
        if persist is not False and str(persist).lower() != "false":
            found.append(
                doc.finding(
                    line_of(step, "uses"),
                    "actions/checkout without persist-credentials: false",
                )
            )
    return found


def zizmor_ignores_have_reasons(doc: Document) -> list[Finding]:
    """An inline ``# zizmor: ignore[rule]`` must say why, after the bracket."""
    found = []
    for number, raw in enumerate(doc.text.splitlines(), start=1):
        match = ZIZMOR_IGNORE.search(raw)
        if match and not REASON.search(match["reason"]):
            found.append(doc.finding(number, "zizmor ignore without a written reason"))
    return found


RULES: tuple[Callable[[Document], list[Finding]], ...] = (
    no_expression_in_run,
    composite_steps_are_strict,
    uses_pinned_by_sha,
    least_privilege,
    no_pull_request_target,
    checkout_without_credentials,
    zizmor_ignores_have_reasons,
)


def check(doc: Document) -> list[Finding]:
    """Every rule over one document."""
    return [finding for rule in RULES for finding in rule(doc)]
