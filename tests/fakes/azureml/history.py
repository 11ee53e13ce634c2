"""Run history of the fake: what ``jobs.stream``, ``jobs.list(parent_job_name=)``
and ``jobs.download`` read (``/history/v1.0{workspace}/...`` and the dataset
data plane's ``batchGetResolvedUris``).

A read of a job's run here counts as a GET of the job: its status moves on,
so ``jobs.stream`` (which polls ``runs/{id}/details``) reaches the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.azureml.nodes import BUILD_LOG

if TYPE_CHECKING:
    from tests.fakes.azureml.jobs import JobStore
    from tests.fakes.azureml.records import Job

RUN = r"/history(?:/experiments/[^/]+|/experimentids/[^/]+)?/runs/(?P<run>[^/]+)"


def add_routes(store: "JobStore") -> None:
    route = store.fake.route

    def guarded(handler: Any) -> Any:
        def answer(run: str, **kw: Any) -> Any:
            job = store.find(run)
            if job is None:
                return store.fake.error(
                    404, "UserError", f"Run {run} was not found in this workspace"
                )
            if run in store.broken or (job.parent and job.parent in store.broken):
                return store.fake.error(500, "ServiceError", "Internal server error")
            return handler(store, job, **kw)

        return answer

    route("GET", RUN, guarded(_run))
    route("GET", RUN + "/details", guarded(_details))
    route("GET", RUN + "/children", guarded(_children))
    route("POST", r"/history/rundata", lambda body, **kw: _run_data(store, body))
    route(
        "POST",
        r"/dataplane/dataversion/batchGetResolvedUris",
        lambda body, **kw: _resolved_uris(store, body),
    )


def run_shape(store: "JobStore", job: "Job") -> dict[str, Any]:
    props = job.shape["properties"]
    terminal = job.status in {"Completed", "Failed", "Canceled"}
    parent = store.jobs.get(job.parent) if job.parent else None
    return {
        "runId": job.name,
        "runUuid": job.run_uuid,
        "parentRunId": job.parent,
        "parentRunUuid": parent.run_uuid if parent else None,
        "rootRunId": job.parent or job.name,
        "rootRunUuid": parent.run_uuid if parent else job.run_uuid,
        "experimentId": props.get("experimentName"),
        "name": job.name,
        "displayName": props.get("displayName"),
        "status": job.status,
        "runType": "azureml.StepRun" if job.parent else "azureml.PipelineRun",
        "target": (props.get("computeId") or "").rsplit("/", 1)[-1] or None,
        "createdUtc": job.created,
        "startTimeUtc": job.created if job.status != "NotStarted" else None,
        "endTimeUtc": job.created if terminal else None,
        "createdBy": {"userName": "mlops-tests", "userTenantId": store.fake.tenant_id},
        "properties": {k: str(v) for k, v in (props.get("properties") or {}).items()},
        "tags": dict(props.get("tags") or {}),
        "error": store.error_of(job),
        "warnings": [],
        "services": {},
        "outputs": {
            name: {"assetId": _asset_id(store, job, name), "type": "UriFolder"}
            for name in (props.get("outputs") or {})
        },
    }


def _asset_id(store: "JobStore", job: "Job", output: str) -> str:
    return (
        f"azureml://locations/westeurope/workspaces/{store.fake.workspace_guid}/"
        f"data/azureml_{job.name}_output_data_{output}/versions/1"
    )


def _run(store: "JobStore", job: "Job", **_: Any):
    store.advance(job)
    return 200, run_shape(store, job), {}


def _details(store: "JobStore", job: "Job", **_: Any):
    store.advance(job)
    run = run_shape(store, job)
    azurite, container = store.fake.azurite, store.fake.container
    logs = {"user_logs/std_log.txt": azurite.blob_url(container, job.log_path)}
    if job.build_log:
        logs[BUILD_LOG] = job.build_log
    details = {
        k: run[k]
        for k in (
            "runId runUuid parentRunId parentRunUuid rootRunId rootRunUuid status "
            "target createdUtc startTimeUtc endTimeUtc error warnings properties "
            "tags services createdBy outputs"
        ).split()
    }
    details["createdTimeUtc"] = details.pop("createdUtc")
    details["logFiles"] = logs
    return 200, details, {}


def _children(store: "JobStore", job: "Job", **_: Any):
    store.advance(job)
    children = [run_shape(store, store.jobs[name]) for name in job.children]
    return 200, {"value": children, "nextLink": None}, {}


def _run_data(store: "JobStore", body: Any):
    run = (body or {}).get("runId")
    job = store.find(run)
    if job is None:
        return store.fake.error(404, "UserError", f"Run {run} was not found")
    return 200, {"runMetadata": run_shape(store, job)}, {}


def _resolved_uris(store: "JobStore", body: Any):
    values = {}
    for asset_id in (body or {}).get("values") or []:
        for job in store.jobs.values():
            for output in job.shape["properties"].get("outputs") or {}:
                if _asset_id(store, job, output) == asset_id:
                    uri = job.shape["properties"]["outputs"][output]["uri"]
                    values[asset_id] = {
                        "uri": _long_form(store, uri),
                        "type": "UriFolder",
                    }
    return 200, {"values": values}, {}


def _long_form(store: "JobStore", uri: str) -> str:
    short = "azureml://datastores/"
    if not uri.startswith(short):
        return uri
    return (
        f"azureml://subscriptions/{store.fake.subscription_id}/resourcegroups/"
        f"{store.fake.resource_group}/workspaces/{store.fake.workspace}/datastores/"
        + uri[len(short) :]
    )
