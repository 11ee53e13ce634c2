"""The offline scanners (zizmor, check-jsonschema), run from this venv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

BIN = Path(sys.executable).parent
ZIZMOR = BIN / "zizmor"
CHECK_JSONSCHEMA = BIN / "check-jsonschema"

#: zizmor's exit status when none of its inputs was an action or a workflow.
ZIZMOR_NOTHING_SCANNED = 3

ACTION_SCHEMA = "vendor.github-actions"
WORKFLOW_SCHEMA = "vendor.github-workflows"


def _env() -> dict[str, str]:
    # A token or ZIZMOR_* setting in the caller's environment would change
    # what zizmor audits (online audits, another config): keep runs identical.
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ZIZMOR_")
        and name not in {"GH_TOKEN", "GITHUB_TOKEN", "GH_HOST"}
    }


def zizmor(
    paths: Sequence[Path], *, output: str = "plain"
) -> subprocess.CompletedProcess[str]:
    """``zizmor --offline --persona=pedantic`` over exactly ``paths``.

    ``--strict-collection``: otherwise a file that fails zizmor's own schema
    is skipped with a warning and the run still exits 0. ``--no-config``: a
    finding can only be silenced inline, next to the code, where
    :func:`rules.zizmor_ignores_have_reasons` checks for a reason.
    """
    return subprocess.run(
        [
            str(ZIZMOR),
            "--offline",
            "--persona=pedantic",
            "--strict-collection",
            "--no-config",
            "--no-progress",
            "--color=never",
            f"--format={output}",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )


def check_jsonschema(
    schema: str, paths: Sequence[Path]
) -> subprocess.CompletedProcess[str]:
    """``check-jsonschema`` with a built-in (vendored, offline) schema."""
    return subprocess.run(
        [
            str(CHECK_JSONSCHEMA),
            "--builtin-schema",
            schema,
            "--color=never",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
