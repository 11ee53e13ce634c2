"""The scorer's build context: Dockerfile, model, pinned requirements, wheels.

``make_bundle`` writes a folder any builder can turn into the scorer image
(``mlops image build``, ``docker buildx build``, ``buildah build``), and
``bundle.json`` (schema ``mlops-actions/bundle``) describing it: the model's
name, version, commit and digest, the pins, and every file with its sha256.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlops_actions.digest import file_digest, tree_digest
from mlops_actions.errors import UsageError
from mlops_actions.image import dockerfile
from mlops_actions.image import requirements as locking
from mlops_actions.image import slim
from mlops_actions.image import wheels as wheelhouse
from mlops_actions.records.base import RecordUnreadable, read_record, write_record
from mlops_actions.records.image import BundleRecord

BUNDLE_FILE = "bundle.json"
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_COMMIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
_MODELS_URI = re.compile(
    r"models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>.+))"
)


@dataclass(frozen=True)
class ModelSource:
    """A model folder on this machine, and who it is."""

    folder: Path
    name: str
    version: str | None
    commit: str | None
    uri: str


@dataclass(frozen=True)
class Bundle:
    folder: Path
    record: dict[str, Any]

    @property
    def requirements(self) -> list[str]:
        return self.record["requirements"]

    @property
    def model(self) -> dict[str, Any]:
        return self.record["model"]

    @property
    def size(self) -> int:
        return sum(f["size"] for f in self.record["files"])


def make_bundle(
    model: str,
    out: Path,
    *,
    name: str | None = None,
    version: str | None = None,
    commit: str | None = None,
    source: str | None = None,
    wheels: bool = False,
    toolkit_wheel: Path | None = None,
    backend: str = "local",
    tracking_uri: str | None = None,
) -> Bundle:
    """Write the build context of ``model`` (a folder or ``models:/`` URI) to
    ``out``, replacing an earlier bundle there. ``toolkit_wheel`` is the
    mlops-actions wheel to install (default: built from this installation);
    ``wheels`` fetches every requirement's wheel, for builds without an index.
    Nothing is left at ``out`` when a step fails."""
    from mlops_actions.registry.base import check_name, current_commit

    out = out.absolute()
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        found = resolve_model(model, Path(tmp, "download"), backend, tracking_uri)
        if out == found.folder or out in found.folder.parents:
            raise UsageError(f"--out {out} holds the model itself: pick another folder")
        if found.folder in out.parents:
            raise UsageError(f"--out {out} is inside the model folder {found.folder}")
        digest = tree_digest(found.folder)
        commit = commit or found.commit or current_commit()
        identity = {
            "name": check_name(name or found.name),
            "version": _checked(
                version or found.version or digest[:12], _VERSION, "version"
            ),
            "commit": _checked(commit, _COMMIT, "commit") if commit else None,
            "digest": digest,
            "uri": found.uri,
        }
        stage = Path(tmp, "bundle")
        _copy_model(found.folder, stage / "model")
        record = _write_context(
            stage, identity, source or _source_url(), wheels, toolkit_wheel
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(stage, out)
    return Bundle(out, record)


def _write_context(
    stage: Path,
    model: dict[str, Any],
    source: str | None,
    wheels: bool,
    toolkit_wheel: Path | None,
) -> dict[str, Any]:
    """Wheels, requirements.txt, Dockerfile and bundle.json beside model/."""
    wheel_dir = stage / "wheels"
    if toolkit_wheel is not None:
        wheel_dir.mkdir(parents=True)
        wheel = Path(shutil.copy2(toolkit_wheel, wheel_dir / toolkit_wheel.name))
    else:
        wheel = wheelhouse.toolkit_wheel(wheel_dir)
    requires = wheelhouse.requires(wheel)
    if not locking.has_serve_extra(requires):
        raise UsageError(
            f"{wheel.name} has no '{locking.EXTRA}' extra: the "
            "scorer image needs an mlops-actions with the scorer in it"
        )
    pins = locking.lock(requires, stage / "model" / "requirements.txt")
    (stage / "requirements.txt").write_text(pins.text(), encoding="utf-8")
    if wheels:
        wheelhouse.download(stage / "requirements.txt", wheel_dir)
    spec = dockerfile.ImageSpec(
        model_name=model["name"],
        model_version=model["version"],
        commit=model["commit"],
        model_digest=model["digest"],
        created=_created(),
        toolkit_version=wheelhouse.wheel_version(wheel),
        toolkit_wheel=wheel.relative_to(stage).as_posix(),
        offline=wheels,
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        source=source,
    )
    (stage / "Dockerfile").write_text(dockerfile.render(spec), encoding="utf-8")
    shutil.copyfile(slim.__file__, stage / dockerfile.SLIM)
    record = BundleRecord.model_validate(
        {
            "model": model,
            "created": spec.created,
            "base_image": spec.base_image,
            "python": spec.python,
            "offline": wheels,
            "mlops_actions": {
                "version": spec.toolkit_version,
                "wheel": spec.toolkit_wheel,
            },
            "labels": dockerfile.labels(spec),
            "requirements": pins.lines(),
            "notes": pins.notes,
            "files": _files(stage),
        }
    )
    write_record(stage / BUNDLE_FILE, record)
    return record.to_json()


def read_bundle(folder: Path) -> dict[str, Any] | None:
    """``bundle.json`` of a bundle folder, or None when there is none."""
    path = folder / BUNDLE_FILE
    try:
        return read_record(path, BundleRecord).as_read()
    except RecordUnreadable as exc:
        if isinstance(exc.error, FileNotFoundError):
            return None
        raise UsageError(f"{path}: cannot be read ({exc.error})") from None


def resolve_model(
    model: str, download_to: Path, backend: str, tracking_uri: str | None
) -> ModelSource:
    """A local MLflow model folder as is; a ``models:/NAME/VERSION`` or
    ``models:/NAME@ALIAS`` URI downloaded from the registry."""
    if model.startswith("models:/"):
        return _from_registry(model, download_to, backend, tracking_uri)
    folder = Path(model).absolute()
    if not folder.is_dir():
        raise UsageError(f"model {model}: no such folder (or use models:/NAME/VERSION)")
    if not (folder / "MLmodel").is_file():
        raise UsageError(f"model {model}: not an MLflow model folder (no MLmodel file)")
    return ModelSource(folder, folder.name, None, None, str(folder))


def _from_registry(
    uri: str, dest: Path, backend: str, tracking_uri: str | None
) -> ModelSource:
    from mlops_actions.registry import open_registry
    from mlops_actions.registry.base import CHAMPION

    match = _MODELS_URI.fullmatch(uri)
    if not match:
        raise UsageError(f"model {uri}: use models:/NAME/VERSION or models:/NAME@ALIAS")
    name, alias = match["name"], match["alias"]
    registry = open_registry(backend, tracking_uri=tracking_uri)
    if alias is None:
        found = registry.get(name, match["version"])
    elif alias == CHAMPION:
        champion = registry.champion(name)
        if champion is None:
            raise UsageError(f"model {uri}: {name} has no champion yet")
        found = champion
    else:
        raise UsageError(
            f"model {uri}: of the aliases only @{CHAMPION} is followed; "
            "name the version (models:/NAME/VERSION)"
        )
    local = registry.download(name, found.version, dest)
    return ModelSource(local, name, found.version, found.commit, found.uri)


def _check_out(out: Path) -> None:
    if out.is_file():
        raise UsageError(f"--out {out} is a file: give a folder")
    if out.is_dir() and any(out.iterdir()) and read_bundle(out) is None:
        raise UsageError(
            f"--out {out} is not empty and holds no {BUNDLE_FILE}: give a new or "
            "empty folder (an earlier bundle there is replaced)"
        )


def _copy_model(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # The image's non-root user must read what root owns: files 644 (755 when
    # executable), folders 755, whatever umask the model was saved under.
    for root, dirs, files in os.walk(dest):
        os.chmod(root, 0o755)
        for file in files:
            path = Path(root, file)
            executable = path.stat().st_mode & stat.S_IXUSR
            os.chmod(path, 0o755 if executable else 0o644)


def _files(stage: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        found.append(
            {
                "path": path.relative_to(stage).as_posix(),
                "sha256": file_digest(path),
                "size": path.stat().st_size,
            }
        )
    return found


def _checked(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise UsageError(
            f"--{what} {value!r}: use letters, digits and . _ - "
            f"({'/ ' if what == 'commit' else '+ '}too), up to 128 characters"
        )
    return value


def _created() -> str:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        if epoch and epoch.isdigit()
        else datetime.now(timezone.utc)
    )
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _source_url() -> str | None:
    server = os.environ.get("GITHUB_SERVER_URL")
    repository = os.environ.get("GITHUB_REPOSITORY")
    return f"{server}/{repository}" if server and repository else None
