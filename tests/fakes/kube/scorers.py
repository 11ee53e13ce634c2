"""Real scorers behind the fake cluster's images, and an AKS target on it.

Each image a test deploys is served by a real ``mlops scorer serve`` of a
model folder (started through the local deploy target, on a free port); the
fake's service and pod proxies forward to it, so a smoke test through the
Service gets the model's true answer.
"""

from __future__ import annotations

import hashlib
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from mlops_actions.deploy.base import ModelRef
from tests.fakes.kube import FakeKube

REPOSITORY = "registry.test/scorer"


def write_smoke(path: Path, factor: float) -> Path:
    """A smoke.json for the doubling model (``factor`` 2) or another: x in,
    ``factor`` x out, two rows."""
    request = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}
    body = {
        "schema": "mlops-actions/smoke",
        "version": 1,
        "request": request,
        "expected": {"predictions": [factor, 2 * factor]},
    }
    path.write_text(json.dumps(body))
    return path


def image_of(model: str) -> str:
    """A digest reference standing for the image that bakes ``model`` in."""
    return f"{REPOSITORY}@sha256:{hashlib.sha256(model.encode()).hexdigest()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Scorers:
    """One real scorer per model folder, registered as its image's backend."""

    def __init__(self, fake: FakeKube, state: Path) -> None:
        self.fake = fake
        self.state = state
        self.targets: dict[str, Any] = {}

    def serve(self, model: str | Path) -> str:
        """Start a scorer of ``model``; its image."""
        from mlops_actions.deploy.local_target import LocalTarget

        model = str(model)
        image = image_of(model)
        if model not in self.targets:
            where = self.state / f"scorer-{len(self.targets)}"
            target = LocalTarget(where, port=free_port())
            done = target.deploy(ModelRef(model), None)
            self.targets[model] = target
            self.fake.serve_image(image, done.deployment.url)
        return image

    def image_for(self, model: ModelRef) -> str:
        return self.serve(model.uri)

    def close(self) -> None:
        for target in self.targets.values():
            target.stop()


def aks_target(fake: FakeKube, tmp_path: Path, scorers: Scorers, **settings: Any):
    """An AksTarget on ``fake``, fast: short polls, a 30 s deadline."""
    from mlops_actions.deploy.aks import AksTarget
    from mlops_actions.deploy.kube import Kube, connect
    from mlops_actions.deploy.manifests import AksSettings

    strategy = settings.pop("strategy", "rolling")
    lines = settings.pop("lines", None)
    chosen = AksSettings(**{"app": "scorer", "replicas": 2, **settings})
    kube = Kube(connect(fake.kubeconfig(tmp_path / "kubeconfig")))
    return AksTarget(
        tmp_path / ".mlops",
        kube,
        chosen,
        image_for=scorers.image_for,
        strategy=strategy,
        commit="0123456789abcdef",
        timeout=30,
        poll=0.05,
        say=lines.append if lines is not None else (lambda line: None),
    )


def fetch(url: str, token: str | None = None) -> tuple[int, bytes]:
    """GET ``url`` (with a bearer ``token``, for a proxy URL): (status, body);
    status 0 when nothing answered."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""
