"""An AKS cluster named by Azure (resource group and name), reached with the
toolkit's own Azure sign-in: no kubeconfig file, no kubelogin, no secret.

ARM's ``listClusterUserCredential`` answers the cluster's user kubeconfig. On
an Entra ID cluster (its user runs kubelogin) only the server and its CA are
kept, and every request carries the sign-in's token for the AKS server
application (``6dae42f8-...``, kubelogin's ``--server-id``), fetched again
before it expires: a rollout that outlives one token keeps going. A cluster
with local accounts keeps the kubeconfig's own user.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_actions.errors import BackendError, UsageError

#: the Entra ID application of every AKS API server
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
API_VERSION = "2024-08-01"
#: a token this close to expiring is fetched again before a request
REFRESH_MARGIN_S = 300
#: Azure Resource Manager of each cloud known by name
RESOURCE_MANAGERS = {
    "AzureCloud": "https://management.azure.com/",
    "AzureChinaCloud": "https://management.chinacloudapi.cn/",
    "AzureUSGovernment": "https://management.usgovcloudapi.net/",
}


def resource_manager(cloud: str, metadata: Mapping[str, str] | None) -> str:
    """The ARM endpoint: a custom cloud's own, else the named cloud's."""
    if metadata is not None:
        return metadata["resource_manager"]
    return RESOURCE_MANAGERS.get(cloud, RESOURCE_MANAGERS["AzureCloud"])


def cluster_client(
    *,
    subscription_id: str,
    resource_group: str,
    cluster: str,
    credential: Any,
    resource_manager: str,
    state: Path,
) -> Any:
    """An ApiClient for ``cluster``; ``state`` keeps the cluster's CA file."""
    kubeconfig = _user_kubeconfig(
        subscription_id, resource_group, cluster, credential, resource_manager
    )
    from kubernetes import client, config

    users = kubeconfig.get("users") or [{}]
    if "exec" not in (users[0].get("user") or {}):
        return config.new_client_from_config_dict(kubeconfig)
    entry = (kubeconfig.get("clusters") or [{}])[0].get("cluster") or {}
    configuration = client.Configuration()
    configuration.host = entry.get("server")
    ca = entry.get("certificate-authority-data")
    if ca:
        folder = state / "aks"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{resource_group}-{cluster}-ca.crt"
        path.write_bytes(base64.b64decode(ca))
        configuration.ssl_ca_cert = str(path)
    expires = [0.0]

    def refresh(conf: Any) -> None:
        if expires[0] - time.time() > REFRESH_MARGIN_S:
            return
        token = credential.get_token(f"{AKS_SERVER_APP}/.default")
        # the whole header value: this client's BearerToken takes no prefix
        conf.api_key["authorization"] = f"Bearer {token.token}"
        expires[0] = float(token.expires_on)

    configuration.api_key = {}
    configuration.refresh_api_key_hook = refresh
    refresh(configuration)
    return client.ApiClient(configuration)


def _user_kubeconfig(
    subscription_id: str,
    resource_group: str,
    cluster: str,
    credential: Any,
    resource_manager: str,
) -> dict[str, Any]:
    url = (
        f"{resource_manager.rstrip('/')}/subscriptions/{subscription_id}"
        f"/resourceGroups/{resource_group}/providers/Microsoft.ContainerService"
        f"/managedClusters/{cluster}/listClusterUserCredential"
        f"?api-version={API_VERSION}"
    )
    if not url.startswith("https://"):
        raise UsageError(f"{resource_manager}: Azure Resource Manager is HTTPS only")
    token = credential.get_token(f"{resource_manager.rstrip('/')}/.default")
    where = f"AKS cluster {cluster} in resource group {resource_group}"
    import requests  # azure-core's transport: the same CA bundle and proxies

    try:
        answer = requests.post(
            url, headers={"Authorization": f"Bearer {token.token}"}, timeout=30
        )
    except requests.RequestException as exc:
        raise BackendError(f"Azure Resource Manager did not answer: {exc}") from None
    if answer.status_code != 200:
        said = _arm_message(answer)
        if answer.status_code == 404:
            raise UsageError(
                f"{where} (subscription {subscription_id}) was not found: check "
                f"--cluster and --resource-group ({said})"
            )
        if answer.status_code in (401, 403):
            raise BackendError(
                f"the sign-in may not read the credentials of {where}: give it "
                f"the Azure Kubernetes Service Cluster User Role there ({said})"
            )
        raise BackendError(f"Azure answered {answer.status_code} for {where}: {said}")
    found = answer.json()
    for entry in found.get("kubeconfigs") or []:
        import yaml

        text = base64.b64decode(entry.get("value") or "").decode()
        return dict(yaml.safe_load(text) or {})
    raise BackendError(f"Azure answered no kubeconfig for {where}")


def _arm_message(answer: Any) -> str:
    try:
        error = answer.json().get("error") or {}
    except ValueError:
        return str(answer.reason)
    return f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")


__all__ = ["AKS_SERVER_APP", "cluster_client", "resource_manager"]
