"""Executor mode of the fake (``fake.execute = True``): run a pipeline's
command nodes for real, so the Azure pipeline backend can be tested end to end.

Each node runs under bash in a thread, in dependency order: its code is
downloaded from the code asset's blobs in Azurite, ``${{inputs.x}}`` and
``${{outputs.y}}`` are bound to local folders (upstream outputs downloaded,
own outputs uploaded to ``azureml/{job}/{output}/`` afterwards), and its
stdout and stderr grow the node's ``user_logs/std_log.txt`` (and the
pipeline's). A failing node fails the pipeline with the service's words.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fakes.azureml import nodes as node_specs

if TYPE_CHECKING:
    from tests.fakes.azureml.jobs import JobStore
    from tests.fakes.azureml.records import Job

USER_FAILED = (
    "Execution failed. User process 'bash' exited with status code {code}. Please "
    "check log file 'user_logs/std_log.txt' for error details. Error: {tail}"
)
# wording ours: the service cancels a node past its limits.timeout
TIMED_OUT = (
    "The job was canceled because it ran longer than its limits.timeout "
    "of {seconds} seconds."
)
DURATION = re.compile(r"P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
UPSTREAM = re.compile(r"\$\{\{parent\.jobs\.([^.]+)\.outputs\.([^}]+)\}\}")
PARENT_INPUT = re.compile(r"\$\{\{parent\.inputs\.([^}]+)\}\}")
PARENT_OUTPUT = re.compile(r"\$\{\{parent\.outputs\.([^}]+)\}\}")
OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]")
REF = re.compile(r"\$\{\{(inputs|outputs)\.([^}]+)\}\}")


class Executor:
    def __init__(self, store: "JobStore") -> None:
        self.store = store
        self.fake = store.fake
        self._owned: set[str] = set()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._canceled: set[str] = set()
        self._timed_out: set[str] = set()
        self.threads: list[threading.Thread] = []

    def owns(self, name: str) -> bool:
        return name in self._owned

    def start(self, job: "Job") -> None:
        self._owned.add(job.name)
        self._owned.update(job.children)
        thread = threading.Thread(target=self._run, args=(job,), daemon=True)
        self.threads.append(thread)
        thread.start()

    def cancel(self, name: str) -> None:
        self._canceled.add(name)
        for child in self.store.jobs[name].children:
            proc = self._procs.get(child)
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)

    def join(self, timeout: float = 60.0) -> None:
        for thread in self.threads:
            thread.join(timeout)

    # -- one pipeline -----------------------------------------------------
    def _set(self, job: "Job", status: str) -> None:
        with self.fake.lock:
            job.status = status
            job.shape["properties"]["status"] = status

    def _run(self, job: "Job") -> None:
        props = job.shape["properties"]
        by_name = {n.name: n for n in node_specs.nodes(self.fake, props)}
        children = {self.store.jobs[c].node: self.store.jobs[c] for c in job.children}
        with tempfile.TemporaryDirectory(prefix=f"fake-aml-{job.name}-") as tmp:
            folders: dict[tuple[str, str], Path] = {}
            self._set(job, "Running")
            for name in _order(by_name):
                if job.name in self._canceled:
                    break
                child = children[name]
                self._set(child, "Running")
                code, tail = self._node(job, child, by_name[name], Path(tmp), folders)
                if job.name in self._canceled:
                    self._set(child, "Canceled")
                    break
                if child.name in self._timed_out:
                    seconds = _timeout_s(by_name[name].binding)
                    child.error = TIMED_OUT.format(seconds=seconds)
                    job.scenario.error = {"message": child.error, "step": name}
                    self._set(child, "Canceled")
                    self._set(job, "Failed")
                    return
                if code != 0:
                    job.scenario.error = {
                        "message": USER_FAILED.format(code=code, tail=tail),
                        "step": name,
                    }
                    self._set(child, "Failed")
                    self._set(job, "Failed")
                    return
                self._set(child, "Completed")
            self._set(job, "Canceled" if job.name in self._canceled else "Completed")

    def _node(
        self,
        job: "Job",
        child: "Job",
        node: node_specs.Node,
        tmp: Path,
        folders: dict[tuple[str, str], Path],
    ) -> tuple[int, str]:
        work = tmp / node.name
        code_dir = work / "code"
        code_dir.mkdir(parents=True)
        if node.code_uri:
            self._download_code(node.code_uri, code_dir)
        values: dict[str, str | None] = {}
        pipeline_inputs = job.shape["properties"].get("inputs") or {}
        for input_name, declared in (node.spec.get("inputs") or {}).items():
            bound = (node.binding.get("inputs") or {}).get(input_name)
            values[f"inputs.{input_name}"] = self._input(
                bound, declared, pipeline_inputs, folders, work / "in" / input_name
            )
        uploads: dict[str, Path] = {}
        for output_name in node.spec.get("outputs") or {}:
            folder = work / "out" / output_name
            folder.mkdir(parents=True)
            folders[(node.name, output_name)] = folder
            values[f"outputs.{output_name}"] = str(folder)
            bound = (node.binding.get("outputs") or {}).get(output_name) or {}
            target = PARENT_OUTPUT.fullmatch(str(bound.get("value", "")))
            uploads[
                (
                    f"azureml/{job.name}/{target.group(1)}"
                    if target
                    else f"azureml/{child.name}/{output_name}"
                )
            ] = folder
        command = _bind(str(node.spec.get("command", "")), values)
        code, tail = self._exec(job, child, command, code_dir, node.binding)
        if code == 0:
            for prefix, folder in uploads.items():
                self._upload(folder, prefix)
        return code, tail

    def _input(
        self,
        bound: Any,
        declared: dict[str, Any],
        pipeline_inputs: dict[str, Any],
        folders: dict[tuple[str, str], Path],
        local: Path,
    ) -> str | None:
        value = bound.get("value") if isinstance(bound, dict) else None
        if isinstance(bound, dict) and bound.get("uri"):
            value = bound["uri"]
        if value is None:
            default = declared.get("default")
            return None if default is None else str(default)
        upstream = UPSTREAM.fullmatch(str(value))
        if upstream:
            return str(folders[(upstream.group(1), upstream.group(2))])
        parent = PARENT_INPUT.fullmatch(str(value))
        if parent:
            given = pipeline_inputs.get(parent.group(1))
            if given is None:
                default = declared.get("default")
                return None if default is None else str(default)
            value = given.get("uri") or given.get("value")
        if str(value).startswith("azureml://datastores/"):
            return self._download_datastore_path(str(value), local)
        return str(value)

    # -- blobs -------------------------------------------------------------
    def _download_code(self, code_uri: str, into: Path) -> None:
        container, _, prefix = code_uri.split("/devstoreaccount1/", 1)[1].partition("/")
        self._download(container, prefix, into)

    def _download_datastore_path(self, uri: str, local: Path) -> str:
        path = uri.split("/paths/", 1)[1]
        self._download(self.fake.container, path.rstrip("/"), local)
        return str(local)

    def _download(self, container: str, prefix: str, into: Path) -> None:
        azurite = self.fake.azurite
        for blob in azurite.list(container, prefix):
            relative = blob[len(prefix) :].lstrip("/") or Path(blob).name
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(azurite.read(container, blob))

    def _upload(self, folder: Path, prefix: str) -> None:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                blob = f"{prefix}/{path.relative_to(folder).as_posix()}"
                self.fake.azurite.write(self.fake.container, blob, path.read_bytes())

    # -- the process ---------------------------------------------------------
    def _exec(
        self,
        job: "Job",
        child: "Job",
        command: str,
        cwd: Path,
        node_binding: dict[str, Any],
    ) -> tuple[int, str]:
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update(AZUREML_RUN_ID=child.name, AZUREML_ROOT_RUN_ID=job.name)
        # the workspace a job's code (azureml-fsspec, azureml-mlflow) reads
        env.update(
            AZUREML_ARM_SUBSCRIPTION=self.fake.subscription_id,
            AZUREML_ARM_RESOURCEGROUP=self.fake.resource_group,
            AZUREML_ARM_WORKSPACE_NAME=self.fake.workspace,
        )
        proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._procs[child.name] = proc
        timeout = _timeout_s(node_binding)
        timer = threading.Timer(timeout or 0, self._time_out, (child.name, proc))
        if timeout:
            timer.start()
        lines: list[str] = []
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            data = (line + "\n").encode()
            for log_job in (child, job):
                self.fake.azurite.append(self.fake.container, log_job.log_path, data)
        code = proc.wait()
        timer.cancel()
        return code, "\n".join(lines[-5:])

    def _time_out(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            self._timed_out.add(name)
            os.killpg(proc.pid, signal.SIGTERM)


def _timeout_s(binding: dict[str, Any]) -> int | None:
    """A node's ``limits.timeout`` (ISO 8601 as the SDK sends it) in seconds."""
    value = (binding.get("limits") or {}).get("timeout")
    if value is None:
        return None
    if isinstance(value, (int, float)) or str(value).isdigit():
        return int(value)
    match = DURATION.fullmatch(str(value))
    if not match:
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _order(by_name: dict[str, node_specs.Node]) -> list[str]:
    """Node names, each after the nodes whose outputs it reads."""
    deps = {
        name: {
            m.group(1)
            for bound in (node.binding.get("inputs") or {}).values()
            if isinstance(bound, dict)
            for m in [UPSTREAM.fullmatch(str(bound.get("value", "")))]
            if m
        }
        for name, node in by_name.items()
    }
    done: list[str] = []
    while len(done) < len(deps):
        ready = [n for n in deps if n not in done and deps[n] <= set(done)]
        if not ready:
            raise ValueError(f"pipeline nodes form a cycle: {sorted(deps)}")
        done.extend(ready)
    return done


def _bind(command: str, values: dict[str, str | None]) -> str:
    """Substitute ``${{inputs.x}}``; drop ``$[[...]]`` parts naming unset ones."""

    def optional(match: re.Match[str]) -> str:
        refs = [f"{k}.{n}" for k, n in REF.findall(match.group(1))]
        return match.group(1) if all(values.get(r) is not None for r in refs) else ""

    command = OPTIONAL.sub(optional, command)
    # plain text substitution, as Azure ML does: the command's own quotes apply
    return REF.sub(lambda m: values.get(f"{m[1]}.{m[2]}") or "", command)
