"""The AKS target's rollouts against the fake API server, real scorers behind
its pods: rolling, canary and blue-green; stuck images and wrong answers
rolled back; the Service never without a ready pod."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlops_actions.deploy.aks import RolloutFailed
from mlops_actions.deploy.base import ModelRef
from mlops_actions.errors import CheckFailed, UsageError
from tests.fakes.kube.scorers import Scorers, aks_target, image_of

SLOW = Path(__file__).resolve().parents[1] / "scorer" / "fixtures" / "slow"
NS = "default"


def smoke(factor: float) -> dict:
    """x in, ``factor`` x out: the answers of the doubling (2) or tripling (3)
    model."""
    request = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}
    return {"request": request, "expected": {"predictions": [factor, 2 * factor]}}


@pytest.fixture
def models(tmp_path) -> dict[str, str]:
    """Two models, same inputs, different answers: x * 2 and x * 3."""
    triple = tmp_path / "models" / "triple"
    shutil.copytree(SLOW, triple)
    code = triple / "slow_model.py"
    code.write_text(code.read_text().replace("* 2", "* 3"))
    return {"double": str(SLOW), "triple": str(triple)}


@pytest.fixture
def scorers(fake_kube, tmp_path):
    made = Scorers(fake_kube, tmp_path)
    yield made
    made.close()


@pytest.fixture
def lines() -> list[str]:
    return []


def target(fake_kube, tmp_path, scorers, lines, **settings):
    return aks_target(fake_kube, tmp_path, scorers, lines=lines, **settings)


def deployments(fake) -> dict[str, str]:
    """Deployment name -> the image its template runs, replicas > 0 only."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in fake.objects("Deployment", NS)
        if d["spec"].get("replicas")
    }


def never_without_ready_pods(fake, service="scorer"):
    """From its first ready pod on, the Service always had one."""
    history = fake.ready_endpoints_history.get(f"{NS}/{service}", [])
    assert any(history), "the Service never had a ready pod"
    first_ready = next(i for i, n in enumerate(history) if n > 0)
    assert min(history[first_ready:]) > 0, history


# -- rolling ---------------------------------------------------------------
def test_a_good_rolling_update_serves_the_new_model(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines)
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    done = aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    assert done.smoke is not None and done.smoke.ok
    assert (done.deployment.version, done.deployment.revision) == ("2", 2)
    assert deployments(fake_kube) == {"scorer": image_of(models["triple"])}
    never_without_ready_pods(fake_kube)
    assert "deployment scorer successfully rolled out" in lines
    # the smoke request went through the Service's proxy, not to a pod
    sent = fake_kube.calls("POST", f"/api/v1/namespaces/{NS}/services/scorer:http")
    assert sent and all(c["path"].endswith("/proxy/invocations") for c in sent)


def test_an_image_that_never_becomes_ready_is_rolled_back_before_failing(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines, progress_deadline_seconds=300)
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    broken = image_of(models["triple"])
    fake_kube.break_image(broken, reason="ImagePullBackOff", message="not found")
    with pytest.raises(RolloutFailed) as failed:
        aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    assert failed.value.exit_code == 3
    assert failed.value.message == (
        "the rollout failed: deployment scorer exceeded its progress deadline; "
        "rolled back"
    )
    assert "ImagePullBackOff: not found" in failed.value.detail
    # back on the old model, as the newest revision, healthy
    assert deployments(fake_kube) == {"scorer": image_of(models["double"])}
    now = aks.status()
    assert (now.version, now.revision) == ("1", 3)
    never_without_ready_pods(fake_kube)
    assert "rolling back to revision 1" in lines


def test_a_wrong_answer_rolls_back_and_exits_1(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines)
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    with pytest.raises(CheckFailed, match="smoke test failed.*; rolled back"):
        # the recorded answers are the doubling model's, the image triples
        aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(2))
    assert deployments(fake_kube) == {"scorer": image_of(models["double"])}
    assert aks.status().version == "1"
    never_without_ready_pods(fake_kube)


