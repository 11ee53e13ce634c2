"""The workspace's datastores and computes in the fake Azure ML service.

A new workspace has ``workspaceblobstore`` (a container in Azurite, reached
the way the SDK builds it: ``https://devstoreaccount1.blob.localhost:PORT``)
and two AmlCompute clusters, ``cpu-cluster`` and ``gpu-cluster``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.azureml.assets import now
from tests.fakes.azurite import ACCOUNT, KEY

if TYPE_CHECKING:
    from tests.fakes.azureml.service import FakeAzureML


class WorkspaceStore:
    def __init__(self, fake: "FakeAzureML") -> None:
        self.fake = fake
        self.datastores: dict[str, dict[str, Any]] = {}
        self.computes: dict[str, dict[str, Any]] = {}

    def add_routes(self) -> None:
        route = self.fake.route
        route("GET", r"", self.get_workspace)
        route("GET", r"/datastores", self.list_datastores)
        route("GET", r"/datastores/(?P<name>[^/]+)", self.get_datastore)
        route("POST", r"/datastores/(?P<name>[^/]+)/listSecrets", self.secrets)
        route("GET", r"/computes", self.list_computes)
        route("GET", r"/computes/(?P<name>[^/]+)", self.get_compute)
        route("PUT", r"/computes/(?P<name>[^/]+)", self.put_compute)

    def workspace_shape(self) -> dict[str, Any]:
        storage = (
            f"/subscriptions/{self.fake.subscription_id}/resourceGroups/"
            f"{self.fake.resource_group}/providers/Microsoft.Storage/storageAccounts/"
            f"{ACCOUNT}"
        )
        return {
            "id": self.fake.arm_id,
            "name": self.fake.workspace,
            "type": "Microsoft.MachineLearningServices/workspaces",
            "location": "westeurope",
            "kind": "Default",
            "identity": {"type": "SystemAssigned"},
            "sku": {"name": "Basic", "tier": "Basic"},
            "tags": {},
            "properties": {
                "workspaceId": self.fake.workspace_guid,
                "friendlyName": self.fake.workspace,
                "description": "fake workspace for the mlops-actions tests",
                "discoveryUrl": f"{self.fake.base_url}/discovery",
                "mlFlowTrackingUri": (
                    f"azureml://westeurope.api.azureml.ms/mlflow/v1.0{self.fake.arm_id}"
                ),
                "storageAccount": storage,
                "containerRegistry": (
                    f"/subscriptions/{self.fake.subscription_id}/resourceGroups/"
                    f"{self.fake.resource_group}/providers/Microsoft.ContainerRegistry/"
                    "registries/mlopsfakeacr"
                ),
                "keyVault": "",
                "applicationInsights": "",
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
                "hbiWorkspace": False,
                "v1LegacyMode": False,
            },
            "systemData": self.fake.system_data("2026-01-01T00:00:00Z"),
        }

    def get_workspace(self, **_: Any) -> Any:
        return 200, self.workspace_shape(), {}

    def seed(self) -> None:
        self.add_datastore("workspaceblobstore", container=self.fake.container)
        self.add_compute("cpu-cluster", vm_size="STANDARD_DS3_V2", max_nodes=4)
        self.add_compute("gpu-cluster", vm_size="STANDARD_NC6S_V3", max_nodes=2)

    # -- datastores ------------------------------------------------------
    def add_datastore(
        self,
        name: str,
        type: str = "AzureBlob",
        container: str | None = None,
        default: bool | None = None,
    ) -> dict[str, Any]:
        container = container or f"ds-{name.lower().replace('_', '-')}"[:63]
        self.fake.azurite.create_container(container)
        props: dict[str, Any] = {
            "datastoreType": type,
            "accountName": ACCOUNT,
            "endpoint": f"localhost:{self.fake.azurite.port}",
            "protocol": "https",
            "credentials": {"credentialsType": "AccountKey"},
            "isDefault": not self.datastores if default is None else default,
            "description": None,
            "tags": {},
            "properties": {},
            "serviceDataAccessAuthIdentity": "None",
        }
        props["filesystem" if type == "AzureDataLakeGen2" else "containerName"] = (
            container
        )
        shape = {
            "id": self.fake.resource_id("datastores", name),
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/datastores",
            "properties": props,
            "systemData": self.fake.system_data(now()),
        }
        self.datastores[name] = shape
        return shape

    def list_datastores(self, query: dict[str, str], **_: Any):
        items = list(self.datastores.values())
        if "isDefault" in query:
            wanted = query["isDefault"].lower() == "true"
            items = [d for d in items if d["properties"]["isDefault"] == wanted]
        return 200, self.fake.page(items, query, "datastores"), {}

    def get_datastore(self, name: str, **_: Any):
        if name not in self.datastores:
            return self.fake.not_found(f"Datastore {name}")
        return 200, self.datastores[name], {}

    def secrets(self, name: str, body: Any, **_: Any):
        if name not in self.datastores:
            return self.fake.not_found(f"Datastore {name}")
        if not (body or {}).get("expirableSecret"):
            return 200, {"secretsType": "AccountKey", "key": KEY}, {}
        # what the SDK asks for since 1.18: a short-lived SAS, not the key
        props = self.datastores[name]["properties"]
        container = props.get("containerName") or props.get("filesystem")
        token = self.fake.azurite.container_sas(container, hours=1)
        return 200, {"secretsType": "Sas", "sasToken": token}, {}

    # -- computes --------------------------------------------------------
    def add_compute(
        self,
        name: str,
        vm_size: str = "STANDARD_DS3_V2",
        min_nodes: int = 0,
        max_nodes: int = 4,
        idle_s: int = 120,
        priority: str = "Dedicated",
    ) -> dict[str, Any]:
        inner = {
            "vmSize": vm_size,
            "vmPriority": priority,
            "osType": "Linux",
            "scaleSettings": {
                "minNodeCount": min_nodes,
                "maxNodeCount": max_nodes,
                "nodeIdleTimeBeforeScaleDown": f"PT{idle_s}S",
            },
        }
        return self._store_compute(name, {"properties": inner})

    def _store_compute(self, name: str, props: dict[str, Any]) -> dict[str, Any]:
        inner = dict(props.get("properties") or {})
        inner.update(
            currentNodeCount=0,
            targetNodeCount=0,
            allocationState="Steady",
            nodeStateCounts={
                "idleNodeCount": 0,
                "runningNodeCount": 0,
                "preparingNodeCount": 0,
                "unusableNodeCount": 0,
                "leavingNodeCount": 0,
                "preemptedNodeCount": 0,
            },
        )
        inner.setdefault("osType", "Linux")
        inner.setdefault("vmPriority", "Dedicated")
        shape = {
            "id": self.fake.resource_id("computes", name),
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "location": "westeurope",
            "properties": {
                "computeType": props.get("computeType", "AmlCompute"),
                "computeLocation": "westeurope",
                "description": props.get("description"),
                "provisioningState": "Succeeded",
                "isAttachedCompute": False,
                "disableLocalAuth": True,
                "properties": inner,
            },
            "systemData": self.fake.system_data(now()),
        }
        self.computes[name] = shape
        return shape

    def list_computes(self, query: dict[str, str], **_: Any):
        return 200, self.fake.page(list(self.computes.values()), query, "computes"), {}

    def get_compute(self, name: str, **_: Any):
        if name not in self.computes:
            return self.fake.error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.MachineLearningServices/workspaces/"
                f"{self.fake.workspace}/computes/{name}' under resource group "
                f"'{self.fake.resource_group}' was not found.",
            )
        return 200, self.computes[name], {}

    def put_compute(self, name: str, body: Any, **_: Any):
        with self.fake.lock:
            existed = name in self.computes
            shape = self._store_compute(name, (body or {}).get("properties") or {})
        return (200 if existed else 201), shape, self.fake.operation()
