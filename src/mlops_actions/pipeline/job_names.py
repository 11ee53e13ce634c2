"""The name an Azure ML pipeline job is submitted under.

Inside GitHub Actions the name is derived from the repository, the workflow
run, its attempt and the pipeline (and whether it is the light variant), so a
step that is retried after a lost connection, or a runner that restarts the
step, attaches to the job it started instead of starting a second one on a GPU
cluster. A re-run of the workflow (a new attempt) is a new job. Outside
Actions each submission gets a fresh name: there is no run to attach to.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone

from mlops_actions.pipeline.runs import JOB_NAME

__all__ = ["JOB_NAME", "job_name"]
_UNSAFE = re.compile(r"[^a-z0-9]+")


def job_name(
    pipeline: str,
    *,
    light: bool = False,
    environ: Mapping[str, str],
    now: datetime | None = None,
) -> str:
    """``<pipeline>-<run>-<attempt>-<hash>`` in a workflow run, else
    ``<pipeline>-<UTC time>-<random>``; always a valid Azure ML job name."""
    slug = (_UNSAFE.sub("-", pipeline.lower()).strip("-") or "pipeline")[:40]
    slug = slug.rstrip("-")
    if light:
        slug = f"{slug}-light"
    repo, run = environ.get("GITHUB_REPOSITORY"), environ.get("GITHUB_RUN_ID")
    if repo and run:
        attempt = environ.get("GITHUB_RUN_ATTEMPT") or "1"
        identity = "\n".join((repo, run, attempt, pipeline, "light" * light))
        digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
        return f"{slug}-{_safe(run)}-{_safe(attempt)}-{digest}"
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return f"{slug}-{stamp}-{secrets.token_hex(3)}"


def _safe(part: str) -> str:
    return _UNSAFE.sub("-", part.lower()).strip("-")[:20] or "0"
