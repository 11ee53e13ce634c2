"""The fake Kubernetes API server (tests/fakes/kube), driven by the real
``kubernetes`` client and by :class:`mlops_actions.deploy.kube.Kube`: the
shapes it answers, and a rollout, a failed one and a rollback through it."""

from __future__ import annotations

import copy
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mlops_actions.deploy.kube import Kube
from mlops_actions.deploy.rollout import pod_problems, progress, revision
from tests.fakes.kube import FakeKube

NS = "default"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"


def deployment(image: str = "scorer:1", replicas: int = 2, **spec: Any) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "scorer", "namespace": NS, "labels": {"app": "scorer"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "scorer"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": {"app": "scorer"},
                    "annotations": {"mlops-actions/model-uri": "models:/m/1"},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "scorer",
                            "image": image,
                            "ports": [{"name": "http", "containerPort": 8080}],
                        }
                    ]
                },
            },
            **spec,
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "scorer", "namespace": NS},
    "spec": {
        "selector": {"app": "scorer"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
    },
}


@pytest.fixture
def api(fake_kube: FakeKube, tmp_path) -> Any:
    """A real ApiClient from the kubeconfig the fake wrote."""
    from kubernetes import config

    path = fake_kube.kubeconfig(tmp_path / "kubeconfig")
    return config.new_client_from_config(config_file=str(path))


@pytest.fixture
def kube(api: Any) -> Kube:
    return Kube(api)


