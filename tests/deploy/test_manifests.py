"""The AKS manifests: valid for the API server of every AKS version, and
holding the rules a rollout depends on (probes, limits, non-root, selectors)."""

from __future__ import annotations

import json
import re

import kubernetes_validate
import pytest

from mlops_actions.deploy import manifests, pod_template
from mlops_actions.deploy.manifests import AksSettings, label_value
from mlops_actions.errors import UsageError
from mlops_actions.image.dockerfile import PORT, USER_ID
from mlops_actions.project import AksConfig

#: Kubernetes versions AKS supports (kubernetes-validate bundles 1.25 to 1.37)
VERSIONS = ["1.31.0", "1.32.0", "1.33.0", "1.34.0"]
DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"myacr.azurecr.io/scorers/iris@{DIGEST}"
CLIENT_ID = "8f2c1a3e-5b7d-4c9e-a1f0-2d3b4c5e6f70"
INPUT_LOG = {
    "container_url": "https://mlopsdata.blob.core.windows.net/inputs",
    "client_id": CLIENT_ID,
    "sample_rate": 0.25,
}
CASES = {
    "defaults": {},
    "one replica": {"replicas": 1},
    "autoscaled": {"replicas": 2, "min_replicas": 2, "max_replicas": 6},
    "everything": {
        "app": "iris",
        "namespace": "ml-prod",
        "replicas": 3,
        "max_replicas": 10,
        "target_cpu": 60,
        "cpu": "1",
        "memory": "2Gi",
        "cpu_limit": "2",
        "progress_deadline_seconds": 300,
        "min_ready_seconds": 5,
        "drain_seconds": 15,
        "service_type": "LoadBalancer",
        "pod_monitor": True,
        "labels": {"team": "ml", "example.com/cost-center": "c42"},
        "input_log": INPUT_LOG,
    },
    "no drain": {"drain_seconds": 0},
}


def settings(**config) -> AksSettings:
    return AksSettings.from_config(AksConfig.model_validate(config))


def rendered(config=None, **given) -> list[dict]:
    args = {
        "image": IMAGE,
        "model_name": "iris",
        "model_version": "7",
        "commit": "f" * 40,
        **given,
    }
    return manifests.render(settings(**(config or {})), **args)


def by_kind(docs: list[dict]) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in docs}


def container(docs: list[dict]) -> dict:
    (only,) = by_kind(docs)["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("track", ["stable", "canary"])
def test_every_manifest_is_valid_for_the_api_server(case, version, track):
    docs = rendered(CASES[case], track=track)
    for doc in docs:
        if doc["kind"] == "PodMonitor":  # a CRD: no schema; see its own test
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        assert doc["metadata"]["namespace"] == CASES[case].get("namespace", "default")


def test_strict_validation_catches_a_misspelt_field():
    deployment = by_kind(rendered())["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_order_and_kinds_follow_the_settings():
    kinds = [doc["kind"] for doc in rendered()]
    assert kinds == ["Deployment", "Service", "PodDisruptionBudget"]
    kinds = [doc["kind"] for doc in rendered(CASES["everything"])]
    assert kinds == [
        "ServiceAccount",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "PodMonitor",
    ]


def test_probes_ask_the_scorer_on_its_named_port():
    found = container(rendered())
    assert found["ports"] == [
        {"name": "http", "containerPort": PORT, "protocol": "TCP"}
    ]
    assert found["readinessProbe"]["httpGet"] == {
        "path": "/health/ready",
        "port": "http",
    }
    assert found["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert found["startupProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert found[probe]["timeoutSeconds"] >= 1


def test_requests_and_limits():
    found = container(rendered())["resources"]
    assert found == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"memory": "1Gi"},  # no CPU limit unless asked: no throttling
    }
    found = container(rendered(CASES["everything"]))["resources"]
    assert found == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }


