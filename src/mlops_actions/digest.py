"""Content hashes for the step cache: files, folders, code and inputs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

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


def _files(path: Path) -> Iterator[tuple[str, Path]]:
    """(relative name, path) of each file in a folder, in a fixed order."""
    for root, dirs, files in os.walk(path, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                full = Path(root, name)
                yield full.relative_to(path).as_posix(), full


def tree_digest(path: Path) -> str:
    """sha256 over relative names and contents of a file or folder."""
    if path.is_file():
        return file_digest(path)
    h = hashlib.sha256()
    for name, full in _files(path):
        h.update(name.encode() + b"\0")
        h.update(file_digest(full).encode() + b"\n")
    return h.hexdigest()


def tree_stats(path: Path) -> str:
    """sha256 over the names and file status of a file or folder, no contents.

    Covers the files :func:`tree_digest` reads, each with its size, mtime,
    ctime and inode: deleting, adding, renaming, rewriting or replacing a file
    changes it (ctime cannot be set back by ``touch``), while reading does not.
    It costs one ``stat`` per file, so the step cache compares it first and
    reads contents only when it differs. A file that vanishes while walked
    makes it differ too.
    """
    h = hashlib.sha256()
    entries = [("", path)] if path.is_file() else _files(path)
    for name, full in entries:
        try:
            st = full.stat()
        except OSError:
            st_fields = "gone"
        else:
            st_fields = f"{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}"
        h.update(f"{name}\0{st_fields}\n".encode())
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
