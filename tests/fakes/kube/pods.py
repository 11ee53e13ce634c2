"""What the scheduler and the kubelet do to a Pod: scheduled at once, Running
and Ready ``ready_delay`` seconds later; unless one of its images is broken,
then it stays not ready, its container waiting with ImagePullBackOff or
CrashLoopBackOff (restarting), with the kubelet's events on the pod.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.kube.kinds import PODS
from tests.fakes.kube.store import Obj, Store, now

_pod_ips = itertools.count(4)
NODE = "aks-nodepool1-12345678-vmss000000"
NODE_IP = "10.224.0.4"


@dataclass
class Breakage:
    reason: str  # ImagePullBackOff or CrashLoopBackOff
    message: str | None


@dataclass
class Kubelet:
    store: Store
    ready_delay: float = 0.2
    #: image (or image prefix) -> why its pods do not start
    broken: dict[str, Breakage] = field(default_factory=dict)
    #: pod uid -> when it was created, became ready, last failed (monotonic)
    born: dict[str, float] = field(default_factory=dict)
    ready_at: dict[str, float] = field(default_factory=dict)
    failed_at: dict[str, float] = field(default_factory=dict)

    def breakage(self, image: str) -> Breakage | None:
        for prefix, breakage in self.broken.items():
            if image == prefix or image.startswith(prefix):
                return breakage
        return None

    def available(self, pod: Obj, min_ready_seconds: float) -> bool:
        since = self.ready_at.get(pod["metadata"]["uid"])
        return since is not None and time.monotonic() - since >= min_ready_seconds

    def forget(self, uid: str) -> None:
        for table in (self.born, self.ready_at, self.failed_at):
            table.pop(uid, None)

    # -- a new pod -------------------------------------------------------
    def new_status(self, spec: Obj) -> Obj:
        n = next(_pod_ips)
        stamp = now()
        pod_ip = f"10.244.{n // 250}.{n % 250 + 1}"
        return {
            "phase": "Pending",
            "conditions": [
                _condition("PodScheduled", True, stamp),
                _condition("Initialized", True, stamp),
                _not_ready("Ready", spec, stamp),
                _not_ready("ContainersReady", spec, stamp),
            ],
            "hostIP": NODE_IP,
            "hostIPs": [{"ip": NODE_IP}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": stamp,
            "containerStatuses": [
                _container(c, {"waiting": {"reason": "ContainerCreating"}})
                for c in spec.get("containers") or []
            ],
            "qosClass": "BestEffort",
        }

    # -- time passing ----------------------------------------------------
    def run(self) -> None:
        clock = time.monotonic()
        for pod in list(self.store.items(PODS)):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            uid = meta["uid"]
            born = self.born.setdefault(uid, clock)
            if uid in self.ready_at or clock - born < self.ready_delay:
                continue
            images = [c.get("image", "") for c in pod["spec"].get("containers") or []]
            broken = next((b for b in map(self.breakage, images) if b), None)
            if broken is None:
                self._start(pod)
                self.ready_at[uid] = clock
            elif clock - self.failed_at.get(uid, 0.0) >= max(self.ready_delay, 0.05):
                self.failed_at[uid] = clock
                self._fail(pod, broken)

    def _start(self, pod: Obj) -> None:
        pod = copy.deepcopy(pod)
        stamp = now()
        status = pod.setdefault("status", {})
        status["phase"] = "Running"
        status["conditions"] = [
            _condition(kind, True, stamp)
            for kind in (
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
            )
        ]
        running = {"running": {"startedAt": stamp}}
        status["containerStatuses"] = [
            {**_container(c, running), "ready": True, "started": True}
            for c in pod["spec"].get("containers") or []
        ]
        self.store.save(PODS, pod)
        for c in pod["spec"].get("containers") or []:
            for reason, message in (
                (
                    "Pulled",
                    f'Container image "{c["image"]}" already present on machine',
                ),
                ("Created", f"Created container: {c['name']}"),
                ("Started", f"Started container {c['name']}"),
            ):
                self.store.emit(pod, reason, message, component="kubelet")

    def _fail(self, pod: Obj, broken: Breakage) -> None:
        pod = copy.deepcopy(pod)
        status = pod.setdefault("status", {})
        crashing = broken.reason == "CrashLoopBackOff"
        before = {s["name"]: s for s in status.get("containerStatuses") or []}
        statuses = []
        for c in pod["spec"].get("containers") or []:
            if self.breakage(c.get("image", "")) is None:
                state = {"running": {"startedAt": now()}}
                statuses.append({**_container(c, state), "started": True})
            elif crashing:
                restarts = int(before.get(c["name"], {}).get("restartCount") or 0)
                statuses.append(self._crashed(pod, c, broken, restarts + 1))
            else:
                statuses.append(self._not_pulled(pod, c, broken))
        status["phase"] = "Running" if crashing else "Pending"
        status["containerStatuses"] = statuses
        self.store.save(PODS, pod)

    def _crashed(self, pod: Obj, c: Obj, broken: Breakage, restarts: int) -> Obj:
        meta, name = pod["metadata"], c["name"]
        where = f"{meta['name']}_{meta['namespace']}({meta['uid']})"
        message = broken.message or (
            f"back-off 10s restarting failed container={name} pod={where}"
        )
        stamp = now()
        ended = {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": stamp,
            "finishedAt": stamp,
        }
        self._events(
            pod,
            [
                ("Normal", "Started", f"Started container {name}"),
                (
                    "Warning",
                    "BackOff",
                    f"Back-off restarting failed container {name} in pod {where}",
                ),
            ],
        )
        waiting = {"waiting": {"reason": broken.reason, "message": message}}
        return {
            **_container(c, waiting),
            "restartCount": restarts,
            "lastState": {"terminated": ended},
        }

    def _not_pulled(self, pod: Obj, c: Obj, broken: Breakage) -> Obj:
        image = c.get("image", "")
        why = broken.message or "not found"
        self._events(
            pod,
            [
                ("Normal", "Pulling", f'Pulling image "{image}"'),
                ("Warning", "Failed", f'Failed to pull image "{image}": {why}'),
                ("Warning", "Failed", "Error: ErrImagePull"),
                ("Normal", "BackOff", f'Back-off pulling image "{image}"'),
                ("Warning", "Failed", "Error: ImagePullBackOff"),
            ],
        )
        message = broken.message or f'Back-off pulling image "{image}"'
        return _container(c, {"waiting": {"reason": broken.reason, "message": message}})

    def _events(self, pod: Obj, events: list[tuple[str, str, str]]) -> None:
        for type_, reason, message in events:
            self.store.emit(pod, reason, message, type_, component="kubelet")


def _condition(kind: str, ok: bool, stamp: str, **extra: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": stamp,
        **extra,
    }


def _not_ready(kind: str, spec: Obj, stamp: str) -> dict[str, Any]:
    names = " ".join(c.get("name", "") for c in spec.get("containers") or [])
    return _condition(
        kind,
        False,
        stamp,
        reason="ContainersNotReady",
        message=f"containers with unready status: [{names}]",
    )


def _container(container: Obj, state: Obj) -> dict[str, Any]:
    image = container.get("image", "")
    digest = hashlib.sha256(image.encode()).hexdigest()
    image_id = (
        image if "@sha256:" in image else f"{image.split(':')[0]}@sha256:{digest}"
    )
    return {
        "name": container.get("name", ""),
        "state": state,
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "image": image,
        "imageID": image_id,
        "started": False,
        **({"containerID": f"containerd://{digest}"} if "running" in state else {}),
    }


def is_ready(pod: Obj) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )
