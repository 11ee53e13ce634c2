"""What a component's ``environment:`` declares, read from its files.

Azure ML accepts an environment inline (``conda_file:``, ``image:``,
``build:``), as a file reference, or by registered name (``azureml:NAME@latest``,
``azureml:NAME:V``). Reading is pure: files are read, nothing is built, so the
run header can say what each step will use before any step starts.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_actions import digest
from mlops_actions.errors import UsageError

#: conda names that a venv provides itself
BUILT_IN = ("python", "pip")
_NAME = re.compile(r"^(?:[\w.-]+::)?([A-Za-z0-9_.\-]+)")
_VERSION = re.compile(r"^python\s*==?\s*([0-9][0-9.*]*)\s*$")


@dataclass(frozen=True)
class Declared:
    """One environment as declared; empty fields where it declares nothing."""

    #: how the user wrote it, for messages (``azureml:mlops-cpu@latest``, a path)
    source: str
    name: str | None = None
    python: str | None = None
    requirements: tuple[str, ...] = ()
    conda_only: tuple[str, ...] = ()
    conda_file: Path | None = None
    image: str | None = None
    build: Path | None = None
    #: why a registered environment stayed unresolved, for the note
    unresolved: str | None = None

    @property
    def has_pip(self) -> bool:
        return bool(self.requirements)

    @property
    def packages(self) -> int:
        """Requirement lines that name a package (not index options)."""
        return sum(not line.startswith("-") for line in self.requirements)

    def venv_hash(self) -> str:
        """Content hash of what goes into a venv: same hash, same venv."""
        payload = {"python": self.python, "requirements": list(self.requirements)}
        blob = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    @property
    def conda_layer(self) -> bool:
        """An ``image:`` with a ``conda_file``: Azure ML builds the conda
        environment into the image; so does ``--env container``."""
        return self.build is None and bool(self.image) and self.conda_file is not None

    def image_hash(self) -> str:
        """Content hash of the container image: build context, or image name
        (and conda file content, for a conda layer)."""
        if self.build is not None:
            return digest.tree_digest(self.build)
        blob = str(self.image).encode()
        if self.conda_layer:
            assert self.conda_file is not None
            blob += b"\0" + self.conda_file.read_bytes()
        return hashlib.sha256(blob).hexdigest()


def declared_environment(raw: Any, base: Path) -> Declared:
    """The environment ``raw`` (a component's ``environment:``), files read
    relative to ``base`` (the component file's folder)."""
    if raw is None:
        return Declared(source="none")
    if isinstance(raw, dict):
        return _from_mapping(raw, base, source="inline environment")
    text = str(raw)
    if text.startswith("azureml:"):
        return _registered(text, base)
    path = (base / text.removeprefix("file:")).resolve()
    return _from_file(path, source=text)


def _from_file(path: Path, source: str) -> Declared:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"environment {source}: cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"environment {source}: {path} is not a mapping")
    return _from_mapping(data, path.parent, source=source)


def _from_mapping(data: dict[str, Any], base: Path, source: str) -> Declared:
    name = data.get("name")
    image = data.get("image")
    build = data.get("build")
    context = None
    if isinstance(build, dict) and build.get("path"):
        context = (base / str(build["path"])).resolve()
        dockerfile = str(build.get("dockerfile_path") or "Dockerfile")
        if dockerfile != "Dockerfile":
            raise UsageError(
                f"environment {source}: build.dockerfile_path {dockerfile}: "
                "locally the build context's Dockerfile is used; rename it "
                "Dockerfile"
            )
    conda = data.get("conda_file")
    conda_path = None
    if isinstance(conda, str):
        conda_path = (base / conda.removeprefix("file:")).resolve()
        try:
            conda = yaml.safe_load(conda_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(
                f"environment {source}: conda_file {conda_path}: {exc}"
            ) from None
    python, requirements, conda_only = _conda(conda or {}, conda_path or base)
    return Declared(
        source=source,
        name=str(name) if name else None,
        python=python,
        requirements=requirements,
        conda_only=conda_only,
        conda_file=conda_path,
        image=str(image) if image else None,
        build=context,
    )


def _conda(data: Any, where: Path) -> tuple[str | None, tuple[str, ...], tuple]:
    """Python version, pip lines and conda-only packages of a conda file."""
    python = None
    pip: list[str] = []
    conda_only: list[str] = []
    folder = where.parent if where.is_file() else where
    for item in (data.get("dependencies") or []) if isinstance(data, dict) else []:
        if isinstance(item, dict):
            for line in item.get("pip") or []:
                pip += _pip_line(str(line).strip(), folder)
            continue
        text = str(item).strip()
        found = _NAME.match(text)
        name = found.group(1).lower() if found else text
        if name == "python":
            version = _VERSION.match(text.replace("=", "==", 1).replace("===", "=="))
            python = version.group(1).rstrip(".*") if version else None
        elif name not in BUILT_IN:
            conda_only.append(text)
    return python, tuple(pip), tuple(conda_only)


def _pip_line(line: str, folder: Path) -> list[str]:
    """A pip entry; ``-r FILE`` is read in, so the hash covers its content."""
    for flag in ("-r ", "--requirement ", "--requirement="):
        if line.startswith(flag):
            path = folder / line[len(flag) :].strip()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"pip requirements {path}: {exc}") from None
            lines = [ln.split(" #")[0].strip() for ln in text.splitlines()]
            return [ln for ln in lines if ln and not ln.startswith("#")]
    return [line] if line and not line.startswith("#") else []


def _registered(text: str, base: Path) -> Declared:
    """``azureml:NAME@latest`` / ``azureml:NAME:V``: the project's own
    ``environments/*/environment.yml`` of that name, when there is one."""
    ref = text.removeprefix("azureml:")
    if ref.startswith("//"):
        return Declared(source=text, unresolved="a registry environment")
    name, _, version = ref.partition("@") if "@" in ref else ref.partition(":")
    version = "" if version == "latest" else version
    for folder in [base, *base.parents]:
        candidates = sorted(folder.glob("environments/*/environment.y*ml"))
        for path in candidates:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                continue
            if not isinstance(data, dict) or data.get("name") != name:
                continue
            if version and str(data.get("version")) != version:
                continue
            return _from_mapping(data, path.parent, source=text)
        if candidates:
            break  # the project's environments/ folder: stop looking above it
    return Declared(
        source=text,
        name=name,
        unresolved=f"no local environments/*/environment.yml named {name}",
    )
