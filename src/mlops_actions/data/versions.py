"""The version of a file or folder, derived from its content.

Registering the same bytes twice must give the same version (so the second
registration finds the first and uploads nothing), and any change to what
azure-ai-ml would upload must give a new one. The SDK uploads every file of a
folder except those its ``.amlignore``/``.gitignore`` excludes; rather than
re-implement gitignore matching (and risk two different contents sharing a
version), everything is hashed, ignore files included: an edit to an ignored
file costs one extra version, never a stale one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from mlops_actions.digest import file_digest
from mlops_actions.errors import UsageError

#: Hex digits kept: 64 bits, so a collision between two datasets of one name
#: is out of reach, and the version still reads in a table.
VERSION_DIGITS = 16


def _files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix name, path) of every file below ``folder``, sorted by
    name at each level; symlinks followed, as the SDK's upload follows them."""
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            full = Path(root, name)
            yield full.relative_to(folder).as_posix(), full


def content_digest(path: Path) -> str:
    """sha256 over a file's bytes, or over a folder's relative names, sizes and
    file contents (read in chunks). A file and a folder holding only that file
    differ. Raises UsageError for a missing path or an empty folder (azure-ai-ml
    refuses to upload one)."""
    if path.is_file():
        return hashlib.sha256(b"file\0" + file_digest(path).encode()).hexdigest()
    if not path.is_dir():
        raise UsageError(f"{path}: no such file or folder: name a local file or folder")
    h = hashlib.sha256(b"folder\0")
    count = 0
    for name, full in _files(path):
        count += 1
        h.update(f"{name}\0{full.stat().st_size}\0{file_digest(full)}\n".encode())
    if not count:
        raise UsageError(f"{path}: the folder is empty: there is nothing to register")
    return h.hexdigest()


def content_version(path: Path) -> str:
    """The data asset version of ``path``: the first
    :data:`VERSION_DIGITS` hex digits of :func:`content_digest`."""
    return content_digest(path)[:VERSION_DIGITS]
