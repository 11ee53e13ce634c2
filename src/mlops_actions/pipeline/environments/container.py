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
    builds = declared.build is not None or declared.conda_layer
    needed = ["podman"] + (["buildah"] if builds else [])
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
    if declared.build is None and not declared.conda_layer:
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


def ensure_image(
    declared: Declared, found: dict[str, str], say: Say, state: Path
) -> str:
    """The image to run; a build context (or an image with a conda file) is
    built once per content hash."""
    tag = image_tag(declared)
    if declared.build is None and not declared.conda_layer:
        return tag
    exists = process.capture([found["podman"], "image", "exists", tag], timeout=60)
    if exists.returncode == 0:
        return tag
    context = declared.build or conda_context(declared, state)
    what = declared.build or f"{declared.image} + {declared.conda_file}"
    say(f"env: building image {tag} from {what} with buildah")
    try:
        Buildah(found["buildah"]).build(
            context,
            tag,
            build_args={},
            pull="missing",
            timeout=BUILD_TIMEOUT_S,
            log=None,
        )
    except BackendError as exc:
        lines = (exc.detail or "").strip().splitlines()
        # Our own Dockerfile's refusal, else the build's last word.
        ours = [line for line in lines if line.startswith("mlops: ")]
        said = (ours or lines[-1:] or [""])[0]
        raise BuildFailed(f"{exc.message}: {said}") from None
    return tag


#: the conda layer's Dockerfile: the conda file applied to the image's base
#: environment, or a line that says the image has no conda to apply it with
CONDA_DOCKERFILE = """\
FROM {image}
COPY conda.yml /tmp/mlops-conda.yml
RUN command -v conda >/dev/null 2>&1 || {{ echo "mlops: image {image} has no \
conda to install conda_file {conda} with: use an image with conda, or a build \
context (build: path:), or --env venv" >&2; exit 1; }}
RUN conda env update --name base --file /tmp/mlops-conda.yml \
 && conda clean --all --yes
"""


def conda_context(declared: Declared, state: Path) -> Path:
    """A build context under ``<state>/envs/`` for an image and a conda file."""
    assert declared.image and declared.conda_file
    folder = state / "envs" / f"image-{declared.image_hash()[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conda.yml").write_bytes(declared.conda_file.read_bytes())
    dockerfile = CONDA_DOCKERFILE.format(
        image=declared.image, conda=declared.conda_file.name
    )
    (folder / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    return folder


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
