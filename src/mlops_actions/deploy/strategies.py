"""Canary and blue-green rollouts of the ``aks`` target (see :mod:`.aks`).

Both keep what serves untouched until the new pods have proved themselves:
a canary by its metrics over a bake beside the stable pods, a blue-green
colour by a smoke request to each of its pods before the Service's selector
moves to it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mlops_actions.deploy import canary as judging
from mlops_actions.deploy import manifests
from mlops_actions.deploy.base import ModelRef
from mlops_actions.deploy.rollout import progress, revision
from mlops_actions.deploy.smoke import SmokeResult
from mlops_actions.deploy.workload import RolloutFailed, Workload
from mlops_actions.errors import CheckFailed, UsageError
from mlops_actions.image.dockerfile import PORT

if TYPE_CHECKING:
    from mlops_actions.deploy.aks import AksTarget

CANARY = "canary"
COLOURS = ("blue", "green")
#: how many smoke requests a bake sends to the canary pods, at most
BAKE_REQUESTS = 30


# -- canary ----------------------------------------------------------------
def canary(
    target: AksTarget, model: ModelRef, smoke: dict[str, Any] | None
) -> SmokeResult | None:
    """Bake a canary beside the stable pods; promote it or reject it."""
    settings = target.settings
    stable = target.workload(manifests.STABLE)
    live = stable.get()
    if live is None or not stable.replicas(live):
        target.say("no stable deployment serves yet: rolled out in full, no canary")
        return target.rolling(model, smoke)
    pods = judging.replicas_for(stable.replicas(live), settings.canary_weight)
    docs = target.render(model, CANARY, replicas=pods)
    work = target.workload(CANARY)
    served = f"stable {stable.name} revision {revision(live)} serves as before"
    target.say(f"canary {work.name}: {pods} pod(s) beside {stable.replicas(live)}")
    try:
        for doc in docs:
            if doc["kind"] == "Deployment":  # the stable track's HPA, PDB stay
                target.kube.apply(doc)
        work.await_rollout("the canary's rollout")
        verdict, result = _bake(target, work, stable, smoke)
    except BaseException as exc:
        _remove(target, work)
        if isinstance(exc, RolloutFailed):
            raise RolloutFailed(
                f"{exc.message}; canary removed, {served}", detail=exc.detail
            )
        raise
    if not verdict.ok:
        _remove(target, work)
        detail = "\n".join(result.mismatches) if result and result.mismatches else None
        raise CheckFailed(
            f"canary rejected: {verdict.summary()}; canary removed, {served}",
            detail=detail,
        )
    target.say(f"canary passed: {verdict.summary()}; promoting")
    # the stable Deployment rolls to the canary's template with the canary
    # still serving, so new pods are up before any old one goes
    promoted = target.rolling(model, smoke)
    _remove(target, work)
    return promoted


def _bake(
    target: AksTarget,
    work: Workload,
    stable: Workload,
    smoke: dict[str, Any] | None,
) -> tuple[judging.Verdict, SmokeResult | None]:
    """Smoke requests to the canary's pods over the bake; the canary's and
    the stable pods' metrics judged over the same window."""
    settings = target.settings
    seconds = float(settings.canary_bake_seconds)
    before = {t: _metrics(target, w) for t, w in (("c", work), ("s", stable))}
    deadline = time.monotonic() + seconds
    pause = max(seconds / BAKE_REQUESTS, target.poll / 10)
    result: SmokeResult | None = None
    sent = 0
    while True:
        pods = [p["metadata"]["name"] for p in work.pods(ready=True)]
        if smoke is not None and pods:
            result = target.smoke_pod(pods[sent % len(pods)], smoke)
            sent += 1
            if not result.ok:
                return (
                    judging.Verdict.refused(f"smoke test: {result.summary()}"),
                    result,
                )
        if time.monotonic() >= deadline:
            break
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
    after = {t: _metrics(target, w) for t, w in (("c", work), ("s", stable))}
    verdict = judging.judge(
        _window(after["c"], before["c"]),
        _window(after["s"], before["s"]),
        max_error_rate=settings.canary_max_error_rate,
        max_p95_ratio=settings.canary_max_p95_ratio,
    )
    return verdict, result


def _metrics(target: AksTarget, work: Workload) -> dict[str, judging.Sample]:
    """Each ready pod's counters, by pod name (a pod that does not answer
    counts as nothing answered)."""
    read = {}
    for pod in work.pods(ready=True):
        name = pod["metadata"]["name"]
        try:
            status, body = target.kube.proxy(
                "GET", target.namespace, f"pods/{name}",
                str(PORT), "metrics",
            )  # fmt: skip
        except OSError:
            continue
        if status == 200:
            read[name] = judging.parse(body.decode("utf-8", "replace"))
    return read


