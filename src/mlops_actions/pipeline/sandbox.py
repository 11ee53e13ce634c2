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


def snapshot(code: Path | None, folder: Path, state: Path) -> Path:
    """A fresh copy of ``code`` at ``folder`` (an empty folder without code).

    The ``state`` folder (``.mlops``) is left out when it lies inside ``code``
    (a run started from the code folder): the snapshot would copy itself.
    """
    if folder.exists():
        shutil.rmtree(folder)
    if code is None:
        folder.mkdir(parents=True)
        return folder
    skip = state.resolve()

    def ignore(where: str, names: list[str]) -> list[str]:
        return [n for n in names if Path(where, n).resolve() == skip]

    shutil.copytree(code, folder, symlinks=True, ignore=ignore)
    return folder


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
