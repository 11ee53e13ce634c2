"""The ``aks`` deploy target: the scorer image rolled out to Kubernetes.

Any cluster the ``kubernetes`` client can reach will do; AKS is where the
kubeconfig usually comes from (``azure/aks-set-context``). A deploy applies the
manifests of :mod:`.manifests` with server-side apply, waits for the rollout
by ``kubectl rollout status``'s rules within a deadline, then sends the smoke
request through the API server's proxy, so it reaches the pods as traffic
does. Any failure (the rollout stuck, the deadline passed, a wrong answer,
Ctrl-C) puts back what served before, waits until that is healthy again, and
only then raises, with pod statuses and recent events. A first deploy that
fails leaves no Deployment behind.

Strategies (:mod:`.strategies` holds canary and blue-green):

``rolling``
    The Deployment ``APP`` takes the new pod template; pods are replaced one
    at a time, a new one ready before an old one goes (maxUnavailable 0).
``canary``
    A second Deployment ``APP-canary`` beside the stable one, behind the same
    Service, takes a share of the traffic by replica count; after a bake its
    error rate and p95 latency are judged beside the stable pods', then it is
    promoted (a rolling update of the stable Deployment, the canary removed
    once that is done) or rejected (the canary removed, the stable untouched).
``blue-green``
    The idle colour ``APP-blue`` or ``APP-green`` is rolled out in full and
    smoke-tested pod by pod; only then does the Service's selector switch to
    it. The other colour keeps running, for an instant rollback.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlops_actions.deploy import manifests, strategies
from mlops_actions.deploy.base import Deployed, DeployTarget, ModelRef
from mlops_actions.deploy.kube import Kube
from mlops_actions.deploy.manifests import STABLE, AksSettings
from mlops_actions.deploy.rollout import progressing, revision
from mlops_actions.deploy.smoke import SmokeResult, check_smoke, smoke_test
from mlops_actions.deploy.workload import RolloutFailed, Workload
from mlops_actions.deploy.strategies import COLOURS
from mlops_actions.errors import BackendError, UsageError
from mlops_actions.image.dockerfile import PORT
from mlops_actions.jsonio import read_json, write_json

__all__ = ["AksDeployment", "AksTarget", "RolloutFailed"]

RECORD = "deploy/deploy.json"
PREVIOUS = "deploy/previous.json"
STRATEGIES = ("rolling", "canary", "blue-green")
#: the pod template annotation naming the model URI the image serves
MODEL_URI = "mlops-actions/model-uri"


@dataclass(frozen=True)
class AksDeployment:
    """The Deployment serving the model, as the cluster reports it."""

    url: str
    model: str
    version: str | None
    namespace: str
    deployment: str
    revision: int | None
    image: str
    started: float
    strategy: str = "rolling"

    @property
    def handle(self) -> str:
        return f"deployment/{self.deployment} revision {self.revision}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class AksTarget(DeployTarget):
    """The scorer's Deployments for ``settings.app`` in ``settings.namespace``.

    ``image_for`` gives the image (``REPOSITORY@sha256:...``) that serves a
    model; by default the model's own ``image``. ``timeout`` bounds each
    wait for a rollout; ``say`` gets progress.
    """

    name = "aks"
    loads_model = False  # the model is baked into the image

    def __init__(
        self,
        state: Path,
        kube: Kube,
        settings: AksSettings,
        *,
        image_for: Callable[[ModelRef], str] | None = None,
        strategy: str = "rolling",
        commit: str | None = None,
        timeout: float = 600.0,
        poll: float = 1.0,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise UsageError(
                f"--strategy {strategy}: choose one of {', '.join(STRATEGIES)}"
            )
        self.state = state
        self.kube = kube
        self.settings = settings
        self.image_for = image_for or _image_of
        self.strategy = strategy
        self.commit = commit
        self.timeout = timeout
        self.poll = poll
        self.say = say
        self.service = manifests.service(settings)["metadata"]["name"]

    @property
    def namespace(self) -> str:
        return self.settings.namespace

    @property
    def url(self) -> str:
        """The Service, through the API server's proxy."""
        return self.kube.proxy_url(self.namespace, self.service, manifests.PORT_NAME)

    def workload(self, track: str) -> Workload:
        name = manifests.deployment_name(self.settings, track)
        return Workload(
            self.kube,
            self.namespace,
            name,
            timeout=self.timeout,
            poll=self.poll,
            say=self.say,
        )

    # -- the interface ---------------------------------------------------
    def deploy(self, model: ModelRef, smoke: dict[str, Any] | None) -> Deployed:
        """Roll ``model``'s image out by the strategy and smoke-test it; on
        any failure put back what served before and raise."""
        if smoke is not None:
            check_smoke(smoke)  # a smoke test that cannot run changes nothing
        self._check_namespace()
        if self.strategy == "blue-green":
            track, result = strategies.blue_green(self, model, smoke)
        else:
            strategies.refuse_blue_green(self)
            if self.strategy == "canary":
                result = strategies.canary(self, model, smoke)
            else:
                result = self.rolling(model, smoke)
            track = STABLE
        done = Deployed(self.name, self._described(track), result, model.name)
        self._record(done)
        return done

    def status(self) -> AksDeployment | None:
        track = self.serving_track()
        if track is None:
            return None
        return self._described(track)

    def rollback(self) -> Deployed:
        """Serve what served before the current deployment: the other
        colour (blue-green), else ``kubectl rollout undo``."""
        track = self.serving_track()
        if track in COLOURS:
            track = strategies.switch_back(self, track)
        else:
            stable = self.workload(STABLE)
            previous = stable.previous()
            if previous is None:
                raise UsageError(
                    f"deployment {stable.name} in namespace {self.namespace} has "
                    "no earlier revision: nothing to roll back to; deploy a model "
                    "with mlops deploy aks first"
                )
            self.say(f"rolling back to revision {revision(previous)}")
            replicas = stable.replicas() or self.settings.replicas
            stale = progressing(stable.get())
            stable.undo_to(previous, replicas=replicas)
            stable.await_rollout("the rollback", stale=stale)
            track = STABLE
        now = self._described(track)
        done = Deployed(self.name, now, None, _registered_name(now.model))
        self._record(done)
        return done

    def stop(self) -> AksDeployment | None:
        """Scale the serving Deployment to zero (and a canary beside it); the
        history (and the Service) stays for a rollback."""
        now = self.status()
        if now is not None:
            for track in {self.serving_track() or STABLE, "canary"}:
                work = self.workload(track)
                if work.get() is not None:
                    work.scale(0)
        return now

    # -- rolling ---------------------------------------------------------
    def rolling(
        self, model: ModelRef, smoke: dict[str, Any] | None
    ) -> SmokeResult | None:
        """Apply the stable track's manifests, await, smoke-test through the
        Service; on failure undo to the revision that served before."""
        stable = self.workload(STABLE)
        docs = self.render(model, STABLE)
        before = stable.get()
        self.say(f"applying {len(docs)} manifests to namespace {self.namespace}")
        try:
            for doc in docs:
                self.kube.apply(doc)
            stable.await_rollout()
            result = self.smoke_service(smoke)
            if result is not None and not result.ok:
                raise result.failed("; rolled back")
        except BaseException as exc:
            # Ctrl-C and internal errors too: an unchecked revision must not
            # keep taking traffic
            stable.restore(before)
            if isinstance(exc, RolloutFailed):
                raise RolloutFailed(f"{exc.message}; rolled back", detail=exc.detail)
            raise
        stable.mark_served()
        return result

    # -- shared with the strategies --------------------------------------
    def render(
        self, model: ModelRef, track: str, *, replicas: int | None = None
    ) -> list[dict[str, Any]]:
        """The manifests of ``track`` serving ``model``."""
        settings = self.settings
        if replicas is not None:
            settings = dataclasses.replace(settings, replicas=replicas)
        docs = manifests.render(
            settings,
            image=self.image_for(model),
            model_name=model.name or "model",
            model_version=model.version,
            commit=self.commit,
            track=track,
        )
        for doc in docs:
            if doc["kind"] == "Deployment":
                template = doc["spec"]["template"]["metadata"]
                template.setdefault("annotations", {})[MODEL_URI] = model.uri
        return docs

    def serving_track(self) -> str | None:
        """The track the Service sends traffic to; None when nothing serves."""
        service = self.kube.get("Service", self.namespace, self.service)
        selector = ((service or {}).get("spec") or {}).get("selector") or {}
        track = selector.get(manifests.TRACK)
        if track is not None:
            return str(track)
        stable = self.workload(STABLE)
        return STABLE if stable.replicas() else None

    def smoke_service(self, smoke: dict[str, Any] | None) -> SmokeResult | None:
        """The smoke request through the Service, as traffic reaches it."""
        if smoke is None:
            return None
        where = f"services/{self.service}"

        def send(body: bytes, timeout: float) -> tuple[int, bytes]:
            return self.kube.proxy(
                "POST", self.namespace, where, manifests.PORT_NAME,
                "invocations", body, timeout=timeout,
            )  # fmt: skip

        result = smoke_test(self.url, smoke, send=send)
        self.say(f"smoke test: {'passed' if result.ok else result.summary()}")
        return result

    def smoke_pod(self, pod: str, smoke: dict[str, Any]) -> SmokeResult:
        """The smoke request to one pod, past the Service."""

        def send(body: bytes, timeout: float) -> tuple[int, bytes]:
            return self.kube.proxy(
                "POST", self.namespace, f"pods/{pod}", str(PORT),
                "invocations", body, timeout=timeout,
            )  # fmt: skip

        return smoke_test(f"pod {pod}", smoke, send=send)

    def _check_namespace(self) -> None:
        """A missing namespace is the user's to create; it is not created
        here (its quotas, policies and role bindings are theirs)."""
        path = f"/api/v1/namespaces/{self.namespace}"
        try:
            found = self.kube.call("GET", path, missing_ok=True)
        except BackendError:
            return  # a role bound in the namespace may not read namespaces
        if found is None:
            raise UsageError(
                f"namespace {self.namespace} does not exist in the cluster: "
                f"create it (kubectl create namespace {self.namespace}), or name "
                "another with --namespace or aks.namespace in mlops.yaml"
            )

    # -- records ---------------------------------------------------------
    def _described(self, track: str) -> AksDeployment:
        work = self.workload(track)
        live = work.get()
        if live is None:
            raise RolloutFailed(f"deployment {work.name} disappeared")
        template = live["spec"]["template"]
        meta = template.get("metadata") or {}
        labels = meta.get("labels") or {}
        containers = template.get("spec", {}).get("containers") or [{}]
        return AksDeployment(
            url=self.url,
            model=(meta.get("annotations") or {}).get(MODEL_URI, ""),
            version=labels.get(manifests.MODEL_VERSION) or None,
            namespace=self.namespace,
            deployment=work.name,
            revision=revision(live),
            image=str(containers[0].get("image", "")),
            started=work.started(live) or time.time(),
            strategy=self.strategy,
        )

    def _record(self, done: Deployed) -> None:
        body = done.to_json()
        current = read_json(self.state / RECORD)
        if current and current.get("image") != body.get("image"):
            write_json(self.state / PREVIOUS, current)
        write_json(self.state / RECORD, body)


def _image_of(model: ModelRef) -> str:
    if model.image is None:
        raise UsageError(
            f"no image serves {model.uri} yet: build and push it (mlops image "
            "build --push) and pass --image or --image-file"
        )
    return model.image


def _registered_name(uri: str) -> str | None:
    if not uri.startswith("models:/"):
        return None
    return uri.removeprefix("models:/").split("/", 1)[0] or None
