"""A step inside its environment's image, under podman.

The image is the environment's ``image:`` (pulled by podman when missing) or
its ``build:`` context built with buildah as ``localhost/mlops-env:<hash>``,
the hash being the context's content, so an unchanged context is not built
again. The step sees the same paths as on the host: its code folder, the
state folder (runs, inputs and outputs, tracking database), the working
directory and every absolute path its command names are mounted where they are.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path

from mlops_actions import process
from mlops_actions.errors import BackendError, ToolMissing, UsageError
from mlops_actions.image.builders import Buildah
from mlops_actions.pipeline.environments.declared import Declared
from mlops_actions.pipeline.environments.failed import BuildFailed

#: extra ``podman run`` flags for hosts that need them (runtime, ulimits)
ENV_PODMAN_FLAGS = "MLOPS_PODMAN_RUN_FLAGS"
BUILD_TIMEOUT_S = 3600
#: host variables that mean nothing inside the image
HOST_ONLY = ("PATH", "HOME", "VIRTUAL_ENV", "PYTHONHOME", "PWD", "OLDPWD")
#: top-level folders of the image, never mounted over
SYSTEM = ("etc", "usr", "bin", "sbin", "lib", "lib64", "proc", "sys", "dev", "run")
Say = Callable[[str], None]


def tools(declared: Declared, which: Callable[[str], str | None]) -> dict[str, str]:
    """podman (and buildah for a build context), or ToolMissing naming them."""
    needed = ["podman"] + (["buildah"] if declared.build is not None else [])
    found = {name: which(name) for name in needed}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        names = " and ".join(missing)
        raise ToolMissing(
            f"--env container needs {names}, not installed: apt-get install "
            f"{' '.join(missing)} (or use --env venv / --env host)"
        )
    return {name: str(path) for name, path in found.items()}


def image_tag(declared: Declared) -> str:
    if declared.build is None:
        if declared.unresolved:
            raise UsageError(
                f"--env container: environment {declared.source}: "
                f"{declared.unresolved}, so no image to run; use --env host"
            )
        if not declared.image:
            raise UsageError(
                f"--env container: environment {declared.source} has no image "
                "or build context; use --env venv or --env host"
            )
        return declared.image
    return f"localhost/mlops-env:{declared.image_hash()[:16]}"


def ensure_image(declared: Declared, found: dict[str, str], say: Say) -> str:
    """The image to run; a build context is built once per content hash."""
    tag = image_tag(declared)
    if declared.build is None:
        return tag
    exists = process.capture([found["podman"], "image", "exists", tag], timeout=60)
    if exists.returncode == 0:
        return tag
    say(f"env: building image {tag} from {declared.build} with buildah")
    try:
        Buildah(found["buildah"]).build(
            declared.build,
            tag,
            build_args={},
            pull="missing",
            timeout=BUILD_TIMEOUT_S,
            log=None,
        )
    except BackendError as exc:
        said = (exc.detail or "").strip().splitlines()[-1:] or [""]
        raise BuildFailed(f"{exc.message}: {said[0]}") from None
    return tag


def podman_argv(
    podman: str,
    image: str,
    argv: list[str],
    env: Mapping[str, str],
    *,
    cwd: Path,
    mounts: list[Path],
) -> list[str]:
    """``podman run --rm`` of ``argv`` in ``image`` at ``cwd``, ``mounts`` at
    the same paths; variables passed by name (their values stay off the
    command line) when the runner set them, not those merely inherited."""
    workdir = os.path.abspath(cwd)  # the runner may hand a relative one
    wrapped = [podman, "run", "--rm", "--network=host", "--workdir", workdir]
    wrapped += shlex.split(os.environ.get(ENV_PODMAN_FLAGS, ""))
    for folder in _outermost(mounts):
        wrapped += ["--volume", f"{folder}:{folder}"]
    for name in sorted(_passed(env)):
        wrapped += ["--env", name]
    return [*wrapped, image, *argv]


def mounts_for(argv: list[str], cwd: Path, state: Path) -> list[Path]:
    """Folders the step needs: its code, the state, the working directory and
    every existing absolute path in its command (inputs given as paths)."""
    found = [cwd, state.resolve(), Path.cwd()]
    for arg in argv:
        try:
            words = shlex.split(arg)
        except ValueError:
            words = arg.split()
        for word in words:
            value = word.partition("=")[2] if word.startswith("-") else word
            if value.startswith("/") and os.path.exists(value):
                found.append(Path(value))
    return [path for path in found if not _system(Path(os.path.abspath(path)))]


def _system(path: Path) -> bool:
    """The image's own folders are never hidden by the host's."""
    return len(path.parts) < 2 or path.parts[1] in SYSTEM


def _outermost(paths: list[Path]) -> list[Path]:
    chosen: list[Path] = []
    for path in sorted({Path(os.path.abspath(p)) for p in paths}, key=_depth):
        if not any(path == c or c in path.parents for c in chosen):
            chosen.append(path)
    return chosen


def _depth(path: Path) -> tuple[int, str]:
    return len(path.parts), str(path)


def _passed(env: Mapping[str, str]) -> list[str]:
    ours = ("MLFLOW_", "MLOPS_", "PYTHON", "AZUREML_")
    return [
        name
        for name, value in env.items()
        if name not in HOST_ONLY
        and (name.startswith(ours) or os.environ.get(name) != value)
    ]
