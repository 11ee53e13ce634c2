"""Content hashes for the step cache: files, folders, code and inputs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: Bump when the key's recipe changes, so old cache entries stop matching.
KEY_VERSION = 1
_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", ".pytest_cache"}
_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def tree_digest(path: Path) -> str:
    """sha256 over relative names and contents of a file or folder."""
    if path.is_file():
        return file_digest(path)
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            full = Path(root, name)
            h.update(full.relative_to(path).as_posix().encode() + b"\0")
            h.update(file_digest(full).encode() + b"\n")
    return h.hexdigest()


def step_key(
    component_doc: dict[str, Any],
    code_digest: str | None,
    inputs: dict[str, Any],
    interpreter: str,
) -> str:
    """The cache key of one step: same key, same outputs."""
    payload = {
        "v": KEY_VERSION,
        "component": component_doc,
        "code": code_digest,
        "inputs": inputs,
        "python": interpreter,
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()
