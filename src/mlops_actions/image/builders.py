"""The two image builders: ``docker buildx`` (needs an engine) and buildah.

Each runs its command line with the log streamed to ``log`` and its last lines
kept for the error; a builder that fails or outlives its deadline is a
BackendError (exit 3) carrying that tail.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path

from mlops_actions import process
from mlops_actions.errors import BackendError, ToolMissing
from mlops_actions.image.reference import Reference

Log = Callable[[str], None] | None
#: lines of a failed build's log shown with the error
TAIL_LINES = 40
ENGINE_PROBE_TIMEOUT = 20
INSTALL_HINT = (
    "install buildah (Debian/Ubuntu: apt-get install buildah) or Docker with a "
    "running engine and the buildx plugin"
)


class Builder(ABC):
    """Builds a context into a local image, measures it, pushes it."""

    name: str

    def __init__(self, executable: str) -> None:
        self.executable = executable

    @abstractmethod
    def build(
        self,
        context: Path,
        tag: str,
        *,
        build_args: Mapping[str, str],
        pull: str,
        timeout: float,
        log: Log,
    ) -> str:
        """Build ``context`` as ``tag``; the local image id (``sha256:...``)."""

    @abstractmethod
    def size(self, tag: str) -> int | None:
        """Bytes of the local image's layers, or None when unknown."""

    @abstractmethod
    def push(self, ref: Reference, *, timeout: float, log: Log) -> str:
        """Push ``ref``; the digest the registry knows it by (``sha256:...``)."""


class Docker(Builder):
    name = "docker"

    def build(self, context, tag, *, build_args, pull, timeout, log) -> str:
        with tempfile.TemporaryDirectory(prefix="mlops-image-") as tmp:
            iid = Path(tmp, "iid")
            argv = [self.executable, "buildx", "build", "--load", "--progress=plain"]
            argv += ["--file", str(context / "Dockerfile"), "--tag", tag]
            argv += ["--iidfile", str(iid)]
            argv += [f"--build-arg={k}={v}" for k, v in build_args.items()]
            if pull == "always":
                argv.append("--pull")
            run_logged([*argv, str(context)], timeout, log, "docker buildx build")
            return iid.read_text().strip()

    def size(self, tag: str) -> int | None:
        found = _output(
            [self.executable, "image", "inspect", "--format={{.Size}}", tag]
        )
        return int(found) if found and found.isdigit() else None

    def push(self, ref: Reference, *, timeout: float, log: Log) -> str:
        run_logged([self.executable, "push", str(ref)], timeout, log, "docker push")
        found = _output(
            [
                self.executable,
                "image",
                "inspect",
                "--format={{json .RepoDigests}}",
                str(ref),
            ]
        )
        try:
            recorded = json.loads(found or "[]")
        except ValueError:
            recorded = []
        for item in recorded:
            repository, _, digest = item.partition("@")
            if repository == ref.repository:
                return digest
        raise BackendError(
            f"docker push {ref}: no digest recorded for {ref.repository}"
        )


class Buildah(Builder):
    name = "buildah"

    def build(self, context, tag, *, build_args, pull, timeout, log) -> str:
        with tempfile.TemporaryDirectory(prefix="mlops-image-") as tmp:
            iid = Path(tmp, "iid")
            # Docker format: OCI image configs have no HEALTHCHECK, and buildah
            # drops it from them.
            argv = [self.executable, "build", "--format=docker"]
            if not os.environ.get("BUILDAH_ISOLATION"):
                # Works as root and rootless, with no runtime and no cgroup
                # set-up (crun and default rlimits fail in some CI containers).
                argv.append("--isolation=chroot")
            # "false" is buildah's "pull only if missing".
            argv.append("--pull=" + {"missing": "false"}.get(pull, pull))
            argv += ["--file", str(context / "Dockerfile"), "--tag", tag]
            argv += ["--iidfile", str(iid)]
            argv += [f"--build-arg={k}={v}" for k, v in build_args.items()]
            run_logged([*argv, str(context)], timeout, log, "buildah build")
            image_id = iid.read_text().strip()
        return image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"

    def size(self, tag: str) -> int | None:
        found = _output([self.executable, "inspect", "--type=image", tag])
        if not found:
            return None
        try:
            manifest = json.loads(json.loads(found).get("Manifest") or "{}")
            layers = manifest.get("layers") or []
        except (ValueError, AttributeError):
            return None
        return sum(int(layer.get("size", 0)) for layer in layers) or None

    def push(self, ref: Reference, *, timeout: float, log: Log) -> str:
        with tempfile.TemporaryDirectory(prefix="mlops-push-") as tmp:
            digest_file = Path(tmp, "digest")
            argv = [self.executable, "push", "--digestfile", str(digest_file)]
            if ref.loopback:
                argv.append("--tls-verify=false")
            argv += [str(ref), f"docker://{ref}"]
            run_logged(argv, timeout, log, f"buildah push {ref}")
            return digest_file.read_text().strip()


