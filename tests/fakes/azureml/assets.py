"""Versioned assets of the fake Azure ML workspace: models, data, environments,
codes and components.

Shapes follow azure-ai-ml's generated ARM models (``_restclient``): every
resource has ``id``, ``name``, ``type``, ``properties`` and ``systemData``.
Asset versions are immutable (a PUT that changes one answers 409, as the
service does), except that a model's tags and description may change.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from typing import TYPE_CHECKING, Any

from tests.fakes.azurite import ACCOUNT

if TYPE_CHECKING:
    from tests.fakes.azureml.service import FakeAzureML

KINDS = ("models", "data", "environments", "codes", "components")
ASSET_NAME = r"(?P<kind>models|data|environments|codes|components)/(?P<name>[^/]+)"
# what a PUT may change on an existing version, per kind
MUTABLE = {"models": {"tags", "description", "stage", "isArchived"}}


def now() -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class AssetStore:
    def __init__(self, fake: "FakeAzureML") -> None:
        self.fake = fake
        # kind -> name -> {"container": shape, "versions": {version: shape}}
        self.assets: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        # (name, version) -> {"state": ..., "log_url": ...}
        self.builds: dict[tuple[str, str], dict[str, Any]] = {}
        self._tick = 0

    def add_routes(self) -> None:
        route = self.fake.route
        route("GET", rf"/{ASSET_NAME}/versions/(?P<version>[^/]+)", self.get_version)
        route("PUT", rf"/{ASSET_NAME}/versions/(?P<version>[^/]+)", self.put_version)
        route(
            "POST",
            rf"/{ASSET_NAME}/versions/(?P<version>[^/]+)/startPendingUpload",
            self.pending_upload,
        )
        route("GET", rf"/{ASSET_NAME}/versions", self.list_versions)
        route("GET", rf"/{ASSET_NAME}", self.get_container)
        route("PUT", rf"/{ASSET_NAME}", self.put_container)
        route("GET", r"/(?P<kind>models|data|environments|codes|components)", self.list)

    def seed(self) -> None:
        """The curated environment the toy components name."""
        self.add_version(
            "environments",
            "AzureML-sklearn-1.5",
            "1",
            {
                "image": "mcr.microsoft.com/azureml/curated/sklearn-1.5:1",
                "osType": "Linux",
            },
        )

    # -- versioned assets ------------------------------------------------
    def _created(self) -> str:
        # strictly increasing timestamps, so createdtime ordering is total
        with self.fake.lock:
            self._tick += 1
            base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
            stamp = base + datetime.timedelta(seconds=self._tick)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00")

    def _container_shape(self, kind: str, name: str) -> dict[str, Any]:
        created = self._created()
        return {
            "id": self.fake.resource_id(kind, name),
            "name": name,
            "type": f"Microsoft.MachineLearningServices/workspaces/{kind}",
            "properties": {
                "description": None,
                "tags": {},
                "properties": {},
                "isArchived": False,
                "latestVersion": None,
                "nextVersion": "1",
                "provisioningState": "Succeeded",
            },
            "systemData": self.fake.system_data(created),
        }

    def add_version(
        self, kind: str, name: str, version: str, properties: dict[str, Any]
    ) -> dict[str, Any]:
        """Store a version as the service would after a PUT (also for seeding)."""
        with self.fake.lock:
            entry = self.assets[kind].setdefault(
                name, {"container": self._container_shape(kind, name), "versions": {}}
            )
            props = copy.deepcopy(properties)
            props.setdefault("tags", {})
            props.setdefault("properties", {})
            props.setdefault("isArchived", False)
            props.setdefault("isAnonymous", False)
            props["provisioningState"] = "Succeeded"
            if kind == "models":
                props.setdefault("flavors", {})
                props.setdefault("modelType", "custom_model")
            if kind == "environments":
                props.setdefault("environmentType", "UserCreated")
                props.setdefault("osType", "Linux")
            shape = {
                "id": self.fake.resource_id(kind, name, "versions", version),
                "name": version,
                "type": f"Microsoft.MachineLearningServices/workspaces/{kind}/versions",
                "properties": props,
                "systemData": self.fake.system_data(self._created()),
            }
            entry["versions"][version] = shape
            container = entry["container"]["properties"]
            container["latestVersion"] = version
            numeric = [int(v) for v in entry["versions"] if v.isdigit()]
            container["nextVersion"] = str(max(numeric, default=0) + 1)
            return shape

    def version(self, kind: str, name: str, version: str) -> dict[str, Any] | None:
        entry = self.assets[kind].get(name)
        return entry["versions"].get(version) if entry else None

    def get_version(self, kind: str, name: str, version: str, **_: Any):
        shape = self.version(kind, name, version)
        if shape is None:
            return self.fake.not_found(f"{kind} {name}:{version}")
        return 200, shape, {}

    def put_version(self, kind: str, name: str, version: str, body: Any, **_: Any):
        props = dict((body or {}).get("properties") or {})
        with self.fake.lock:
            old = self.version(kind, name, version)
            if old is None:
                return 201, self.add_version(kind, name, version, props), {}
            before = {k: v for k, v in old["properties"].items() if k in props}
            changed = {k for k in props if props[k] != before.get(k)}
            if not changed:
                return 200, old, {}
            if changed - MUTABLE.get(kind, set()):
                return self.fake.error(
                    409,
                    "UserError",
                    f"Conflict: {kind} {name}:{version} already exists and is "
                    f"immutable (changed: {', '.join(sorted(changed))}).",
                )
            old["properties"].update({k: props[k] for k in changed})
            old["systemData"]["lastModifiedAt"] = now()
            return 200, old, {}

    def pending_upload(self, kind: str, name: str, version: str, body: Any, **_: Any):
        container = f"{kind[:4]}-{uuid.uuid4().hex[:16]}"
        self.fake.azurite.create_container(container)
        blob_uri = self.fake.azurite.container_url(container, sas=False)
        sas_uri = self.fake.azurite.container_url(container)
        return (
            200,
            {
                "blobReferenceForConsumption": {
                    "blobUri": blob_uri,
                    "storageAccountArmId": (
                        f"/subscriptions/{self.fake.subscription_id}/resourceGroups/"
                        f"{self.fake.resource_group}/providers/Microsoft.Storage/"
                        f"storageAccounts/{ACCOUNT}"
                    ),
                    "credential": {"credentialType": "SAS", "sasUri": sas_uri},
                },
                "pendingUploadId": (body or {}).get("pendingUploadId")
                or str(uuid.uuid4()),
                "pendingUploadType": "TemporaryBlobReference",
            },
            {},
        )

    def list_versions(self, kind: str, name: str, query: dict[str, str], **_: Any):
        entry = self.assets[kind].get(name)
        if entry is None:
            # the service answers an empty page for a name it has never seen
            return 200, {"value": []}, {}
        versions = list(entry["versions"].values())
        view = query.get("listViewType", "ActiveOnly")
        if view == "ActiveOnly":
            versions = [v for v in versions if not v["properties"].get("isArchived")]
        elif view == "ArchivedOnly":
            versions = [v for v in versions if v["properties"].get("isArchived")]
        if "hash" in query:
            versions = [
                v
                for v in versions
                if v["properties"]["properties"].get("hash_sha256") == query["hash"]
            ]
        if query.get("tags"):
            versions = [v for v in versions if _tags_match(v, query["tags"])]
        order = query.get("$orderBy", "").lower()
        versions.sort(key=lambda v: v["systemData"]["createdAt"])
        if order.endswith("desc") or not order:
            versions.reverse()
        if order and not order.endswith("desc"):
            versions.sort(key=lambda v: v["systemData"]["createdAt"])
        if "$top" in query:
            versions = versions[: int(query["$top"])]
        return 200, self.fake.page(versions, query, f"{kind}/{name}/versions"), {}

    def get_container(self, kind: str, name: str, **_: Any):
        entry = self.assets[kind].get(name)
        if entry is None:
            return self.fake.not_found(f"{kind} {name}")
        return 200, entry["container"], {}

    def put_container(self, kind: str, name: str, body: Any, **_: Any):
        with self.fake.lock:
            entry = self.assets[kind].setdefault(
                name, {"container": self._container_shape(kind, name), "versions": {}}
            )
            props = (body or {}).get("properties") or {}
            entry["container"]["properties"].update(
                {
                    k: props[k]
                    for k in ("description", "tags", "isArchived")
                    if k in props
                }
            )
            return 200, entry["container"], {}

    def list(self, kind: str, query: dict[str, str], **_: Any):
        items = [e["container"] for e in self.assets[kind].values()]
        return 200, self.fake.page(items, query, kind), {}

    # -- environment builds ----------------------------------------------
    def environment_build(
        self, name: str, version: str, state: str = "Failed", log_url: str = ""
    ) -> None:
        self.builds[(name, version)] = {"state": state, "log_url": log_url}


def _tags_match(version: dict[str, Any], expression: str) -> bool:
    tags = version["properties"].get("tags") or {}
    for term in expression.split(","):
        key, _, value = term.partition("=")
        if key.strip() not in tags or (value and tags[key.strip()] != value.strip()):
            return False
    return True