def test_a_first_deploy_that_fails_leaves_no_deployment(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines)
    fake_kube.break_image(image_of(models["double"]), reason="CrashLoopBackOff")
    with pytest.raises(RolloutFailed, match="exceeded its progress deadline"):
        aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    assert fake_kube.objects("Deployment", NS) == []
    assert aks.status() is None


def test_the_api_refusing_the_apply_is_a_backend_error_naming_it(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines)
    fake_kube.fail_next("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments", 403)
    with pytest.raises(RolloutFailed.__mro__[1]) as failed:  # BackendError
        aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    assert failed.value.exit_code == 3
    assert failed.value.message.startswith(
        "the Kubernetes API answered 403 to PATCH "
        f"/apis/apps/v1/namespaces/{NS}/deployments/scorer: "
    )


# -- canary ----------------------------------------------------------------
def test_a_canary_that_passes_is_promoted_new_pods_first(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(
        fake_kube, tmp_path, scorers, lines, strategy="canary", canary_bake_seconds=1
    )
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    assert "no stable deployment serves yet: rolled out in full, no canary" in lines
    done = aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    assert done.deployment.deployment == "scorer" and done.deployment.version == "2"
    # exactly the stable Deployment is left, on the new image
    assert deployments(fake_kube) == {"scorer": image_of(models["triple"])}
    assert [d["metadata"]["name"] for d in fake_kube.objects("Deployment", NS)] == [
        "scorer"
    ]
    never_without_ready_pods(fake_kube)
    passed = next(line for line in lines if line.startswith("canary passed"))
    assert "canary answered" in passed
    # the canary took smoke requests pod by pod during the bake
    assert fake_kube.calls("POST", f"/api/v1/namespaces/{NS}/pods/scorer-canary-")


def test_a_canary_with_wrong_answers_is_rejected_and_stable_untouched(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(
        fake_kube, tmp_path, scorers, lines, strategy="canary", canary_bake_seconds=1
    )
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    stable = fake_kube.get("Deployment", NS, "scorer")
    with pytest.raises(CheckFailed) as rejected:
        aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(2))
    assert rejected.value.message.startswith("canary rejected: smoke test: ")
    assert rejected.value.message.endswith(
        "canary removed, stable scorer revision 1 serves as before"
    )
    assert deployments(fake_kube) == {"scorer": image_of(models["double"])}
    assert [d["metadata"]["name"] for d in fake_kube.objects("Deployment", NS)] == [
        "scorer"
    ]
    after = fake_kube.get("Deployment", NS, "scorer")
    assert after["metadata"]["generation"] == stable["metadata"]["generation"]
    never_without_ready_pods(fake_kube)


def test_a_canary_that_never_becomes_ready_is_removed(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines, strategy="canary")
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    fake_kube.break_image(image_of(models["triple"]), reason="CrashLoopBackOff")
    with pytest.raises(RolloutFailed) as failed:
        aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    assert failed.value.message == (
        "the canary's rollout failed: deployment scorer-canary exceeded its "
        "progress deadline; canary removed, stable scorer revision 1 serves as "
        "before"
    )
    assert deployments(fake_kube) == {"scorer": image_of(models["double"])}


# -- blue-green ------------------------------------------------------------
def selector_writes(fake) -> list[int]:
    """Indexes in ``fake.requests`` of writes to the Service."""
    path = f"/api/v1/namespaces/{NS}/services/scorer"
    return [
        i
        for i, r in enumerate(fake.requests)
        if r["method"] == "PATCH" and r["path"] == path
    ]


def test_blue_green_switches_the_service_only_after_the_smoke_test(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines, strategy="blue-green")
    first = aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    assert first.deployment.deployment == "scorer-blue"
    start = len(fake_kube.requests)
    second = aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    assert second.deployment.deployment == "scorer-green"
    service = fake_kube.get("Service", NS, "scorer")
    assert service["spec"]["selector"]["mlops-actions/track"] == "green"
    smoked = [
        i
        for i, r in enumerate(fake_kube.requests)
        if i >= start and "/pods/scorer-green-" in r["path"]
    ]
    switch = [i for i in selector_writes(fake_kube) if i >= start]
    assert smoked and switch
    # the pin to blue comes first; the switch to green after every pod's smoke
    pins = [fake_kube.requests[i]["body"] for i in switch]
    assert pins[0] == [
        {
            "op": "replace",
            "path": "/spec/selector",
            "value": {
                "app.kubernetes.io/name": "mlops-scorer",
                "app.kubernetes.io/instance": "scorer",
                "mlops-actions/track": "blue",
            },
        }
    ]
    to_green = [i for i in switch if "green" in str(fake_kube.requests[i]["body"])]
    assert min(to_green) > max(smoked)
    # the old colour keeps running for an instant rollback
    assert deployments(fake_kube) == {
        "scorer-blue": image_of(models["double"]),
        "scorer-green": image_of(models["triple"]),
    }
    back = aks.rollback()
    assert back.deployment.deployment == "scorer-blue"
    assert (
        fake_kube.get("Service", NS, "scorer")["spec"]["selector"][
            "mlops-actions/track"
        ]
        == "blue"
    )
    never_without_ready_pods(fake_kube)


def test_blue_green_with_a_wrong_answer_never_switches(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines, strategy="blue-green")
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    with pytest.raises(CheckFailed, match=r"\(pod scorer-green-.*the Service was not"):
        aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(2))
    selector = fake_kube.get("Service", NS, "scorer")["spec"]["selector"]
    assert selector["mlops-actions/track"] == "blue"
    assert deployments(fake_kube) == {"scorer-blue": image_of(models["double"])}
    never_without_ready_pods(fake_kube)