def _window(
    after: dict[str, judging.Sample], before: dict[str, judging.Sample]
) -> judging.Sample:
    return judging.total(
        sample - before.get(pod, judging.Sample()) for pod, sample in after.items()
    )


def refuse_blue_green(target: AksTarget) -> None:
    """Rolling and canary need a Service that selects every track."""
    track = target.serving_track()
    if track in COLOURS:
        app = target.settings.app
        raise UsageError(
            f"{app} in namespace {target.namespace} is deployed blue-green (its "
            f"Service selects {track}): keep --strategy blue-green, or delete "
            f"deployments {app}-blue and {app}-green and service {app} first"
        )


# -- blue-green ------------------------------------------------------------
def blue_green(
    target: AksTarget, model: ModelRef, smoke: dict[str, Any] | None
) -> tuple[str, SmokeResult | None]:
    """Roll out the idle colour, smoke-test each of its pods, then switch
    the Service to it; the other colour keeps running. Returns the colour."""
    live = target.serving_track()
    if live is not None and _runs(target.workload(live), target.image_for(model)):
        # a rerun: switching would leave both colours on this image, and no
        # earlier one to roll back to
        target.say(f"blue-green: {live} already serves this image; not switched")
        result = target.smoke_service(smoke)
        if result is not None and not result.ok:
            raise result.failed(f" ({live} has been serving this image)")
        return live, result
    colour = "green" if live == "blue" else "blue"
    if live is not None:
        _select(target, live)  # pinned before a second track exists
    work = target.workload(colour)
    before = work.get()
    docs = target.render(model, colour)
    target.say(f"blue-green: rolling out {work.name} (serving: {live or 'nothing'})")
    try:
        for doc in docs:
            if doc["kind"] != "Service":
                target.kube.apply(doc)
        work.await_rollout(f"the rollout of {colour}")
        result = _smoke_each_pod(target, work, smoke)
    except BaseException as exc:
        work.restore(before)  # the idle colour as it was: gone, or as before
        kept = f"{live} serves as before" if live else "nothing served before"
        if isinstance(exc, RolloutFailed):
            raise RolloutFailed(f"{exc.message}; {kept}", detail=exc.detail)
        raise
    # applied selecting the new colour alone: never both colours at once
    target.kube.apply(manifests.service(target.settings, colour))
    _select(target, colour)
    target.say(f"service {target.service} now selects {colour}")
    after = target.smoke_service(smoke)
    if after is not None and not after.ok:
        if live is not None:
            _select(target, live)
        work.restore(before)
        back = f"switched back to {live}" if live else f"{colour} removed"
        raise after.failed(f" through the Service; {back}")
    return colour, result


def switch_back(target: AksTarget, serving: str) -> str:
    """Rollback of a blue-green app: the Service back to the other colour,
    scaled up first if it was stopped."""
    other = "green" if serving == "blue" else "blue"
    work = target.workload(other)
    live = work.get()
    if live is None:
        raise UsageError(
            f"{target.settings.app} in namespace {target.namespace} has no "
            f"{other} deployment: nothing to roll back to"
        )
    if not work.replicas(live):
        work.scale(target.workload(serving).replicas() or target.settings.replicas)
    work.await_rollout("the rollback")
    _select(target, other)
    target.say(f"service {target.service} now selects {other}")
    return other


def _smoke_each_pod(
    target: AksTarget, work: Workload, smoke: dict[str, Any] | None
) -> SmokeResult | None:
    if smoke is None:
        return None
    result = None
    for pod in work.pods(ready=True):
        name = pod["metadata"]["name"]
        result = target.smoke_pod(name, smoke)
        target.say(f"smoke test of pod {name}: {'passed' if result.ok else 'failed'}")
        if not result.ok:
            raise result.failed(f" (pod {name}); the Service was not switched")
    return result


def _runs(work: Workload, image: str) -> bool:
    """Whether ``work`` serves ``image``, all its replicas ready."""
    live = work.get()
    if live is None:
        return False
    containers = live["spec"]["template"]["spec"].get("containers") or [{}]
    return containers[0].get("image") == image and progress(live).done


def _select(target: AksTarget, track: str) -> None:
    selector = manifests.service_selector(target.settings, track)
    values = {"/spec/selector": selector}
    target.kube.replace_fields("Service", target.namespace, target.service, values)


def _remove(target: AksTarget, work: Workload) -> None:
    if work.delete():
        target.say(f"canary {work.name} removed")
