"""Wheels for the build context: mlops-actions itself, and (``--wheels``) every
requirement, so an image builds with ``pip --no-index`` where no index is
reachable.

mlops-actions' wheel is built from the checkout it is installed from (an
editable or local-folder install), else repacked from the installed files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from mlops_actions import process
from mlops_actions.errors import BackendError, ToolMissing, UsageError
from mlops_actions.image.requirements import SELF

#: seconds pip may take to build our wheel / to fetch every wheel
BUILD_TIMEOUT = 300
DOWNLOAD_TIMEOUT = 900
# What a source build of mlops-actions needs; a fresh copy keeps stale files in
# the checkout's build/ folder out of the wheel.
_SOURCE_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in")
_SOURCE_GLOBS = ("README*", "LICENSE*", "COPYING*")


def toolkit_wheel(dest: Path) -> Path:
    """Write mlops-actions' wheel into ``dest``; its path."""
    dist = metadata.distribution(SELF)
    source = _source_checkout(dist)
    if source is not None:
        return _build_from_source(source, dest)
    return _repack_installed(dist, dest)


def requires(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise UsageError(f"{wheel}: not a wheel (no single .dist-info/METADATA)")
        text = zf.read(names[0]).decode("utf-8")
    return Parser().parsestr(text).get_all("Requires-Dist") or []


def wheel_version(wheel: Path) -> str:
    """The version in a wheel's file name (``name-version-tags.whl``)."""
    return wheel.name.split("-")[1]


def download(requirements: Path, dest: Path) -> list[Path]:
    """The wheel of every pin in ``requirements`` into ``dest`` (a source-only
    package is built into a wheel here); the new files. No dependencies
    beyond the pins: requirements.txt is the whole closure, less what a
    served image never imports, and the image installs it ``--no-deps``."""
    before = set(dest.glob("*.whl"))
    argv = [
        *_pip(),
        "wheel",
        "--quiet",
        "--progress-bar=off",
        "--disable-pip-version-check",
        "--no-deps",
        "--wheel-dir",
        str(dest),
        "--requirement",
        str(requirements),
    ]
    _run(argv, DOWNLOAD_TIMEOUT, "downloading the image's wheels (--wheels)")
    return sorted(set(dest.glob("*.whl")) - before)


def _source_checkout(dist: metadata.Distribution) -> Path | None:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    data = json.loads(text)
    url = data.get("url", "")
    if "dir_info" not in data or not url.startswith("file://"):
        return None
    path = Path(url[len("file://") :])
    return path if (path / "pyproject.toml").is_file() else None


def _build_from_source(source: Path, dest: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="mlops-wheel-") as tmp:
        copy = Path(tmp, "src")
        copy.mkdir()
        for name in _SOURCE_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, copy / name)
        for pattern in _SOURCE_GLOBS:
            for found in source.glob(pattern):
                if found.is_file():
                    shutil.copy2(found, copy / found.name)
        shutil.copytree(
            source / "src",
            copy / "src",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
        )
        out = Path(tmp, "out")
        argv = [*_pip(), "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out)]
        if _has("setuptools"):
            # Offline and fast: the build backend is already here.
            argv.append("--no-build-isolation")
        _run([*argv, str(copy)], BUILD_TIMEOUT, f"building the wheel of {source}")
        (wheel,) = out.glob("*.whl")
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheel, dest / wheel.name))


def _repack_installed(dist: metadata.Distribution, dest: Path) -> Path:
    """A wheel of the installed files (package and dist-info), RECORD rewritten."""
    version = dist.version
    info = f"mlops_actions-{version}.dist-info"
    skip = {f"{info}/{n}" for n in ("RECORD", "INSTALLER", "REQUESTED")}
    skip.add(f"{info}/direct_url.json")
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"mlops_actions-{version}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(dist.files or [], key=str):
            name = file.as_posix()
            if name in skip or "__pycache__" in name or name.startswith(".."):
                continue
            if not name.startswith(("mlops_actions/", info + "/")):
                continue
            data = Path(file.locate()).read_bytes()
            zf.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
            records.append(f"{name},sha256={digest.rstrip(b'=').decode()},{len(data)}")
        records.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return wheel


def _pip() -> list[str]:
    if not _has("pip"):
        raise ToolMissing(
            "mlops image bundle needs pip in mlops' own environment "
            f"({sys.prefix}): {sys.executable} -m ensurepip"
        )
    return [sys.executable, "-m", "pip"]


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def _run(argv: list[str], timeout: float, what: str) -> None:
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    try:
        done = process.capture(argv, timeout=timeout, env=env)
    except process.TimedOut:
        raise BackendError(f"{what}: pip took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise BackendError(f"{what}: pip failed (exit {done.returncode})", detail=tail)
