"""Jobs of the fake Azure ML workspace: submission, scripted status, cancel.

A job's status moves along its scenario one entry per GET of that job (ARM
``GET jobs/{name}`` or a run-history read of it); logs grow in its
``user_logs/std_log.txt`` blob in step with the status, and scripted outputs
are written to Azurite when it completes. A pipeline job gets one child run
per node; run history (:mod:`.history`) reports them.
"""

from __future__ import annotations

import copy
import math
import uuid
from typing import TYPE_CHECKING, Any

from tests.fakes.azureml import history, nodes
from tests.fakes.azureml.assets import now
from tests.fakes.azureml.records import (
    DEFAULT_STATUSES,
    PIPELINE_FAILED,
    TERMINAL,
    Job,
    Scenario,
)

if TYPE_CHECKING:
    from tests.fakes.azureml.service import FakeAzureML


class JobStore:
    def __init__(self, fake: "FakeAzureML") -> None:
        self.fake = fake
        self.jobs: dict[str, Job] = {}
        self.scripts: dict[str | None, Scenario] = {}
        self.executor: Any = None
        self.broken: set[str] = set()

    def add_routes(self) -> None:
        route = self.fake.route
        route("PUT", r"/jobs/(?P<name>[^/]+)", self.put)
        route("GET", r"/jobs/(?P<name>[^/]+)", self.get)
        route("GET", r"/jobs", self.list)
        route("POST", r"/jobs/(?P<name>[^/]+)/cancel", self.cancel_route)
        history.add_routes(self)

    def stop(self) -> None:
        """Stop what the executor still runs (the fake is going away)."""
        if self.executor is not None:
            for job in list(self.jobs.values()):
                if job.parent is None and job.status not in TERMINAL:
                    self.executor.cancel(job.name)
            self.executor.join(30)

    # -- what tests script ---------------------------------------------
    def script(
        self,
        job: str | None,
        statuses: list[str] | None = None,
        logs: list[str] | None = None,
        error: dict[str, Any] | None = None,
        outputs: dict[str, dict[str, bytes]] | None = None,
    ) -> None:
        scenario = Scenario(
            list(statuses or DEFAULT_STATUSES), list(logs or []), error, outputs or {}
        )
        with self.fake.lock:
            if job in self.jobs:
                self.jobs[job].scenario = scenario
            else:
                self.scripts[job] = scenario

    def _scenario_for(self, name: str) -> Scenario:
        scenario = self.scripts.pop(name, None) or self.scripts.get(None)
        return copy.deepcopy(scenario) if scenario else Scenario()

    # -- submission ----------------------------------------------------
    def put(self, name: str, body: Any, **_: Any):
        with self.fake.lock:
            if name in self.jobs:
                return 200, self.jobs[name].shape, {}
            props = copy.deepcopy((body or {}).get("properties") or {})
            job = Job(name, {}, self._scenario_for(name))
            job.shape = self._shape(name, props, job.created)
            self.jobs[name] = job
            for node, spec in (props.get("jobs") or {}).items():
                self._add_child(job, node, spec)
            self._fail_builds(job, props)
        if self.executor is not None and props.get("jobType") == "Pipeline":
            self.executor.start(job)
        return 201, job.shape, {}

    def _shape(self, name: str, props: dict[str, Any], created: str) -> dict:
        props["status"] = "NotStarted"
        props.setdefault("experimentName", "Default")
        props.setdefault("displayName", name)
        props.setdefault("properties", {})
        props.setdefault("tags", {})
        props["services"] = {
            "Studio": {
                "jobServiceType": "Studio",
                "endpoint": f"https://ml.azure.com/runs/{name}?wsid={self.fake.arm_id}"
                f"&tid={self.fake.tenant_id}",
            },
            "Tracking": {
                "jobServiceType": "Tracking",
                "endpoint": f"azureml://westeurope.api.azureml.ms/mlflow/v1.0"
                f"{self.fake.arm_id}?",
            },
        }
        for out_name, out in (props.get("outputs") or {}).items():
            if isinstance(out, dict) and not out.get("uri"):
                out["uri"] = self.output_uri(name, out_name)
        return {
            "id": self.fake.resource_id("jobs", name),
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": props,
            "systemData": self.fake.system_data(created),
        }

    def _fail_builds(self, job: Job, props: dict[str, Any]) -> None:
        """A node whose environment fails to build fails the job."""
        found = nodes.nodes(self.fake, props)
        if props.get("environmentId"):
            env = nodes.resolve_environment(self.fake, props["environmentId"])
            found.append(nodes.Node(job.name, {}, env, None, {}))
        for node in found:
            error = nodes.failed_build(self.fake, node)
            if error is None:
                continue
            job.scenario = Scenario(["Preparing", "Failed"], [], error, {})
            for name in job.children + [job.name]:
                if self.jobs[name].node in (node.name, None):
                    self.jobs[name].build_log = error["build_log"]
            return

    def output_uri(self, job: str, output: str) -> str:
        return f"azureml://datastores/workspaceblobstore/paths/azureml/{job}/{output}/"

    def _add_child(self, parent: Job, node: str, spec: Any) -> None:
        name = f"{parent.name}_{node}_{uuid.uuid4().hex[:6]}"
        props = {
            "jobType": "Command",
            "displayName": node,
            "experimentName": parent.shape["properties"].get("experimentName"),
            "computeId": (spec or {}).get("computeId")
            or parent.shape["properties"].get("computeId"),
            "properties": {"azureml.nodeid": node},
        }
        child = Job(name, self._shape(name, props, now()), Scenario(), parent.name)
        child.node = node
        parent.children.append(name)
        self.jobs[name] = child

    # -- status ---------------------------------------------------------
    def advance(self, job: Job) -> None:
        """One GET of ``job``: move it along its scenario."""
        with self.fake.lock:
            if job.parent is not None or self.executor_owns(job):
                return
            if job.cancel == "requested":
                job.cancel = "done"
                self._set(job, "Canceled")
                return
            if job.cancel or job.status in TERMINAL:
                return
            if job.stuck:
                self._set(job, "Running")
                return
            statuses = job.scenario.statuses
            job.step = min(job.step + 1, len(statuses) - 1)
            self._set(job, statuses[job.step])

    def executor_owns(self, job: Job) -> bool:
        return self.executor is not None and self.executor.owns(job.name)

    def _set(self, job: Job, status: str) -> None:
        job.status = status
        job.shape["properties"]["status"] = status
        scenario = job.scenario
        if status in TERMINAL:
            shown = len(scenario.logs)
        else:
            fraction = (job.step + 1) / max(len(scenario.statuses), 1)
            shown = math.ceil(len(scenario.logs) * fraction)
        if job.cancel:
            shown = max(job.logged, 0)
        self._log(job, scenario.logs[job.logged : shown])
        job.logged = max(job.logged, shown)
        if status == "Completed":
            self._write_outputs(job)
        self._set_children(job, status)

    def _log(self, job: Job, lines: list[str]) -> None:
        if lines or not job.logged:
            text = "".join(line + "\n" for line in lines).encode()
            self.fake.azurite.append(self.fake.container, job.log_path, text)

    def _write_outputs(self, job: Job) -> None:
        for output, files in job.scenario.outputs.items():
            for relative, data in files.items():
                path = f"azureml/{job.name}/{output}/{relative}"
                self.fake.azurite.write(self.fake.container, path, data)

    def _set_children(self, job: Job, status: str) -> None:
        if not job.children:
            return
        failing = (job.scenario.error or {}).get("step")
        seen_failing = False
        for index, name in enumerate(job.children):
            child = self.jobs[name]
            if status == "Completed":
                state = "Completed"
            elif status == "Failed":
                if child.node == failing:
                    state, seen_failing = "Failed", True
                else:
                    state = "NotStarted" if seen_failing else "Completed"
            elif status in TERMINAL:
                state = child.status if child.status in TERMINAL else status
            else:
                state = "Running" if index == 0 else "NotStarted"
            child.status = state
            child.shape["properties"]["status"] = state

    def error_of(self, job: Job) -> dict[str, Any] | None:
        """The run-history error of a Failed job, as the service words it."""
        if job.status != "Failed":
            return None
        if job.parent is not None:
            parent_error = self.jobs[job.parent].scenario.error or {}
            message = parent_error.get("message") or "Job failed."
            return {"error": {"code": "UserError", "message": message}}
        error = job.scenario.error or {}
        message = error.get("message") or "Job failed."
        if job.children and error.get("step"):
            message = PIPELINE_FAILED.format(step=error["step"])
        return {"error": {"code": "UserError", "message": message}}

    # -- the ARM routes --------------------------------------------------
    def find(self, name: str) -> Job | None:
        return self.jobs.get(name)

    def get(self, name: str, **_: Any):
        job = self.find(name)
        if job is None:
            return self.fake.not_found(f"Job {name}")
        self.advance(job)
        return 200, job.shape, {}

    def list(self, query: dict[str, str], **_: Any):
        items = [j.shape for j in self.jobs.values() if j.parent is None]
        if query.get("jobType"):
            items = [s for s in items if s["properties"]["jobType"] == query["jobType"]]
        items.sort(key=lambda s: s["systemData"]["createdAt"], reverse=True)
        return 200, {"value": items}, {}

    def cancel(self, name: str) -> None:
        with self.fake.lock:
            job = self.jobs[name]
            if job.status in TERMINAL or job.cancel:
                return
            job.cancel = "requested"
            self._set(job, "CancelRequested")
            if self.executor is not None:
                self.executor.cancel(name)

    def cancel_route(self, name: str, **_: Any):
        if self.find(name) is None:
            return self.fake.not_found(f"Job {name}")
        self.cancel(name)
        return 202, None, self.fake.operation()

    # -- test-facing knobs ----------------------------------------------
    def stuck(self, name: str) -> None:
        """Keep ``name`` Running until it is cancelled (before or after PUT)."""
        with self.fake.lock:
            if name in self.jobs:
                self.jobs[name].stuck = True
            else:
                self.script(name, statuses=["Running"])

    def break_stream(self, name: str) -> None:
        """Run history of ``name`` answers 500; ``GET jobs/{name}`` still works."""
        self.broken.add(name)