def test_rolling_onto_a_blue_green_app_is_refused_naming_the_way_out(
    fake_kube, tmp_path, scorers, models, lines
):
    target(fake_kube, tmp_path, scorers, lines, strategy="blue-green").deploy(
        ModelRef(models["double"], "1", "penguins"), smoke(2)
    )
    rolling = target(fake_kube, tmp_path, scorers, lines)
    with pytest.raises(UsageError) as refused:
        rolling.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    assert refused.value.message == (
        "scorer in namespace default is deployed blue-green (its Service selects "
        "blue): keep --strategy blue-green, or delete deployments scorer-blue and "
        "scorer-green and service scorer first"
    )


# -- faults found against the fake (regression tests) ----------------------
def test_rollback_after_an_automatic_rollback_skips_the_revision_that_failed(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines)
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    broken = image_of("never-pulls")
    aks.image_for = lambda model: (
        broken if model.version == "3" else scorers.image_for(model)
    )
    fake_kube.break_image(broken)
    with pytest.raises(RolloutFailed, match="rolled back$"):
        aks.deploy(ModelRef("models:/penguins/3", "3", "penguins"), smoke(3))
    assert aks.status().version == "2"
    # kubectl's undo would pick the newest older revision: the broken one
    back = aks.rollback()
    assert back.deployment.version == "1"
    assert deployments(fake_kube) == {"scorer": image_of(models["double"])}


def test_a_rollback_from_a_timed_out_rollout_is_not_failed_by_the_old_deadline(
    fake_kube, tmp_path, scorers, models, lines
):
    # one replica: the controller keeps ProgressDeadlineExceeded through the
    # first sync after the undo, as a real one does
    aks = target(fake_kube, tmp_path, scorers, lines, replicas=1)
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    fake_kube.break_image(image_of(models["triple"]))
    with pytest.raises(RolloutFailed) as failed:
        aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    assert failed.value.message == (
        "the rollout failed: deployment scorer exceeded its progress deadline; "
        "rolled back"
    )
    assert aks.status().version == "1"


