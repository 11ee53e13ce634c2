"""`mlops deploy aks --cluster NAME`: the cluster's credentials from Azure
Resource Manager (the fake Azure service answers listClusterUserCredential as
ARM does), the API server reached with the sign-in's own tokens for the AKS
server application (the real ClientAssertionCredential, fake GitHub OIDC and
Entra ID), no kubeconfig file and no kubelogin."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from mlops_actions.deploy.aks_cluster import AKS_SERVER_APP, API_VERSION
from tests.fakes.kube.fixtures import fake_kube  # noqa: F401 (a fixture)
from tests.fakes.kube.scorers import Scorers, write_smoke

SLOW = Path(__file__).resolve().parents[1] / "scorer" / "fixtures" / "slow"
CLUSTERS = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/"
    r"Microsoft.ContainerService/managedClusters/(?P<name>[^/]+)"
    r"/listClusterUserCredential"
)


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def aks(azureml, signed_in, fake_kube, tmp_path, monkeypatch):  # noqa: F811
    """An Entra ID cluster `prod` in resource group `rg-aks`, its API server
    the fake one; tokens for the AKS server application accepted there."""
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "prod", "cluster": {"server": fake_kube.url}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "u"}}],
        "current-context": "prod",
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": ["get-token", "--server-id", AKS_SERVER_APP],
                    }
                },
            }
        ],
    }
    encoded = base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()

    def credentials(sub, group, name, **_):
        if (group, name) != ("rg-aks", "prod"):
            return azureml.error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.ContainerService/managedClusters/{name}' "
                f"under resource group '{group}' was not found.",
            )
        return 200, {"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}, {}

    azureml.route_arm("POST", CLUSTERS, credentials)
    fake_kube.accept_tokens(lambda token: claims(token).get("aud") == AKS_SERVER_APP)
    scorers = Scorers(fake_kube, tmp_path)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config either
    smoke = write_smoke(tmp_path / "smoke.json", 2)
    yield scorers.serve(SLOW), smoke
    scorers.close()


def test_deploy_to_a_cluster_named_by_azure_with_the_sign_ins_tokens(
    mlops, azureml, signed_in, fake_kube, aks, tmp_path, monkeypatch  # noqa: F811
):
    image, smoke = aks
    monkeypatch.chdir(tmp_path)
    result = mlops(
        "deploy", "aks", "--cluster", "prod", "--cluster-resource-group", "rg-aks",
        "--image", image, "--name", "penguins", "--model-version", "1",
        "--smoke", str(smoke), "--timeout", "30",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.startswith("deployed penguins version 1 (deployment/")
    asked = azureml.calls("POST", r"/listClusterUserCredential$")
    assert len(asked) == 1
    assert asked[0]["path"] == (
        f"/subscriptions/{azureml.subscription_id}/resourceGroups/rg-aks/providers/"
        "Microsoft.ContainerService/managedClusters/prod/listClusterUserCredential"
    )
    assert asked[0]["query"]["api-version"] == API_VERSION
    # the API server got requests, all signed with the sign-in's tokens
    applied = fake_kube.calls("PATCH", "/apis/apps/v1/namespaces/default/deployments")
    assert applied
    live = fake_kube.get("Deployment", "default", "mlops-scorer")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == image
    # tokens for ARM, then for the AKS server application, through OIDC
    entra, _ = signed_in
    scopes = [form.get("scope") for form in entra.token_requests]
    assert f"{AKS_SERVER_APP}/.default" in scopes
    assert any(scope.endswith("/.default") and "127.0.0.1" in scope for scope in scopes)


def test_a_cluster_azure_does_not_know_is_a_usage_error_naming_the_flags(
    mlops, azureml, signed_in, fake_kube, aks, tmp_path, monkeypatch  # noqa: F811
):
    image, smoke = aks
    monkeypatch.chdir(tmp_path)
    result = mlops(
        "deploy", "aks", "--cluster", "staging", "--cluster-resource-group",
        "rg-aks", "--image", image, "--name", "penguins", "--model-version", "1",
        "--smoke", str(smoke),
    )  # fmt: skip
    assert result.code == 2
    assert result.err.startswith(
        "error: AKS cluster staging in resource group rg-aks (subscription "
        f"{azureml.subscription_id}) was not found: check --cluster and "
        "--resource-group (ResourceNotFound: "
    )
    assert fake_kube.requests == []


def test_a_kubeconfig_and_a_cluster_together_are_refused(
    mlops, azureml, signed_in, fake_kube, aks, tmp_path, monkeypatch  # noqa: F811
):
    image, smoke = aks
    monkeypatch.chdir(tmp_path)
    config = fake_kube.kubeconfig(tmp_path / "kubeconfig")
    result = mlops(
        "deploy", "aks", "--cluster", "prod", "--kubeconfig", str(config),
        "--image", image, "--name", "penguins", "--model-version", "1",
    )  # fmt: skip
    assert (result.code, result.err) == (
        2,
        "error: --kubeconfig and --cluster both name a cluster: give one\n",
    )
