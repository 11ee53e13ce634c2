"""Build the scorer image from a bundle, push it, and describe it in image.json.

``docker buildx`` when a Docker engine answers, else buildah (no daemon: it
builds as root or rootless, where no engine runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from mlops_actions.errors import UsageError
from mlops_actions.image.builders import choose
from mlops_actions.image.context import read_bundle
from mlops_actions.image.login import acr_login
from mlops_actions.image.reference import (
    BUILD_TIMEOUT,
    PULL_POLICIES,
    PUSH_TIMEOUT,
    ImageResult,
    Reference,
)


def build_image(
    context: Path,
    tag: str,
    *,
    push: bool = False,
    builder: str = "auto",
    base_image: str | None = None,
    pull: str = "missing",
    timeout: float = BUILD_TIMEOUT,
    log: Callable[[str], None] | None = None,
    acr: str | None = None,
) -> ImageResult:
    """Build the bundle at ``context`` as ``tag``; push it with ``push``.

    Raises :class:`ToolMissing` (exit 4) when neither a Docker engine nor
    buildah is there, BackendError (exit 3) with the log's tail when the build
    or the push fails or runs out of time.
    """
    ref = Reference.parse(tag)
    if not (context / "Dockerfile").is_file():
        raise UsageError(
            f"{context}: no Dockerfile: make the build context with "
            "`mlops image bundle MODEL --out DIR` first"
        )
    if pull not in PULL_POLICIES:
        raise UsageError(f"--pull {pull}: use one of {', '.join(PULL_POLICIES)}")
    bundle = read_bundle(context)
    chosen = choose(builder)
    if acr:
        acr_login(acr, ref, chosen.executable)
    args = {"BASE_IMAGE": base_image} if base_image else {}
    started = time.monotonic()
    image_id = chosen.build(
        context, str(ref), build_args=args, pull=pull, timeout=timeout, log=log
    )
    build_seconds = time.monotonic() - started
    size = chosen.size(str(ref))
    base = base_image or (bundle or {}).get("base_image")
    base_size = chosen.size(base) if base and size is not None else None
    digest = push_seconds = None
    if push:
        started = time.monotonic()
        digest = chosen.push(ref, timeout=PUSH_TIMEOUT, log=log)
        push_seconds = round(time.monotonic() - started, 2)
    return ImageResult(
        tag=str(ref),
        reference=ref.by_digest(digest) if digest else None,
        digest=digest,
        image_id=image_id,
        size=size,
        build_seconds=round(build_seconds, 2),
        push_seconds=push_seconds,
        builder=chosen.name,
        base_image=base,
        model=(bundle or {}).get("model"),
        base_size=base_size,
    )