def call(api: Any, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    """A JSON call as it should be made: the body handed over as an object."""
    content_type = kw.pop("content_type", "application/json")
    answer = api.call_api(
        path,
        method,
        query_params=list(kw.pop("query", {}).items()),
        header_params={"Accept": "application/json", "Content-Type": content_type},
        body=body,
        auth_settings=["BearerToken"],
        _preload_content=False,
    )
    return json.loads(answer.data) if answer.data else None


def apply(api: Any, manifest: dict) -> dict:
    """Server-side apply, as ``kubectl apply --server-side --force-conflicts``."""
    meta = manifest["metadata"]
    kind = manifest["kind"].lower() + "s"
    root = "/api/v1" if manifest["apiVersion"] == "v1" else "/apis/apps/v1"
    return call(
        api,
        "PATCH",
        f"{root}/namespaces/{meta['namespace']}/{kind}/{meta['name']}",
        manifest,
        content_type="application/apply-patch+yaml",
        query={"fieldManager": "mlops-actions", "force": "true"},
    )


def rolled_out(fake: FakeKube, name: str = "scorer", timeout: float = 8) -> dict:
    """The Deployment once ``kubectl rollout status`` would call it done."""

    def done() -> dict | None:
        live = fake.get("Deployment", NS, name)
        assert live is not None
        state = progress(live)
        assert not state.failed, state.message
        return live if state.done else None

    return fake.wait_for(done, timeout, f"deployment {name} to roll out")


def replica_sets(fake: FakeKube) -> dict[int, dict]:
    return {revision(rs): rs for rs in fake.objects("ReplicaSet", NS)}


@pytest.fixture
def backend() -> Iterator[dict]:
    """A real HTTP server answering JSON; records what reached it."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(raw) if raw else None,
                }
            )
            if self.path == "/metrics":
                body, kind = b"scorer_requests_total 3\n", "text/plain; version=0.0.4"
            else:
                body, kind = (
                    json.dumps({"predictions": [1]}).encode(),
                    "application/json",
                )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "seen": seen}
    server.shutdown()
    server.server_close()


# -- a rollout, with the real client -----------------------------------------
def test_a_deployment_converges_to_revision_1(fake_kube: FakeKube, api: Any) -> None:
    from kubernetes import client

    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    created = apps.create_namespaced_deployment(NS, deployment())
    assert created.metadata.generation == 1
    assert created.spec.progress_deadline_seconds == 600  # defaulted
    live = rolled_out(fake_kube)
    read = apps.read_namespaced_deployment("scorer", NS)
    assert read.status.observed_generation == 1
    assert (read.status.replicas, read.status.available_replicas) == (2, 2)
    assert read.metadata.annotations["deployment.kubernetes.io/revision"] == "1"

    (rs,) = apps.list_namespaced_replica_set(NS, label_selector="app=scorer").items
    digest = rs.metadata.labels["pod-template-hash"]
    assert rs.metadata.name == f"scorer-{digest}" and len(digest) == 10
    assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    (owner,) = rs.metadata.owner_references
    assert (owner.kind, owner.uid, owner.controller) == (
        "Deployment",
        live["metadata"]["uid"],
        True,
    )
    assert rs.spec.selector.match_labels == {
        "app": "scorer",
        "pod-template-hash": digest,
    }

    pods = core.list_namespaced_pod(NS, label_selector=f"pod-template-hash={digest}")
    assert len(pods.items) == 2
    for pod in pods.items:
        assert pod.metadata.name.startswith(f"scorer-{digest}-")
        assert pod.status.phase == "Running"
        assert pod.status.container_statuses[0].ready is True
    events = core.list_namespaced_event(
        NS, field_selector="involvedObject.name=scorer"
    ).items
    assert [(e.reason, e.message) for e in events] == [
        ("ScalingReplicaSet", f"Scaled up replica set scorer-{digest} from 0 to 2")
    ]
    assert events[0].involved_object.kind == "Deployment"


def test_a_new_template_surges_first_and_keeps_every_replica_ready(
    fake_kube: FakeKube, api: Any
) -> None:
    apply(api, SERVICE)
    apply(api, deployment("scorer:1"))
    rolled_out(fake_kube)
    changed = apply(api, deployment("scorer:2"))
    assert changed["metadata"]["generation"] == 2
    assert changed["status"]["observedGeneration"] == 1  # not seen yet
    live = rolled_out(fake_kube)

    assert revision(live) == 2
    sets = replica_sets(fake_kube)
    assert sets[2]["spec"]["replicas"] == 2 and sets[1]["spec"]["replicas"] == 0
    history = fake_kube.ready_endpoints_history[f"{NS}/scorer"]
    assert min(history[history.index(2) :]) == 2  # never below replicas
    assert max(history) == 3  # one surge pod at a time
    scaling = [
        e["message"]
        for e in fake_kube.events(NS, "scorer")
        if e["reason"] == "ScalingReplicaSet"
    ]
    new, old = sets[2]["metadata"]["name"], sets[1]["metadata"]["name"]
    assert scaling[1:] == [
        f"Scaled up replica set {new} from 0 to 1",
        f"Scaled down replica set {old} from 2 to 1",
        f"Scaled up replica set {new} from 1 to 2",
        f"Scaled down replica set {old} from 1 to 0",
    ]


def test_writing_the_old_template_back_makes_it_revision_3(
    fake_kube: FakeKube, api: Any
) -> None:
    apply(api, deployment("scorer:1"))
    rolled_out(fake_kube)
    apply(api, deployment("scorer:2"))
    rolled_out(fake_kube)
    first = replica_sets(fake_kube)[1]
    template = copy.deepcopy(first["spec"]["template"])
    del template["metadata"]["labels"]["pod-template-hash"]
    ops = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/spec/replicas", "value": 2},
    ]
    patched = call(
        api,
        "PATCH",
        f"{DEPLOYMENTS}/scorer",
        ops,
        content_type="application/json-patch+json",
    )
    assert patched["spec"]["template"] == template
    live = rolled_out(fake_kube)

    assert revision(live) == 3
    sets = replica_sets(fake_kube)
    assert sorted(sets) == [2, 3]  # no new ReplicaSet: the first one is back
    assert sets[3]["metadata"]["name"] == first["metadata"]["name"]
    annotations = sets[3]["metadata"]["annotations"]
    assert annotations["deployment.kubernetes.io/revision-history"] == "1"


@pytest.mark.parametrize(
    "reason, waiting",
    [
        ("ImagePullBackOff", "manifest unknown"),
        ("CrashLoopBackOff", None),
    ],
)
def test_a_broken_image_ends_in_progress_deadline_exceeded(
    fake_kube: FakeKube, api: Any, reason: str, waiting: str | None
) -> None:
    apply(api, SERVICE)
    apply(api, deployment("scorer:1"))
    rolled_out(fake_kube)
    fake_kube.break_image("scorer:broken", reason, message=waiting)
    apply(api, deployment("scorer:broken", progressDeadlineSeconds=40))

    def failed() -> dict | None:
        live = fake_kube.get("Deployment", NS, "scorer")
        return live if progress(live).failed else None

    live = fake_kube.wait_for(failed, 5, "the progress deadline")
    new = replica_sets(fake_kube)[2]["metadata"]["name"]
    (condition,) = [
        c for c in live["status"]["conditions"] if c["type"] == "Progressing"
    ]
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{new}" has timed out progressing.',
    )
    broken = [
        p for p in fake_kube.objects("Pod", NS) if p["metadata"]["name"].startswith(new)
    ]
    (line,) = pod_problems(broken)
    assert reason in line and "not ready" in line
    state = broken[0]["status"]["containerStatuses"][0]
    assert state["state"]["waiting"]["reason"] == reason
    if reason == "CrashLoopBackOff":
        assert state["restartCount"] >= 1
    said = {e["reason"] for e in fake_kube.events(NS, broken[0]["metadata"]["name"])}
    assert {"BackOff"} <= said and ("Failed" in said or reason == "CrashLoopBackOff")
    assert fake_kube.ready_endpoints(NS, "scorer") == 2  # the old pods still serve


def test_a_rollback_from_a_timed_out_rollout_can_still_read_as_failed() -> None:
    """The real controller's quirk, kept: with one replica, the first status
    after the undo still says ProgressDeadlineExceeded (no count moved), and
    the next sync says the rollout is complete."""
    with FakeKube(tick_interval=3600) as fake:  # ticks only when told
        client = fake.api_client()

        def settle(ticks: int = 12) -> dict:
            for _ in range(ticks):
                fake.tick()
                time.sleep(0.06)  # past the scaled deadline of 50 ms
            return fake.get("Deployment", NS, "scorer")

        fake.set_ready_delay(0)
        apply(client, deployment("scorer:1", replicas=1, progressDeadlineSeconds=5))
        assert progress(settle()).done
        fake.break_image("scorer:broken")
        apply(
            client, deployment("scorer:broken", replicas=1, progressDeadlineSeconds=5)
        )
        assert progress(settle(6)).failed
        first = replica_sets(fake)[1]
        template = copy.deepcopy(first["spec"]["template"])
        del template["metadata"]["labels"]["pod-template-hash"]
        call(
            client,
            "PATCH",
            f"{DEPLOYMENTS}/scorer",
            [{"op": "replace", "path": "/spec/template", "value": template}],
            content_type="application/json-patch+json",
        )
        fake.tick()
        after_undo = fake.get("Deployment", NS, "scorer")
        assert after_undo["status"]["observedGeneration"] == 3
        assert progress(after_undo).failed
        fake.tick()
        fake.tick()
        assert progress(fake.get("Deployment", NS, "scorer")).done
    assert not fake.errors


# -- the service and pod proxies ---------------------------------------------
def test_the_service_proxy_forwards_to_a_ready_pod(
    fake_kube: FakeKube, api: Any, backend: dict
) -> None:
    fake_kube.serve_image("scorer:1", backend["url"])
    apply(api, SERVICE)
    apply(api, deployment("scorer:1"))
    rolled_out(fake_kube)
    pods = {p["metadata"]["name"] for p in fake_kube.objects("Pod", NS)}
    answered = set()
    for _ in range(2):
        answer = api.call_api(
            f"/api/v1/namespaces/{NS}/services/scorer:http/proxy/invocations",
            "POST",
            header_params={"Content-Type": "application/json"},
            body={"inputs": [[1.0]]},
            auth_settings=["BearerToken"],
            _preload_content=False,
        )
        assert answer.status == 200
        assert json.loads(answer.data) == {"predictions": [1]}
        answered.add(answer.getheader("X-Fake-Pod"))
    assert answered == pods  # round-robin over both
    assert backend["seen"][0] == {
        "method": "POST",
        "path": "/invocations",
        "content_type": "application/json",
        "body": {"inputs": [[1.0]]},
    }
    pod = sorted(pods)[0]
    metrics = api.call_api(
        f"/api/v1/namespaces/{NS}/pods/{pod}:8080/proxy/metrics",
        "GET",
        auth_settings=["BearerToken"],
        _preload_content=False,
    )
    by_number = api.call_api(
        f"/api/v1/namespaces/{NS}/services/http:scorer:80/proxy/metrics",
        "GET",
        auth_settings=["BearerToken"],
        _preload_content=False,
    )
    assert by_number.data == b"scorer_requests_total 3\n"
    assert metrics.data == b"scorer_requests_total 3\n"
    assert metrics.getheader("X-Fake-Pod") == pod
    assert metrics.getheader("Content-Type").startswith("text/plain")


def test_the_service_proxy_fails_as_the_real_one(
    fake_kube: FakeKube, api: Any, kube: Kube
) -> None:
    apply(api, SERVICE)
    status, body = kube.proxy("GET", NS, "services/scorer", "http", "/health")
    assert status == 503
    assert json.loads(body)["message"] == 'no endpoints available for service "scorer"'
    apply(api, deployment("scorer:1"))  # no backend serves scorer:1
    rolled_out(fake_kube)
    status, body = kube.proxy("GET", NS, "services/scorer", "http", "/health")
    assert status == 503
    message = json.loads(body)["message"]
    assert message.startswith("error trying to reach service: dial tcp 10.244.")
    assert message.endswith(":8080: connect: connection refused")
    status, body = kube.proxy("GET", NS, "services/scorer", "81", "/health")
    assert (status, json.loads(body)["message"]) == (
        503,
        'no service port 81 found for service "scorer"',
    )
    status, body = kube.proxy("GET", NS, "services/scorer", "metrics", "/")
    assert (status, json.loads(body)["message"]) == (
        503,
        'no endpoints available for service "scorer:metrics"',  # no such port
    )


# -- the API's answers -------------------------------------------------------
def test_requests_without_the_token_get_401(fake_kube: FakeKube) -> None:
    request = urllib.request.Request(f"{fake_kube.url}{DEPLOYMENTS}")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 401
    assert json.loads(caught.value.read()) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert fake_kube.requests[-1]["path"] == DEPLOYMENTS


def test_apply_of_the_same_manifest_twice_changes_nothing() -> None:
    with FakeKube(tick_interval=3600) as fake:  # no controller writing between
        kube = Kube(fake.api_client())
        first = kube.apply(deployment())
        second = kube.apply(deployment())
        sent = fake.calls("PATCH", f"{DEPLOYMENTS}/scorer")[-1]
        without = deployment(replicas=3)
        without["metadata"]["annotations"] = {"a": "b"}
        third = kube.apply(without)
        del without["metadata"]["annotations"]  # what it no longer applies, goes
        fourth = kube.apply(without)
    assert second["metadata"]["generation"] == first["metadata"]["generation"] == 1
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    (entry,) = second["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("mlops-actions", "Apply")
    assert sent["content_type"] == "application/apply-patch+yaml"
    assert sent["query"] == {"fieldManager": "mlops-actions", "force": "true"}
    assert sent["body"] == deployment()
    assert third["metadata"]["generation"] == 2
    assert third["metadata"]["annotations"] == {"a": "b"}
    assert "a" not in fourth["metadata"].get("annotations", {})
    assert fourth["metadata"]["generation"] == 2  # metadata is not spec


def test_apply_needs_a_field_manager(api: Any) -> None:
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as caught:
        call(
            api,
            "PATCH",
            f"{DEPLOYMENTS}/scorer",
            deployment(),
            content_type="application/apply-patch+yaml",
        )
    assert caught.value.status == 400
    assert "fieldManager: Required value" in json.loads(caught.value.body)["message"]


def test_a_missing_object_is_a_404_status(api: Any, kube: Kube) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as caught:
        client.AppsV1Api(api).read_namespaced_deployment("nope", NS)
    assert caught.value.status == 404
    assert json.loads(caught.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "apps", "kind": "deployments"},
        "code": 404,
    }
    assert kube.get("Deployment", NS, "nope") is None
    assert kube.get("Pod", NS, "nope") is None


def test_a_json_patch_replaces_the_template_whole(
    fake_kube: FakeKube, api: Any
) -> None:
    apply(api, deployment())
    template = deployment("scorer:9")["spec"]["template"]
    del template["metadata"]["annotations"]
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "replace", "path": "/spec/template", "value": template},
    ]
    patched = call(
        api,
        "PATCH",
        f"{DEPLOYMENTS}/scorer",
        ops,
        content_type="application/json-patch+json",
    )
    assert "annotations" not in patched["spec"]["template"]["metadata"]
    assert patched["spec"]["template"]["spec"]["containers"][0]["image"] == "scorer:9"
    assert patched["metadata"]["generation"] == 2
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as caught:
        call(
            api,
            "PATCH",
            f"{DEPLOYMENTS}/scorer",
            [{"op": "test", "path": "/spec/replicas", "value": 5}],
            content_type="application/json-patch+json",
        )
    assert caught.value.status == 422


def test_merge_and_strategic_patches(fake_kube: FakeKube, api: Any) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(api)
    apply(api, deployment())
    scaled = apps.patch_namespaced_deployment(
        "scorer",
        NS,
        {"spec": {"replicas": 3}},
        _content_type="application/merge-patch+json",
    )
    assert (scaled.spec.replicas, scaled.metadata.generation) == (3, 2)
    labelled = apps.patch_namespaced_deployment(
        "scorer",
        NS,
        {"metadata": {"labels": {"team": "ml"}}},
        _content_type="application/merge-patch+json",
    )
    assert labelled.metadata.generation == 2  # metadata is not spec
    side = {"name": "side", "image": "busybox:1"}
    strategic = {"spec": {"template": {"spec": {"containers": [side]}}}}
    merged = apps.patch_namespaced_deployment(
        "scorer",
        NS,
        strategic,
        _content_type="application/strategic-merge-patch+json",
    )
    names = [c.name for c in merged.spec.template.spec.containers]
    assert names == ["scorer", "side"]  # merged by name, not replaced


def test_delete_with_foreground_propagation_takes_the_dependents(
    fake_kube: FakeKube, api: Any
) -> None:
    apply(api, deployment())
    rolled_out(fake_kube)
    answer = call(
        api,
        "DELETE",
        f"{DEPLOYMENTS}/scorer",
        {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": "Foreground",
        },
    )
    assert answer["metadata"]["deletionTimestamp"]
    assert answer["metadata"]["finalizers"] == ["foregroundDeletion"]
    fake_kube.wait_for(
        lambda: not any(
            fake_kube.objects(k, NS) for k in ("Deployment", "ReplicaSet", "Pod")
        ),
        3,
        "the deployment and its dependents to go",
    )
    apply(api, deployment())
    gone = call(
        api, "DELETE", f"{DEPLOYMENTS}/scorer", {"propagationPolicy": "Background"}
    )
    assert (gone["kind"], gone["status"]) == ("Status", "Success")


def test_selectors(fake_kube: FakeKube, api: Any, kube: Kube) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    apply(api, deployment())
    rolled_out(fake_kube)
    core = client.CoreV1Api(api)
    names = lambda **kw: len(core.list_namespaced_pod(NS, **kw).items)  # noqa: E731
    assert names(label_selector="app in (scorer,other)") == 2
    assert names(label_selector="app=scorer,!missing") == 2
    assert names(label_selector="app!=scorer") == 0
    assert names(field_selector="status.phase=Running") == 2
    pod = kube.list("Pod", NS, labels={"app": "scorer"})[0]["metadata"]["name"]
    assert names(field_selector=f"metadata.name={pod}") == 1
    listed = call(api, "GET", f"{DEPLOYMENTS}")
    assert listed["kind"] == "DeploymentList" and listed["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_pod(NS, field_selector="spec.bogus=1")
    assert caught.value.status == 400


def test_discovery_and_the_kinds_served(fake_kube: FakeKube, api: Any) -> None:
    from kubernetes import client

    assert client.VersionApi(api).get_code().git_version.startswith("v1.")
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {
        "apps",
        "autoscaling",
        "policy",
        "monitoring.coreos.com",
        "azmonitoring.coreos.com",
    } <= groups
    apps = {r.name for r in client.AppsV1Api(api).get_api_resources().resources}
    assert {"deployments", "replicasets"} <= apps
    for version in ("monitoring.coreos.com/v1", "azmonitoring.coreos.com/v1"):
        monitor = {
            "apiVersion": version,
            "kind": "PodMonitor",
            "metadata": {"name": "scorer", "namespace": NS},
            "spec": {"selector": {"matchLabels": {"app": "scorer"}}},
        }
        path = f"/apis/{version}/namespaces/{NS}/podmonitors/scorer"
        applied = call(
            api,
            "PATCH",
            path,
            monitor,
            content_type="application/apply-patch+yaml",
            query={"fieldManager": "mlops-actions"},
        )
        assert applied["metadata"]["generation"] == 1
    assert len(fake_kube.objects("PodMonitor", NS)) == 1  # one per group
    assert len(fake_kube.objects("PodMonitor", NS, "azmonitoring.coreos.com/v1")) == 1


def test_injected_failures(fake_kube: FakeKube, kube: Kube) -> None:
    from mlops_actions.errors import BackendError

    fake_kube.fail_next("GET", f"{DEPLOYMENTS}/scorer", 500, message="etcd is down")
    with pytest.raises(BackendError, match="answered 500 .*: etcd is down"):
        kube.get("Deployment", NS, "scorer")
    assert kube.get("Deployment", NS, "scorer") is None


# -- the Kube wrapper, end to end ---------------------------------------------
def test_kube_applies_waits_and_rolls_back(fake_kube: FakeKube, kube: Kube) -> None:
    kube.apply(SERVICE)
    kube.apply(deployment("scorer:1"))
    rolled_out(fake_kube)
    kube.apply(deployment("scorer:2"))
    rolled_out(fake_kube)
    first = replica_sets(fake_kube)[1]
    template = copy.deepcopy(first["spec"]["template"])
    del template["metadata"]["labels"]["pod-template-hash"]
    kube.replace_fields(
        "Deployment", NS, "scorer", {"/spec/template": template, "/spec/replicas": 2}
    )
    assert revision(rolled_out(fake_kube)) == 3
    kube.patch("Deployment", NS, "scorer", {"spec": {"replicas": 0}})
    assert kube.delete("Deployment", NS, "scorer") is True


def test_kube_posts_through_the_service_proxy(
    fake_kube: FakeKube, api: Any, kube: Kube, backend: dict
) -> None:
    fake_kube.serve_image("scorer:1", backend["url"])
    apply(api, SERVICE)
    apply(api, deployment("scorer:1"))
    rolled_out(fake_kube)
    body = json.dumps({"inputs": [[1.0]]}).encode()
    status, _ = kube.proxy("POST", NS, "services/scorer", "http", "/invocations", body)
    assert status == 200
    assert backend["seen"][-1]["body"] == {"inputs": [[1.0]]}


def test_the_scale_subresource(fake_kube: FakeKube, api: Any) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(api)
    apply(api, deployment())
    scale = apps.read_namespaced_deployment_scale("scorer", NS)
    assert (scale.spec.replicas, scale.status.selector) == (2, "app=scorer")
    apps.patch_namespaced_deployment_scale(
        "scorer",
        NS,
        {"spec": {"replicas": 1}},
        _content_type="application/merge-patch+json",
    )
    live = rolled_out(fake_kube)
    assert (live["spec"]["replicas"], live["metadata"]["generation"]) == (1, 2)


def test_only_the_namespaces_that_exist(tmp_path) -> None:
    from kubernetes.client.exceptions import ApiException

    with FakeKube(namespaces=["ml"]) as fake:
        client = fake.api_client()
        apply(client, {**SERVICE, "metadata": {"name": "scorer", "namespace": "ml"}})
        with pytest.raises(ApiException) as caught:
            apply(client, SERVICE | {"metadata": {"name": "s", "namespace": "other"}})
    assert caught.value.status == 404
    assert json.loads(caught.value.body)["message"] == 'namespaces "other" not found'


def test_https_with_the_authority_in_the_kubeconfig(tmp_path) -> None:
    from kubernetes import client

    from tests.fakes.tls import make_authority

    with FakeKube(tls=make_authority(tmp_path / "tls")) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        version = client.VersionApi(fake.api_client()).get_code()
    assert version.git_version == "v1.31.2"


def test_create_replace_and_conflicts() -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with FakeKube(tick_interval=3600) as fake:  # no controller writing between
        apps = client.AppsV1Api(fake.api_client())
        apps.create_namespaced_deployment(NS, deployment())
        with pytest.raises(ApiException) as exists:
            apps.create_namespaced_deployment(NS, deployment())
        live = apps.read_namespaced_deployment("scorer", NS)
        live.spec.replicas = 3
        replaced = apps.replace_namespaced_deployment("scorer", NS, live)
        live.spec.replicas = 4  # still the resourceVersion read before
        with pytest.raises(ApiException) as stale:
            apps.replace_namespaced_deployment("scorer", NS, live)
    said = json.loads(exists.value.body)
    assert (exists.value.status, said["reason"], said["message"]) == (
        409,
        "AlreadyExists",
        'deployments.apps "scorer" already exists',
    )
    assert (replaced.spec.replicas, replaced.metadata.generation) == (3, 2)
    assert replaced.metadata.uid == live.metadata.uid
    assert stale.value.status == 409
    assert "the object has been modified" in json.loads(stale.value.body)["message"]


def test_recreate_and_scaling_to_zero(fake_kube: FakeKube, api: Any) -> None:
    apply(api, SERVICE)
    recreate = {"strategy": {"type": "Recreate"}}
    apply(api, deployment("scorer:1", **recreate))
    rolled_out(fake_kube)
    apply(api, deployment("scorer:2", **recreate))
    live = rolled_out(fake_kube)
    assert revision(live) == 2
    history = fake_kube.ready_endpoints_history[f"{NS}/scorer"]
    assert 0 in history and max(history) == 2  # old all gone before the new
    call(
        api,
        "PATCH",
        f"{DEPLOYMENTS}/scorer",
        {"spec": {"replicas": 0}},
        content_type="application/merge-patch+json",
    )
    fake_kube.wait_for(lambda: not fake_kube.objects("Pod", NS), 5, "no pods")
    live = rolled_out(fake_kube)
    assert "replicas" not in live["status"]  # zero counts are left out
    assert all(rs["spec"]["replicas"] == 0 for rs in fake_kube.objects("ReplicaSet"))
