"""The fake Azure ML service: one HTTPS server on 127.0.0.1, routing, request log.

The real azure-ai-ml client talks to it over real sockets through a custom
cloud (:attr:`FakeAzureML.cloud_metadata`); every URL it hands out (discovery,
SAS uploads, logs, outputs) points at this server or at Azurite. State lives
in :mod:`.assets` (versioned assets), :mod:`.workspace` (the workspace,
datastores, computes) and :mod:`.jobs` (jobs, scenarios; run history in
:mod:`.history`). Requests are recorded without their headers, so no token
ever lands in the log.

What a test can do (``azureml`` fixture, :mod:`.fixtures`):

- ``script(job_or_None, statuses=[...], logs=[...], error={"message", "step"},
  outputs={name: {path: bytes}})``: one status per GET of the job (ARM or run
  history), the last one stays; logs grow in ``user_logs/std_log.txt``;
  outputs land in Azurite at ``azureml/{job}/{output}/`` on Completed.
  Unscripted jobs: Running, Running, Completed.
- ``stuck(job)``, ``break_stream(job)``, ``fail(method, path_regex, status,
  times=, headers=)``, ``environment_build(name, version, state=, log_url=)``,
  ``add_datastore(name, type=)``, ``add_compute(name, ...)``.
- ``execute = True``: pipeline jobs run for real (:mod:`.executor`).
- ``requests``, ``calls(method, path_regex)``, ``job(name)``.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import ThreadingHTTPServer
from typing import Any, Callable

from tests.fakes.azureml import assets, jobs, server
from tests.fakes.azureml.workspace import WorkspaceStore
from tests.fakes.azurite import Azurite
from tests.fakes.tls import Authority

PROVIDER = "Microsoft.MachineLearningServices"
Answer = "tuple[int, Any, dict[str, str]]"
PAGE_SIZE = 20
Route = tuple[str, "re.Pattern[str]", Callable[..., Any]]


class FakeAzureML:
    def __init__(
        self,
        authority: Authority,
        azurite: Azurite,
        subscription_id: str = "00000000-0000-0000-0000-00000000cafe",
        resource_group: str = "rg-mlops",
        workspace: str = "ws-mlops",
        tenant_id: str = "00000000-0000-0000-0000-0000000000aa",
    ) -> None:
        self.authority = authority
        self.azurite = azurite
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.workspace = workspace
        self.tenant_id = tenant_id
        self.workspace_guid = str(uuid.uuid4())
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._failures: list[dict[str, Any]] = []
        self.operations: dict[str, dict[str, Any]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), server.handler(self))
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.server.socket = authority.server_context().wrap_socket(
            self.server.socket, server_side=True
        )
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.cloud_name = f"MlopsFake{self.port}"
        # the workspace's default datastore container, one per fake instance
        self.container = f"azureml-blobstore-{self.workspace_guid[:8]}"
        self.assets = assets.AssetStore(self)
        self.jobs = jobs.JobStore(self)
        self.workspace_store = WorkspaceStore(self)
        self.routes: list[Route] = []
        self.arm_routes: list[Route] = []
        self.route("GET", r"/operations/(?P<op>[^/]+)", self._get_operation)
        self.assets.add_routes()
        self.workspace_store.add_routes()
        self.jobs.add_routes()

    # -- lifecycle -------------------------------------------------------
    def __enter__(self) -> "FakeAzureML":
        self.azurite.create_container(self.container)
        self.workspace_store.seed()
        self.assets.seed()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.jobs.stop()
        self.server.shutdown()
        self.server.server_close()

    # -- what the tests configure the client with ------------------------
    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/"
            f"{self.resource_group}/providers/{PROVIDER}/workspaces/{self.workspace}"
        )

    @property
    def cloud_metadata(self) -> dict[str, str]:
        return {
            "azure_portal": "https://portal.azure.com/",
            "resource_manager": f"{self.base_url}/",
            "active_directory": f"{self.base_url}/",
            "aml_resource_id": "https://ml.azure.com/",
            "storage_endpoint": f"localhost:{self.azurite.port}",
            "registry_discovery_endpoint": f"{self.base_url}/",
        }

    def env(self) -> dict[str, str]:
        return {
            "MLOPS_AZURE_SUBSCRIPTION_ID": self.subscription_id,
            "MLOPS_AZURE_RESOURCE_GROUP": self.resource_group,
            "MLOPS_AZURE_WORKSPACE": self.workspace,
            "MLOPS_AZURE_TENANT_ID": self.tenant_id,
            "MLOPS_AZURE_CLOUD": self.cloud_name,
            "MLOPS_AZURE_CLOUD_METADATA": json.dumps(self.cloud_metadata),
            "REQUESTS_CA_BUNDLE": str(self.authority.bundle),
        }

    # -- scenarios (see the stores for what each does) -------------------
    @property
    def execute(self) -> bool:
        """True: pipeline jobs PUT from now on run for real (:mod:`.executor`)."""
        return self.jobs.executor is not None

    @execute.setter
    def execute(self, on: bool) -> None:
        from tests.fakes.azureml.executor import Executor

        self.jobs.executor = Executor(self.jobs) if on else None

    def script(self, job: str | None, **scenario: Any) -> None:
        """Script job ``job`` (None: every job not scripted by name)."""
        self.jobs.script(job, **scenario)

    def stuck(self, job: str) -> None:
        self.jobs.stuck(job)

    def break_stream(self, job: str) -> None:
        self.jobs.break_stream(job)

    def environment_build(self, name: str, version: str, **build: Any) -> None:
        self.assets.environment_build(name, version, **build)

    def add_datastore(self, name: str, **kw: Any) -> dict[str, Any]:
        return self.workspace_store.add_datastore(name, **kw)

    def add_compute(self, name: str, **kw: Any) -> dict[str, Any]:
        return self.workspace_store.add_compute(name, **kw)

    def job(self, name: str) -> Any:
        """The stored job (``.status``, ``.shape``, ``.children``)."""
        return self.jobs.jobs[name]

    # -- request log and failure injection -------------------------------
    def calls(self, method: str, path_regex: str) -> list[dict[str, Any]]:
        """Recorded requests whose method matches and path ``re.search``es."""
        pattern = re.compile(path_regex)
        return [
            r
            for r in list(self.requests)
            if r["method"] == method.upper() and pattern.search(r["path"])
        ]

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``."""
        with self.lock:
            self._failures.append(
                {
                    "method": method.upper(),
                    "pattern": re.compile(path_regex),
                    "status": status,
                    "times": times,
                    "headers": headers or {},
                }
            )

    def _injected(self, method: str, path: str) -> dict[str, Any] | None:
        with self.lock:
            for failure in self._failures:
                if failure["times"] <= 0 or failure["method"] != method:
                    continue
                if failure["pattern"].search(path):
                    failure["times"] -= 1
                    return failure
        return None

    # -- shapes shared by the stores --------------------------------------
    def resource_id(self, *parts: str) -> str:
        return "/".join([self.arm_id, *parts])

    def system_data(self, created_at: str) -> dict[str, str]:
        return {
            "createdAt": created_at,
            "createdBy": "mlops-tests",
            "createdByType": "User",
            "lastModifiedAt": created_at,
            "lastModifiedBy": "mlops-tests",
            "lastModifiedByType": "User",
        }

    @staticmethod
    def error(status: int, code: str, message: str) -> Answer:  # type: ignore
        return status, {"error": {"code": code, "message": message}}, {}

    def not_found(self, what: str) -> Answer:  # type: ignore
        return self.error(404, "ResourceNotFound", f"{what} could not be found.")

    def operation(self, status: str = "Succeeded") -> dict[str, str]:
        """Headers of a long-running operation that answers ``status``."""
        op = uuid.uuid4().hex
        self.operations[op] = {"status": status}
        url = f"{self.base_url}{self.arm_id}/operations/{op}"
        return {"Azure-AsyncOperation": url, "Location": url}

    def page(self, items: list[Any], query: dict[str, str], what: str) -> Any:
        skip = int(query.get("$skip", "0"))
        page = {"value": items[skip : skip + PAGE_SIZE]}
        if skip + PAGE_SIZE < len(items):
            rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "$skip")
            page["nextLink"] = (
                f"{self.base_url}{self.arm_id}/{what}?{rest}"
                f"&$skip={skip + PAGE_SIZE}"
            )
        return page

    def route_arm(self, method: str, pattern: str, handler: Callable[..., Any]) -> None:
        """``pattern`` is matched against the whole path: Azure Resource
        Manager beyond the workspace (another provider's resources)."""
        self.arm_routes.append((method, re.compile(pattern + r"/?$"), handler))

    def route(self, method: str, pattern: str, handler: Callable[..., Any]) -> None:
        """``pattern`` is matched against the path after the workspace id."""
        self.routes.append((method, re.compile(pattern + r"/?$"), handler))

    def _get_operation(self, op: str, **_: Any) -> Answer:  # type: ignore
        if op not in self.operations:
            return self.not_found(f"Operation {op}")
        return 200, dict(self.operations[op], name=op), {}

    def discovery(self) -> dict[str, str]:
        services = (
            "api catalog experimentation gallery history hyperdrive labeling "
            "modelmanagement pipelines studio"
        ).split()
        return {name: self.base_url for name in services}

    # -- dispatch --------------------------------------------------------
    def dispatch(self, method: str, path: str, query: dict[str, str], body: Any):
        if path.rstrip("/") == "/discovery":
            return 200, self.discovery(), {}
        for verb, pattern, handler in self.arm_routes:
            match = pattern.fullmatch(path)
            if verb == method and match:
                return handler(query=query, body=body, **match.groupdict())
        rest = self._scoped(path)
        if rest is None:
            return self.error(404, "NoSuchRoute", f"{method} {path}: not faked")
        for verb, pattern, handler in self.routes:
            match = pattern.fullmatch(rest)
            if verb == method and match:
                return handler(query=query, body=body, **match.groupdict())
        return self.error(404, "NoSuchRoute", f"{method} {path}: not faked")

    def _scoped(self, path: str) -> str | None:
        """The part of ``path`` after the workspace id, history marked."""
        prefix = ""
        for plane, mark in (
            ("/history/v1.0", "/history"),
            ("/data/v1.0", "/dataplane"),
        ):
            if path.startswith(plane):
                path, prefix = path[len(plane) :], mark
        for scope in ("/rp/workspaces", ""):
            head = self.arm_id.replace("/providers", scope + "/providers", 1)
            if path.lower().startswith(head.lower()):
                return prefix + path[len(head) :]
        return None
