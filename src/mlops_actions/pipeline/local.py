"""The local backend: a pipeline's steps as subprocesses, with a step cache.

Each step runs its component's command (no shell) in the component's code
folder, with ``${{inputs.*}}``/``${{outputs.*}}`` bound to folders under
``<state>/runs/<run-id>/<step>/``. A step whose component, code and inputs hash
the same as an earlier completed step is reused instead of run. A step is only
ever reused after its ``step.json`` says it completed, so a failed or
interrupted step is never picked up later.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Iterator

from mlops_actions.errors import BackendError, UsageError
from mlops_actions.pipeline import digest
from mlops_actions.pipeline.checks import check_pipeline, execution_order
from mlops_actions.pipeline.expressions import Binding, parse_binding, render_command
from mlops_actions.pipeline.inputs import resolve_inputs
from mlops_actions.pipeline.record import (
    STEP_SCHEMA,
    RunRecord,
    StepRecord,
    find_metrics,
    read_json,
    write_json,
)
from mlops_actions.pipeline.spec import Job, Pipeline
from mlops_actions.settings import default_tracking_uri

LOG_TAIL_LINES = 20
_KILL_GRACE_S = 5.0


@dataclass(frozen=True)
class StepEvent:
    """Progress of one step, for whoever renders it."""

    step: str
    index: int
    total: int
    status: str  # started | completed | reused | failed | cancelled
    seconds: float = 0.0
    reused_from: str | None = None


class _Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into an exception while a step runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class LocalRunner:
    """Runs pipelines on this machine; ``state`` holds runs, cache and MLflow."""

    def __init__(
        self,
        state: Path,
        *,
        use_cache: bool = True,
        on_event: Callable[[StepEvent], None] | None = None,
        echo: IO[str] | None = None,
        interpreter: str = sys.executable,
    ) -> None:
        self.state = state
        self.use_cache = use_cache
        self.on_event = on_event or (lambda event: None)
        self.echo = echo
        self.interpreter = interpreter

    def run(self, pipeline: Pipeline, overrides: dict[str, str]) -> RunRecord:
        problems = check_pipeline(pipeline)
        if problems:
            more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise UsageError(f"{problems[0]}{more}; see mlops pipeline validate")
        values = resolve_inputs(pipeline, overrides)
        started = time.monotonic()
        run_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-")
        run_id += secrets.token_hex(3)
        folder = self.state / "runs" / run_id
        order = execution_order(pipeline)
        record = RunRecord(
            run_id=run_id,
            pipeline=pipeline.name,
            file=str(pipeline.path),
            folder=str(folder),
            status="running",
            inputs=values,
            experiment=pipeline.experiment,
            steps=[StepRecord(name=name, status="pending") for name in order],
            not_used_locally=not_used_locally(pipeline),
        )
        write_json(folder / "run.json", record.to_json())
        try:
            for index, step in enumerate(record.steps, 1):
                job = pipeline.jobs[step.name]
                self._step(pipeline, job, values, record, step, index)
                write_json(folder / "run.json", record.to_json())
        except BaseException:
            record.status = next(
                (s.status for s in record.steps if s.status in ("failed", "cancelled")),
                "failed",
            )
            record.seconds = round(time.monotonic() - started, 3)
            write_json(folder / "run.json", record.to_json())
            raise
        record.status = "completed"
        record.outputs = _pipeline_outputs(pipeline, record)
        for step in reversed(record.steps):
            if metrics := find_metrics(step.outputs):
                record.metrics = {"step": step.name, **metrics}
                break
        record.seconds = round(time.monotonic() - started, 3)
        write_json(folder / "run.json", record.to_json())
        return record

    def _step(
        self,
        pipeline: Pipeline,
        job: Job,
        values: dict[str, Any],
        record: RunRecord,
        step: StepRecord,
        index: int,
    ) -> None:
        component = job.component
        assert component is not None  # check_pipeline refused the pipeline otherwise
        total = len(record.steps)
        done = {s.name: s for s in record.steps}
        args, key_inputs = self._bind_inputs(pipeline, job, values, done)
        code = digest.tree_digest(component.code) if component.code else None
        step.key = digest.step_key(
            component.doc.data, code, key_inputs, f"{sys.version_info[:3]}"
        )
        folder = Path(record.folder) / job.name
        step.log = str(folder / "logs" / "std_log.txt")
        if self.use_cache and component.deterministic:
            if earlier := self._cached(step.key):
                step.status = "reused"
                step.reused_from = earlier["run_id"]
                step.outputs = earlier["outputs"]
                step.digests = earlier["digests"]
                self.on_event(
                    StepEvent(job.name, index, total, "reused", 0.0, step.reused_from)
                )
                return
        outputs = {}
        for name in component.outputs:
            path = folder / "outputs" / name
            path.mkdir(parents=True, exist_ok=True)
            outputs[name] = str(path.resolve())
        argv = render_command(component.command, args, outputs)
        if Path(argv[0]).name in ("python", "python3"):
            argv[0] = self.interpreter
        step.status = "running"
        step.outputs = outputs
        step.argv = argv
        self.on_event(StepEvent(job.name, index, total, "started"))
        began = time.monotonic()
        try:
            rc = self._execute(
                argv, component.code or pipeline.path.parent, job, record
            )
        except _Interrupted as exc:
            step.status = "cancelled"
            step.seconds = round(time.monotonic() - began, 3)
            self._finish(folder, step)
            self.on_event(StepEvent(job.name, index, total, "cancelled", step.seconds))
            raise BackendError(
                f"interrupted ({exc}) during step {job.name}: the step was stopped "
                "and will not be reused"
            ) from None
        step.seconds = round(time.monotonic() - began, 3)
        step.returncode = rc
        if rc != 0:
            step.status = "failed"
            self._finish(folder, step)
            self.on_event(StepEvent(job.name, index, total, "failed", step.seconds))
            raise _step_error(job, rc, Path(step.log))
        step.status = "completed"
        step.digests = {n: digest.tree_digest(Path(p)) for n, p in outputs.items()}
        self._finish(folder, step)
        cache_entry = {"run_id": record.run_id, "step": str(folder / "step.json")}
        write_json(self.state / "cache" / f"{step.key}.json", cache_entry)
        self.on_event(StepEvent(job.name, index, total, "completed", step.seconds))

    def _bind_inputs(
        self,
        pipeline: Pipeline,
        job: Job,
        values: dict[str, Any],
        done: dict[str, StepRecord],
    ) -> tuple[dict[str, str | None], dict[str, Any]]:
        """Command values per input, and what of them goes into the cache key."""
        component = job.component
        assert component is not None
        args: dict[str, str | None] = {}
        key: dict[str, Any] = {}
        for name, port in component.inputs.items():
            raw = job.inputs.get(name, port.default)
            binding = parse_binding(raw)
            if isinstance(binding, Binding) and binding.kind == "job-output":
                upstream = done[binding.job or ""]
                args[name] = upstream.outputs[binding.name]
                key[name] = {"data": upstream.digests[binding.name]}
                continue
            if isinstance(binding, Binding):  # parent-input
                value = values[binding.name]
            elif isinstance(raw, dict):
                value = str((pipeline.path.parent / str(raw.get("path"))).resolve())
            else:
                value = raw
            if value is None:
                args[name] = None
                continue
            args[name] = str(value)
            key[name] = value
            local = (
                _local_path(args[name])
                if port.is_data or port.type == "string"
                else None
            )
            if local is not None:
                key[name] = {"value": value, "data": digest.tree_digest(local)}
            elif port.is_data:
                raise UsageError(
                    f"jobs.{job.name}.inputs.{name}: {value} not found; "
                    "pass an existing file or folder"
                )
        return args, key

    def _cached(self, key: str) -> dict[str, Any] | None:
        entry = read_json(self.state / "cache" / f"{key}.json")
        if not entry:
            return None
        step = read_json(Path(str(entry.get("step"))))
        if not step or step.get("status") != "completed" or step.get("key") != key:
            return None
        outputs = step.get("outputs") or {}
        if not all(Path(p).exists() for p in outputs.values()):
            return None
        return {"run_id": entry.get("run_id"), **step}

    def _execute(self, argv: list[str], cwd: Path, job: Job, record: RunRecord) -> int:
        env = dict(os.environ)
        env.setdefault("MLFLOW_TRACKING_URI", default_tracking_uri(self.state))
        env.update(
            MLFLOW_EXPERIMENT_NAME=env.get("MLFLOW_EXPERIMENT_NAME")
            or record.experiment,
            MLOPS_PIPELINE_RUN_ID=record.run_id,
            MLOPS_STEP=job.name,
            MLOPS_WORKDIR=os.getcwd(),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
            PATH=os.pathsep.join([str(Path(self.interpreter).parent), env["PATH"]]),
        )
        log_path = Path(record.folder) / job.name / "logs" / "std_log.txt"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log, _signals_raise():
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if self.echo else log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the child
            )
            tee = None
            if self.echo is not None:
                tee = threading.Thread(
                    target=_tee, args=(proc.stdout, log, self.echo), daemon=True
                )
                tee.start()
            try:
                rc = proc.wait(timeout=job.timeout)
            except subprocess.TimeoutExpired:
                _stop(proc)
                raise BackendError(
                    f"step {job.name} ran past its limits.timeout of {job.timeout}s "
                    "and was stopped"
                ) from None
            except BaseException:
                _stop(proc)
                raise
            finally:
                if tee is not None:
                    tee.join(timeout=5)
        return rc

    def _finish(self, folder: Path, step: StepRecord) -> None:
        data = {"schema": STEP_SCHEMA, "version": 1, **step.__dict__}
        write_json(folder / "step.json", data)


def _tee(stream: IO[bytes], log: IO[bytes], echo: IO[str]) -> None:
    for line in iter(stream.readline, b""):
        log.write(line)
        log.flush()
        echo.write(line.decode("utf-8", "replace"))
        echo.flush()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the step and everything it started: TERM, then KILL after a grace."""
    for sig, wait in ((signal.SIGTERM, _KILL_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _step_error(job: Job, rc: int, log: Path) -> Exception:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    tail = lines[-LOG_TAIL_LINES:]
    said = next((ln.strip() for ln in reversed(tail) if ln.strip()), "")
    # Components exit 2 for input the user can fix (argparse does the same).
    if rc == 2:
        reason = said.removeprefix("error: ")
        return UsageError(f"step {job.name}: {reason} (log: {log})")
    detail = "\n".join([f"--- last lines of {log} ---", *tail])
    return BackendError(f"step {job.name} failed with exit code {rc}", detail=detail)


def _local_path(value: str | None) -> Path | None:
    if not value or "://" in value and not value.startswith("file://"):
        return None
    path = Path(value.removeprefix("file://"))
    return path if path.exists() else None


def not_used_locally(pipeline: Pipeline) -> list[str]:
    """The compute targets and environments the jobs name, as ``kind value``."""
    seen: list[str] = []
    for job in pipeline.jobs.values():
        env = job.component.environment if job.component else None
        if job.component and isinstance(env, str) and env.startswith("file:"):
            path = (job.component.path.parent / env.removeprefix("file:")).resolve()
            env = os.path.relpath(path)
        for what, value in (("compute", job.compute), ("environment", env)):
            if value and isinstance(value, str) and f"{what} {value}" not in seen:
                seen.append(f"{what} {value}")
    return seen


def _pipeline_outputs(pipeline: Pipeline, record: RunRecord) -> dict[str, str]:
    steps = {s.name: s for s in record.steps}
    found = {}
    for job in pipeline.jobs.values():
        for name, value in job.outputs.items():
            binding = parse_binding(value)
            if isinstance(binding, Binding) and binding.kind == "parent-output":
                found[binding.name] = steps[job.name].outputs.get(name, "")
    return found
