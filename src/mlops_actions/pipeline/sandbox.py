"""Where a step runs: a snapshot of its code folder, never the user's tree.

Azure ML uploads a snapshot of a component's ``code`` folder and runs the step
in it; the local backend copies the folder under the step's run folder for the
same reason: whatever the step writes beside its code (``./mlruns``, caches,
scratch files) lands in the copy, so the user's tree and its digest (part of
the step cache key) stay as they were.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from mlops_actions import digest


def snapshot(
    code: Path | None, folder: Path, state: Path, includes: tuple[Path, ...] = ()
) -> Path:
    """A fresh copy of ``code`` at ``folder`` (an empty folder without code),
    each of ``includes`` (``additional_includes``) copied in under its own
    name, as Azure ML adds them to the snapshot it uploads.

    The ``state`` folder (``.mlops``) is left out when it lies inside ``code``
    (a run started from the code folder): the snapshot would copy itself.
    """
    if folder.exists():
        shutil.rmtree(folder)
    skip = state.resolve()

    def ignore(where: str, names: list[str]) -> list[str]:
        return [
            n for n in names if n == "__pycache__" or Path(where, n).resolve() == skip
        ]

    if code is None:
        folder.mkdir(parents=True)
    else:
        shutil.copytree(code, folder, symlinks=True, ignore=ignore)
    for item in includes:
        target = folder / item.name
        if item.is_dir():
            shutil.copytree(item, target, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
    return folder


def code_digest(code: Path | None, includes: tuple[Path, ...]) -> str | None:
    """What of a step's code goes into its cache key: the code folder's
    content and each included file or folder's, by name."""
    if code is None and not includes:
        return None
    parts = [digest.tree_digest(code) if code else ""]
    parts += [f"{item.name}:{digest.tree_digest(item)}" for item in includes]
    return parts[0] if len(parts) == 1 else "+".join(parts)


def python_shims(folder: Path, interpreter: str) -> Path:
    """A folder whose ``python`` and ``python3`` start ``interpreter``, to put
    first on a step's PATH: a command saying ``python`` means the step's
    interpreter, wherever bash finds it in the command line. Scripts, not
    links: a link to a virtual environment's python may not find its
    ``pyvenv.cfg``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        shim = folder / name
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(interpreter)} "$@"\n')
        os.chmod(shim, 0o755)
    return folder
