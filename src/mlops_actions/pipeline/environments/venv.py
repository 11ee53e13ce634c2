"""Venvs built from environments' pip dependencies, cached by content hash.

``<state>/envs/<hash>/`` holds one venv and its ``env.json``. A venv is built
in a temporary folder beside it and renamed into place while holding
``<hash>.lock``, so two runs never share a half-built venv and the second of
two runs started together waits, then reuses what the first built.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlops_actions import process
from mlops_actions.pipeline.environments.declared import Declared
from mlops_actions.pipeline.environments.failed import BuildFailed

#: characters of the content hash in the folder name
SHORT = 16
BUILD_TIMEOUT_S = 3600
#: how a tool's error report begins (uv, pip)
ERROR_MARKS = ("×", "error:", "ERROR:")
SAID_CHARS = 300
Say = Callable[[str], None]


@dataclass(frozen=True)
class Venv:
    """A built venv: its folder and its interpreter."""

    folder: Path
    built: bool  # built by this call (False: reused)

    @property
    def python(self) -> Path:
        return self.folder / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.folder / "bin"


def venv_folder(state: Path, declared: Declared) -> Path:
    return state / "envs" / declared.venv_hash()[:SHORT]


def find_uv() -> str | None:
    """uv on PATH, else the one installed beside this interpreter."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.is_file() else None)


def ensure_venv(
    state: Path,
    declared: Declared,
    *,
    run_id: str,
    say: Say,
    uv: str | None,
) -> Venv:
    """The venv for ``declared``, built once (under a lock) and then reused."""
    folder = venv_folder(state, declared)
    if (folder / "env.json").is_file():
        return Venv(folder, built=False)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "env.json").is_file():  # built while we waited
            return Venv(folder, built=False)
        for leftover in folder.parent.glob(f"{folder.name}.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a build killed midway
        tool = "uv" if uv else "python -m venv + pip"
        say(f"env: building venv {_shown(folder)} ({describe(declared)}) with {tool}")
        began = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=f"{folder.name}.tmp-", dir=folder.parent))
        try:
            _build(tmp, declared, uv, folder.parent / f"{folder.name}.log")
            seconds = round(time.monotonic() - began, 3)
            record = {
                "hash": declared.venv_hash(),
                "python": declared.python,
                "requirements": list(declared.requirements),
                "builder": tool,
                "built_by_run": run_id,
                "seconds": seconds,
            }
            (tmp / "env.json").write_text(json.dumps(record, indent=2) + "\n")
            _move_scripts(tmp, folder)
            if folder.exists():  # a leftover without env.json: never finished
                shutil.rmtree(folder)
            os.rename(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        say(f"env: built {_shown(folder)} in {seconds:.1f}s")
        return Venv(folder, built=True)


def describe(declared: Declared) -> str:
    count = declared.packages
    python = f"python {declared.python}" if declared.python else "this python"
    return f"{python}, {count} package{'s' * (count != 1)}"


def _build(tmp: Path, declared: Declared, uv: str | None, log: Path) -> None:
    """The venv in ``tmp``; every tool's output appended to ``log``."""
    log.write_text("")

    def _run(argv: list[str], what: str) -> None:
        _logged(argv, what, log)

    requirements = tmp / "requirements.txt"
    if uv:
        # --relocatable: scripts keep working after the rename into place.
        argv = [uv, "venv", "--quiet", "--no-project", "--relocatable"]
        _run([*argv, "--python", _python_request(declared), str(tmp)], "uv venv")
        requirements.write_text("\n".join(declared.requirements) + "\n")
        if declared.requirements:
            argv = [uv, "pip", "install", "--python", str(tmp / "bin" / "python")]
            _run([*argv, "-r", str(requirements)], "uv pip install")
        return
    python = _fallback_python(declared)
    _run([python, "-m", "venv", str(tmp)], "python -m venv")
    requirements.write_text("\n".join(declared.requirements) + "\n")
    if declared.requirements:
        pip = [str(tmp / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, "--disable-pip-version-check", "-r", str(requirements)], "pip")


def _move_scripts(tmp: Path, folder: Path) -> None:
    """Point pip's scripts at the venv's final place (uv's are relocatable)."""
    old, new = f"#!{tmp}/bin/".encode(), f"#!{folder}/bin/".encode()
    for script in (tmp / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if data.startswith(old):
                script.write_bytes(new + data[len(old) :])


def _python_request(declared: Declared) -> str:
    if not declared.python or _matches(declared.python, sys.version_info[:3]):
        return sys.executable
    return declared.python


def _fallback_python(declared: Declared) -> str:
    if not declared.python or _matches(declared.python, sys.version_info[:3]):
        return sys.executable
    minor = ".".join(declared.python.split(".")[:2])
    found = shutil.which(f"python{minor}")
    if found is None:
        raise BuildFailed(
            f"python {declared.python} not found (no python{minor} on PATH): "
            "install uv (pip install uv), which finds or fetches it, or that "
            "Python"
        )
    return found


def _matches(wanted: str, have: tuple[int, ...]) -> bool:
    parts = wanted.split(".")
    return all(p.isdigit() and int(p) == h for p, h in zip(parts, have))


def _logged(argv: list[str], what: str, log: Path) -> None:
    with open(log, "a") as out:
        try:
            done = process.run(argv, timeout=BUILD_TIMEOUT_S, echo=out)
        except process.CannotStart as exc:
            raise BuildFailed(f"{what}: {exc.reason}") from None
        except process.TimedOut:
            raise BuildFailed(f"{what} ran past {BUILD_TIMEOUT_S} s") from None
    if done.returncode != 0:
        said = _said(done.tail)
        raise BuildFailed(
            f"{what} failed (exit {done.returncode}): {said} (log: {_shown(log)})"
        )


def _said(tail: tuple[str, ...]) -> str:
    """The tool's last error, joined from the lines it wrapped (uv draws a
    tree: ``× No solution ... ╰─▶ Because ...``)."""
    starts = [i for i, ln in enumerate(tail) if ln.lstrip().startswith(ERROR_MARKS)]
    lines = tail[starts[-1] if starts else max(len(tail) - 1, 0) :]
    words = " ".join(lines).replace("╰─▶", " ").replace("│", " ").split()
    text = " ".join(words).lstrip("× ")
    return text if len(text) <= SAID_CHARS else text[: SAID_CHARS - 3] + "..."


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