def test_runs_as_the_images_numeric_user_on_a_read_only_root():
    pod = by_kind(rendered())["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": USER_ID,
        "runAsGroup": USER_ID,
        "fsGroup": USER_ID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert USER_ID == 10001
    found = container(rendered())
    assert found["securityContext"] == {
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert found["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod


def test_rolling_update_never_takes_a_pod_down_first():
    spec = by_kind(rendered())["Deployment"]["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    assert (spec["progressDeadlineSeconds"], spec["revisionHistoryLimit"]) == (120, 10)
    assert (spec["minReadySeconds"], spec["replicas"]) == (0, 2)


def test_pre_stop_drain_ends_before_the_grace_period():
    pod = by_kind(rendered())["Deployment"]["spec"]["template"]["spec"]
    hook = pod["containers"][0]["lifecycle"]["preStop"]
    assert hook == {"sleep": {"seconds": 10}}
    assert pod["terminationGracePeriodSeconds"] > 10 + 30  # the scorer's own 30 s
    assert "lifecycle" not in container(rendered({"drain_seconds": 0}))


def test_disruption_budget_lets_one_pod_go_at_a_time():
    for case in ("one replica", "autoscaled"):
        pdb = by_kind(rendered(CASES[case]))["PodDisruptionBudget"]
        assert pdb["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in pdb["spec"]
        assert pdb["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": "mlops-scorer",
            "app.kubernetes.io/instance": "mlops-scorer",
        }


def test_autoscaler_only_between_two_different_bounds():
    assert "HorizontalPodAutoscaler" not in by_kind(rendered({"replicas": 3}))
    docs = by_kind(rendered(CASES["autoscaled"]))
    hpa = docs["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "mlops-scorer",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70},
    }
    # the rollout reads spec.replicas: kept, the HPA's starting point
    assert docs["Deployment"]["spec"]["replicas"] == 2


def test_pod_monitor_scrapes_metrics_on_the_named_port():
    docs = rendered(CASES["everything"])
    monitor = by_kind(docs)["PodMonitor"]
    assert monitor["apiVersion"] == "azmonitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "ml-prod"
    assert monitor["spec"] == {
        "selector": {"matchLabels": manifests.service_selector(settings(app="iris"))},
        "podMetricsEndpoints": [{"port": "http", "path": "/metrics"}],
    }
    pod_labels = by_kind(docs)["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    api = "monitoring.coreos.com/v1"
    other = rendered({"pod_monitor": True, "pod_monitor_api": api})
    assert by_kind(other)["PodMonitor"]["apiVersion"] == api
    assert "PodMonitor" not in by_kind(rendered())


def test_prometheus_annotations_on_the_pods():
    meta = by_kind(rendered())["Deployment"]["spec"]["template"]["metadata"]
    assert meta["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
        "prometheus.io/path": "/metrics",
        "mlops-actions/image-digest": DIGEST,
    }


@pytest.mark.parametrize(
    "image",
    [
        "myacr.azurecr.io/scorers/iris:7",
        "myacr.azurecr.io/scorers/iris",
        "myacr.azurecr.io/scorers/iris@sha256:abc",
        f"myacr.azurecr.io/scorers/iris@{DIGEST.upper()}",
        f"@{DIGEST}",
        f"my acr/iris@{DIGEST}",
    ],
)
def test_an_image_not_by_digest_is_refused(image):
    with pytest.raises(UsageError) as caught:
        rendered(image=image)
    assert caught.value.message == (
        f"--image {image}: not an image by digest: use REPOSITORY@sha256:<64 hex> "
        "(image.json's reference after mlops image build --push); a tag can move "
        "under a running Deployment"
    )


def test_the_image_by_digest_is_what_the_pods_run():
    assert container(rendered())["image"] == IMAGE
    local = f"localhost:5000/iris@{DIGEST}"
    assert container(rendered(image=local))["image"] == local


def test_selector_is_the_stable_subset_of_the_pod_labels():
    deployment = by_kind(rendered())["Deployment"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == {
        "app.kubernetes.io/name": "mlops-scorer",
        "app.kubernetes.io/instance": "mlops-scorer",
        "mlops-actions/track": "stable",
    }
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert labels["mlops-actions/model-version"] == "7"
    assert labels["mlops-actions/model-name"] == "iris"
    assert labels["mlops-actions/commit"] == "f" * 12
    assert labels["app.kubernetes.io/version"] == "7"
    assert {
        "app.kubernetes.io/component",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/managed-by",
    } <= labels.keys()


def test_a_new_model_version_is_a_new_revision_of_the_same_deployment():
    before = by_kind(rendered(model_version="7"))["Deployment"]
    after = by_kind(rendered(model_version="8", commit="a" * 40))["Deployment"]
    assert before["metadata"]["name"] == after["metadata"]["name"]
    assert before["spec"]["selector"] == after["spec"]["selector"]
    assert before["spec"]["template"] != after["spec"]["template"]


def test_the_service_selects_every_track():
    stable = by_kind(rendered())
    canary = by_kind(rendered(track="canary", model_version="8"))
    assert canary["Deployment"]["metadata"]["name"] == "mlops-scorer-canary"
    assert canary["Service"] == stable["Service"]
    selector = stable["Service"]["spec"]["selector"]
    assert "mlops-actions/track" not in selector
    for docs in (stable, canary):
        pods = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pods.items()
    # the canary's pods are not the stable Deployment's
    stable_selector = stable["Deployment"]["spec"]["selector"]["matchLabels"]
    canary_pods = canary["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert not stable_selector.items() <= canary_pods.items()
    assert stable["Service"]["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert stable["Service"]["spec"]["type"] == "ClusterIP"


def test_service_selector_with_a_track_switches_blue_green():
    chosen = settings()
    assert manifests.service_selector(chosen, "green") == {
        "app.kubernetes.io/name": "mlops-scorer",
        "app.kubernetes.io/instance": "mlops-scorer",
        "mlops-actions/track": "green",
    }
    switched = manifests.service(chosen, track="green")
    assert switched["spec"]["selector"] == manifests.service_selector(chosen, "green")
    assert manifests.service(chosen)["metadata"]["name"] == "mlops-scorer"


def test_deployment_names_per_track():
    chosen = settings(app="iris")
    assert manifests.deployment_name(chosen) == "iris"
    assert manifests.deployment_name(chosen, "blue") == "iris-blue"


@pytest.mark.parametrize("track", ["Canary", "a" * 16, "-x", "blue_green", ""])
def test_a_track_that_cannot_name_a_deployment_is_refused(track):
    with pytest.raises(UsageError) as caught:
        rendered(track=track)
    assert caught.value.message.startswith(f"--track {track}: use a DNS label")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7", "7"),
        ("1.2.3-rc.1", "1.2.3-rc.1"),
        ("v1+build/7", "v1-build-7"),
        ("-_.x.-", "x"),
        ("models:/iris@champion", "models--iris-champion"),
    ],
)
def test_label_value_sanitises(value, expected):
    assert label_value(value) == expected


@pytest.mark.parametrize("value", ["a" * 64, "é" * 100, "x." * 40 + "!", "1" * 200])
def test_label_value_is_always_a_valid_label_value(value):
    found = label_value(value)
    assert len(found) <= 63
    assert re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", found)
    # two long values differing at the end stay apart
    assert label_value(value + "1") != label_value(value + "2")


def test_a_long_model_version_is_a_valid_label():
    docs = rendered(model_version="2024-01-01T00:00:00+00:00/" + "x" * 80)
    labels = by_kind(docs)["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert len(labels["mlops-actions/model-version"]) == 63
    kubernetes_validate.validate(by_kind(docs)["Deployment"], VERSIONS[-1], strict=True)


def test_user_labels_on_every_object_never_in_selectors():
    docs = rendered(CASES["everything"])
    for doc in docs:
        assert doc["metadata"]["labels"]["team"] == "ml"
    deployment = by_kind(docs)["Deployment"]
    assert deployment["spec"]["template"]["metadata"]["labels"]["team"] == "ml"
    assert "team" not in deployment["spec"]["selector"]["matchLabels"]
    assert "team" not in by_kind(docs)["Service"]["spec"]["selector"]


def test_input_log_uses_workload_identity_and_no_secret():
    docs = rendered(CASES["everything"])
    account = by_kind(docs)["ServiceAccount"]
    assert account["metadata"]["name"] == "iris"
    assert account["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": CLIENT_ID
    }
    template = by_kind(docs)["Deployment"]["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    pod = template["spec"]
    assert pod["serviceAccountName"] == "iris"
    assert pod["automountServiceAccountToken"] is True
    env = {item["name"]: item["value"] for item in pod["containers"][0]["env"]}
    assert env == {
        "HOME": "/tmp",
        pod_template.ENV_LOG_INPUTS: "/var/lib/mlops/inputs",
        pod_template.ENV_LOG_SAMPLE_RATE: "0.25",
    }
    # the Blob container mounted by the Blob CSI driver with the workload
    # identity's token: no account key, no SAS
    volumes = {v["name"]: v for v in pod["volumes"]}
    account, _, container = (
        INPUT_LOG["container_url"].removeprefix("https://").partition("/")
    )
    assert volumes["inputs"]["csi"] == {
        "driver": "blob.csi.azure.com",
        "volumeAttributes": {
            "storageaccount": account.split(".")[0],
            "containerName": container,
            "clientID": CLIENT_ID,
            "mountWithWorkloadIdentityToken": "true",
        },
    }
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts == {"tmp": "/tmp", "inputs": "/var/lib/mlops/inputs"}
    assert all("valueFrom" not in item for item in pod["containers"][0]["env"])
    text = json.dumps(docs)
    for word in ("AccountKey", "SharedAccessSignature", "sig=", "sv=", "password"):
        assert word.lower() not in text.lower()
    assert "Secret" not in {doc["kind"] for doc in docs}
    assert not re.search(r"https://[^\"]*\?", text)


def test_without_input_log_the_default_service_account_gets_no_token():
    docs = rendered({"replicas": 3})
    assert "ServiceAccount" not in by_kind(docs)
    pod = by_kind(docs)["Deployment"]["spec"]["template"]
    assert "azure.workload.identity/use" not in pod["metadata"]["labels"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    env = {item["name"] for item in pod["spec"]["containers"][0]["env"]}
    assert env == {"HOME"}


def test_overrides_win_and_none_is_ignored():
    config = AksConfig.model_validate({"namespace": "ml", "replicas": 3})
    chosen = AksSettings.from_config(config, {"namespace": None, "replicas": 4})
    assert (chosen.namespace, chosen.replicas) == ("ml", 4)
    assert (chosen.min_replicas, chosen.max_replicas) == (4, 4)
    assert chosen.canary_weight == 10 and chosen.canary_bake_seconds == 120
    assert chosen.canary_max_error_rate == 0.01 and chosen.canary_max_p95_ratio == 1.5
    assert AksSettings.from_config(config, {"canary_weight": 25}).canary_weight == 25


def test_defaults_without_a_config():
    chosen = AksSettings()
    assert (chosen.app, chosen.namespace, chosen.replicas) == (
        "mlops-scorer",
        "default",
        2,
    )
    assert chosen == AksSettings.from_config(AksConfig(), {})
    assert (
        AksSettings(replicas=3).min_replicas,
        AksSettings(replicas=3).max_replicas,
    ) == (3, 3)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"replicas": 0}, "--replicas 0: must be >= 1, got 0"),
        (
            {"namespace": "Prod"},
            "--namespace Prod: must be a DNS label of at most 63 characters "
            "(lower-case letters, digits and '-', a letter or digit at each end), "
            "got 'Prod'",
        ),
        (
            {"replicas": 9},
            "--replicas 9: replicas 9 must lie between min_replicas 2 and "
            "max_replicas 6: change one of them",
        ),
    ],
)
def test_a_bad_override_names_the_flag(overrides, message):
    config = AksConfig.model_validate(CASES["autoscaled"])
    with pytest.raises(UsageError) as caught:
        AksSettings.from_config(config, overrides)
    assert caught.value.message == message


def test_file_names_number_the_manifests_in_order():
    assert manifests.file_names(rendered(CASES["everything"])) == [
        "01-serviceaccount-iris.yaml",
        "02-deployment-iris.yaml",
        "03-service-iris.yaml",
        "04-horizontalpodautoscaler-iris.yaml",
        "05-poddisruptionbudget-iris.yaml",
        "06-podmonitor-iris.yaml",
    ]
