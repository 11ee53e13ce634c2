"""The words of image building: a reference, a build's result, the choices.

A leaf: it imports nothing of ours but ``errors``, so the builders, the
registry login and the build use case all speak it without importing one
another. The image is referenced by digest once pushed: ``image.json``
(schema ``mlops-actions/image``) carries ``repository@sha256:...``, never a
mutable tag alone.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from mlops_actions.errors import UsageError

BUILDERS = ("auto", "docker", "buildah")
PULL_POLICIES = ("missing", "always", "never")
#: seconds a build may take, and a push
BUILD_TIMEOUT = 1800
PUSH_TIMEOUT = 900
#: registries reached over plain HTTP (no TLS) when pushing: this machine only
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")

_DOMAIN = r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?|\[::1\](?::[0-9]+)?)"
_PATH = (
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Reference:
    """An image reference ``[registry/]path:tag``."""

    repository: str
    tag: str

    @classmethod
    def parse(cls, ref: str) -> Reference:
        if "@" in ref:
            raise UsageError(
                f"--tag {ref}: give a tag (REPOSITORY:TAG); the digest is known "
                "only once the image is pushed"
            )
        slash, colon = ref.rfind("/"), ref.rfind(":")
        if colon <= slash:
            raise UsageError(
                f"--tag {ref}: name the tag too (REPOSITORY:TAG, for example the "
                "model version): an image is never built as an implicit 'latest'"
            )
        repository, tag = ref[:colon], ref[colon + 1 :]
        first, _, rest = repository.partition("/")
        has_domain = rest and ("." in first or ":" in first or first == "localhost")
        path = rest if has_domain else repository
        if (
            not re.fullmatch(_PATH, path)
            or not _TAG.fullmatch(tag)
            or (has_domain and not re.fullmatch(_DOMAIN, first))
        ):
            raise UsageError(
                f"--tag {ref}: not an image reference: use [REGISTRY/]NAME:TAG with "
                "a lowercase NAME"
            )
        return cls(repository, tag)

    @property
    def registry(self) -> str | None:
        first, _, rest = self.repository.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return first
        return None

    @property
    def loopback(self) -> bool:
        """True for a registry on this machine, the one place plain HTTP is used."""
        host = re.sub(r":[0-9]+$", "", self.registry or "")
        return host in LOOPBACK

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"

    def by_digest(self, digest: str) -> str:
        return f"{self.repository}@{digest}"


@dataclass(frozen=True)
class ImageResult:
    """What ``image.json`` records."""

    tag: str
    #: ``repository@sha256:...`` once pushed, else None
    reference: str | None
    digest: str | None
    image_id: str
    #: bytes of the image's layers, uncompressed, as the builder stores them
    size: int | None
    build_seconds: float
    push_seconds: float | None
    builder: str
    base_image: str | None
    model: dict[str, Any] | None
    #: bytes of the base image's layers, when the builder holds it locally
    base_size: int | None = None

    @property
    def added_size(self) -> int | None:
        """Bytes the build put on top of the base: the scorer and the model."""
        if self.size is None or self.base_size is None:
            return None
        return self.size - self.base_size

    def to_json(self) -> dict[str, Any]:
        # Imported here: this module is loaded for `mlops --help`, pydantic is not.
        from mlops_actions.records.image import ImageRecord

        record = ImageRecord(**asdict(self), pushed=self.reference is not None)
        return record.to_json()