def choose(
    choice: str,
    *,
    which: Callable[[str], str | None] = shutil.which,
    docker_unready: Callable[[str], str | None] | None = None,
) -> Builder:
    """The builder for ``--builder auto|docker|buildah``.

    ``auto`` takes Docker when its engine answers and buildx is there, else
    buildah. ``which`` finds a program; ``docker_unready(docker)`` returns
    None when Docker can build, else why not (both injectable for tests).
    """
    probe = docker_unready or _docker_unready
    docker, buildah = which("docker"), which("buildah")
    why = None
    if choice in ("auto", "docker") and docker:
        why = probe(docker)
        if why is None:
            return Docker(docker)
        if choice == "docker":
            raise ToolMissing(
                f"--builder docker: docker is installed, but {why}; or use "
                "--builder buildah"
            )
    if choice == "docker":
        raise ToolMissing(
            "--builder docker: docker is not installed: install Docker "
            "(https://docs.docker.com/engine/install/) or use --builder buildah"
        )
    if buildah:
        return Buildah(buildah)
    if choice == "buildah":
        raise ToolMissing(
            "--builder buildah: buildah is not installed: apt-get install buildah"
        )
    unready = f" (docker is installed, but {why})" if why else ""
    raise ToolMissing(f"no image builder found{unready}: {INSTALL_HINT}")


def run_logged(argv: list[str], timeout: float, log: Log, what: str) -> None:
    """Run ``argv``, passing each output line to ``log``; BackendError with the
    last lines when it fails or outlives ``timeout`` (its process group is
    ended)."""
    try:
        done = process.run(argv, on_line=log, timeout=timeout, tail_lines=TAIL_LINES)
    except process.CannotStart as exc:
        raise BackendError(f"{what}: {exc.message}") from None
    except process.TimedOut as exc:
        raise BackendError(
            f"{what} ran out of time after {timeout:.0f} s", detail="\n".join(exc.tail)
        ) from None
    if done.returncode != 0:
        raise BackendError(
            f"{what} failed (exit {done.returncode})", detail="\n".join(done.tail)
        )


def _output(argv: list[str]) -> str | None:
    try:
        done = process.capture(argv, timeout=60)
    except (process.CannotStart, process.TimedOut):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _docker_unready(docker: str) -> str | None:
    """None when the engine answers and buildx is installed, else why not."""
    for argv, problem in (
        (
            [docker, "info", "--format", "{{.ServerVersion}}"],
            "its engine does not answer",
        ),
        ([docker, "buildx", "version"], "its buildx plugin is missing"),
    ):
        try:
            done = process.capture(argv, timeout=ENGINE_PROBE_TIMEOUT)
        except process.TimedOut:
            return f"{problem} ({argv[1]} took over {ENGINE_PROBE_TIMEOUT} s)"
        except process.CannotStart as exc:
            return f"{problem} ({exc.reason})"
        if done.returncode != 0:
            lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            return f"{problem} ({lines[-1] if lines else f'exit {done.returncode}'})"
    return None