def test_a_canary_failing_real_traffic_is_rejected_on_its_metrics(
    fake_kube, tmp_path, scorers, models, lines
):
    """Smoke requests pass; the traffic users send errs on the canary's pods
    only (the new model fails on large inputs): its error rate rejects it."""
    import threading

    from mlops_actions.deploy.kube import Kube, connect

    fragile = tmp_path / "models" / "fragile"
    shutil.copytree(SLOW, fragile)
    code = fragile / "slow_model.py"
    code.write_text(
        code.read_text().replace(
            "        return model_input",
            "        if (model_input['x'] > 100).any():\n"
            "            raise ValueError('x out of range')\n"
            "        return model_input",
        )
    )
    aks = target(
        fake_kube, tmp_path, scorers, lines, strategy="canary", canary_bake_seconds=2
    )
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    kube = Kube(connect(tmp_path / "kubeconfig"))
    body = b'{"dataframe_split": {"columns": ["x"], "data": [[1000.0]]}}'
    stop = threading.Event()
    answered: list[int] = []

    def users() -> None:
        while not stop.is_set():
            status, _ = kube.proxy(
                "POST", NS, "services/scorer", "http", "invocations", body
            )
            answered.append(status)
            stop.wait(0.02)

    thread = threading.Thread(target=users, daemon=True)
    thread.start()
    try:
        with pytest.raises(CheckFailed) as rejected:
            aks.deploy(ModelRef(str(fragile), "2", "penguins"), smoke(2))
    finally:
        stop.set()
        thread.join(5)
    assert rejected.value.message.startswith("canary rejected: canary error rate ")
    assert "is above 1.0%" in rejected.value.message
    assert 500 in answered and 200 in answered  # both tracks took traffic
    assert deployments(fake_kube) == {"scorer": image_of(models["double"])}
    never_without_ready_pods(fake_kube)


def test_blue_green_deploying_the_image_already_live_keeps_the_rollback_target(
    fake_kube, tmp_path, scorers, models, lines
):
    aks = target(fake_kube, tmp_path, scorers, lines, strategy="blue-green")
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    again = aks.deploy(ModelRef(models["triple"], "2", "penguins"), smoke(3))
    assert again.deployment.deployment == "scorer-green"
    assert "blue-green: green already serves this image; not switched" in lines
    # blue still holds the model before: a rollback still reaches it
    assert deployments(fake_kube)["scorer-blue"] == image_of(models["double"])
    assert aks.rollback().deployment.deployment == "scorer-blue"


def test_a_namespace_that_does_not_exist_is_refused_before_any_change(
    tmp_path, models, lines
):
    from tests.fakes.kube import FakeKube

    with FakeKube(namespaces=["ml"]) as fake:
        made = Scorers(fake, tmp_path)
        try:
            aks = target(fake, tmp_path, made, lines, namespace="staging")
            with pytest.raises(UsageError) as refused:
                aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
        finally:
            made.close()
        assert refused.value.message == (
            "namespace staging does not exist in the cluster: create it (kubectl "
            "create namespace staging), or name another with --namespace or "
            "aks.namespace in mlops.yaml"
        )
        assert [r for r in fake.requests if r["method"] != "GET"] == []


def test_a_role_that_may_not_read_namespaces_still_deploys(
    fake_kube, tmp_path, scorers, models, lines
):
    fake_kube.fail_next("GET", "/api/v1/namespaces/default", 403)
    aks = target(fake_kube, tmp_path, scorers, lines)
    done = aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    assert done.smoke.ok


def test_status_says_when_the_serving_revision_started_not_when_it_was_asked(
    fake_kube, tmp_path, scorers, models, lines
):
    import time

    aks = target(fake_kube, tmp_path, scorers, lines)
    before = time.time()
    aks.deploy(ModelRef(models["double"], "1", "penguins"), smoke(2))
    first = aks.status().started
    time.sleep(1.1)
    assert aks.status().started == first  # the ReplicaSet's creation time
    assert before - 1 <= first <= time.time()
