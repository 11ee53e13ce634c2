"""The local backend: a pipeline's steps as subprocesses, with a step cache.

Each step runs its component's command under ``bash -c``, as Azure ML runs it,
in a snapshot of the component's code folder (see :mod:`.sandbox`), with
``${{inputs.*}}``/``${{outputs.*}}`` bound, shell-quoted, to values and to
folders under ``<state>/runs/<run-id>/<step>/``. Independent steps run at the
same time, up to ``jobs`` of them (see :mod:`.schedule`).

A step whose component, code and inputs hash the same as an earlier completed
step is reused instead of run. A step is only ever reused after its
``step.json`` says it completed, so a failed or interrupted step is never
picked up later, and only while its outputs match what was recorded (see
:mod:`.cache`). Each step's process group is ended on
every way out of the run (see :mod:`mlops_actions.process`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mlops_actions import digest, logs, process
from mlops_actions.errors import BackendError, UsageError
from mlops_actions.jsonio import write_json
from mlops_actions.pipeline.backend import PipelineBackend, StepEvent
from mlops_actions.pipeline.cache import Changed, Hit, StepCache, output_stats
from mlops_actions.pipeline.checks import check_pipeline, execution_order
from mlops_actions.pipeline.environments import Environments
from mlops_actions.pipeline.expressions import Binding, parse_binding, render_command
from mlops_actions.pipeline.flatten import flatten
from mlops_actions.pipeline.inputs import resolve_inputs, resolve_job_inputs
from mlops_actions.pipeline.liveness import this_process
from mlops_actions.pipeline.local_run import LocalRun
from mlops_actions.pipeline.runs import find_metrics, new_run_id
from mlops_actions.pipeline.sandbox import code_digest, python_shims, snapshot
from mlops_actions.pipeline.schedule import can_overlap, dependencies, run_steps
from mlops_actions.pipeline import sweep
from mlops_actions.pipeline.spec import Job, Pipeline
from mlops_actions.pipeline.trial_runs import TrialRuns
from mlops_actions.pipeline.validate import (
    asset_message,
    local_refusals,
    more_problems,
)
from mlops_actions.records.base import write_record
from mlops_actions.records.pipeline import RunRecord, StepFile, StepRecord
from mlops_actions.redact import redact, redact_value
from mlops_actions.registry.database import prepare_database
from mlops_actions.registry.store import Store, sqlite_path
from mlops_actions.settings import default_tracking_uri

LOG_TAIL_LINES = 20
#: The default artifact root MLflow's client gives a database store it opens
#: (``mlflow.tracking._tracking_service.utils``; a private name, so the
#: snapshot folder is what keeps the user's tree clean if it ever goes):
#: without it an experiment a step creates keeps artifacts in ``./mlruns``.
ARTIFACT_ROOT_VARIABLE = "_MLFLOW_SERVER_ARTIFACT_ROOT"


class LocalRunner(PipelineBackend):
    """Runs pipelines on this machine; ``state`` holds runs, cache and MLflow.

    The local pipeline backend: :meth:`submit` runs the whole pipeline before it
    returns, so the run it hands back has ended (completed); a failed,
    cancelled or timed-out step raises from :meth:`submit` itself, with the
    messages and exit codes ``mlops pipeline run`` has always had.
    """

    name = "local"

    def __init__(
        self,
        state: Path,
        *,
        use_cache: bool = True,
        on_event: Callable[[StepEvent], None] | None = None,
        echo: IO[str] | None = None,
        interpreter: str = sys.executable,
        environments: Environments | None = None,
        jobs: int | None = None,
    ) -> None:
        self.state = state
        #: the id of the run started last, also when it failed (submit raised)
        self.last_run_id: str | None = None
        self.environments = environments or Environments(state, "host")
        self.use_cache = use_cache
        self._on_event = on_event or (lambda event: None)
        self.echo = echo
        self.interpreter = interpreter
        self.jobs = jobs or os.cpu_count() or 1
        self._lock = threading.Lock()  # steps report from worker threads
        self._prefix = False

    def on_event(self, event: StepEvent) -> None:
        with self._lock:
            self._on_event(event)

    def submit(self, pipeline: Pipeline, overrides: dict[str, str]) -> LocalRun:
        """Run ``pipeline`` here and now; the returned run has completed."""
        return LocalRun(self.run(pipeline, overrides))

    def run(self, pipeline: Pipeline, overrides: dict[str, str]) -> RunRecord:
        problems = check_pipeline(pipeline)
        if problems:
            more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise UsageError(f"{problems[0]}{more}; see mlops pipeline validate")
        if refused := local_refusals(pipeline, overrides):
            raise UsageError(str(refused[0]), detail=more_problems(refused))
        job_values = resolve_job_inputs(pipeline, overrides)
        pipeline = flatten(pipeline, job_values)  # nested pipelines' steps
        values = resolve_inputs(pipeline, overrides)
        started = time.monotonic()
        run_id = self.last_run_id = new_run_id()
        folder = self.state / "runs" / run_id
        order = execution_order(pipeline)
        self._prepare_tracking()
        record = RunRecord(
            run_id=run_id,
            pipeline=pipeline.name,
            file=str(pipeline.path),
            folder=str(folder),
            status="running",
            inputs=redact_value({**values, **_flat(job_values)}),
            experiment=pipeline.experiment,
            steps=[StepRecord(name=name, status="pending") for name in order],
            not_used_locally=not_used_locally(pipeline),
            runner=this_process(),
        )
        write_json(folder / "run.json", record.to_json())
        try:
            self._run_steps(pipeline, values, job_values, record)
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

    def _run_steps(
        self,
        pipeline: Pipeline,
        values: dict[str, Any],
        job_values: dict[str, dict[str, Any]],
        record: RunRecord,
    ) -> None:
        """Every step, as wide as the graph and ``jobs`` allow; the first
        error raised once every started step has ended."""
        deps = dependencies(pipeline)
        sweeps = any(job.kind == "sweep" for job in pipeline.jobs.values())
        self._prefix = self.jobs > 1 and (sweeps or can_overlap(deps))
        steps = {s.name: s for s in record.steps}
        index = {s.name: i for i, s in enumerate(record.steps, 1)}
        settings = pipeline.doc.data.get("settings") or {}
        keep_going = bool(settings.get("continue_on_step_failure", False))
        run_json = Path(record.folder) / "run.json"
        python_shims(Path(record.folder) / ".bin", self.interpreter)
        with process.Guard() as guard, process.recorded_signals() as stop:
            context = RunContext(pipeline, values, record, guard, stop)

            def one(name: str) -> None:
                job = pipeline.jobs[name]
                given = job_values.get(name, {})
                run = self._sweep if job.kind == "sweep" else self._step
                run(context, job, given, steps[name], index[name])

            errors = run_steps(
                list(steps),
                deps,
                one,
                jobs=self.jobs,
                keep_going=keep_going,
                stop=stop,
                after=lambda: write_json(run_json, record.to_json()),
            )
            if errors:
                raise errors[0]
            if stop:
                raise BackendError(
                    f"interrupted ({signal.Signals(stop[0]).name}) "
                    "between steps: the steps left did not run"
                )

    def _tracking_uri(self) -> str:
        return os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(self.state)

    def _prepare_tracking(self) -> None:
        """Create the steps' SQLite tracking database before any step starts:
        steps of runs started together would otherwise race its migration."""
        self.state.mkdir(parents=True, exist_ok=True)
        uri = self._tracking_uri()
        database = sqlite_path(uri)
        if database is None or not database.parent.is_dir():
            return  # a server, or a folder the steps will complain about
        try:
            prepare_database(Store(uri, database))
        except ModuleNotFoundError:
            pass  # no MLflow here: a step that tracks brings its own

    def _step(
        self,
        context: RunContext,
        job: Job,
        given: dict[str, Any],
        step: StepRecord,
        index: int,
        hooks: StepHooks | None = None,
    ) -> None:
        """Run (or reuse) one step; ``hooks``: a sweep's, around each trial."""
        pipeline, values, record = context.pipeline, context.values, context.record
        guard, stop = context.guard, context.stop
        component = job.component
        assert component is not None  # check_pipeline refused the pipeline otherwise
        hooks = hooks or StepHooks()
        total = len(record.steps)
        done = {s.name: s for s in record.steps}
        args, key_inputs = self._bind_inputs(pipeline, job, values, given, done)
        code = code_digest(component.code, component.includes)
        if variables := environment_variables(pipeline, job):
            key_inputs["<environment_variables>"] = variables  # no input's name
        step.key = digest.step_key(
            component.doc.data, code, key_inputs, self.environments.key(job)
        )
        folder = Path(record.folder) / job.name
        step.log = str(folder / "logs" / "std_log.txt")
        cache = StepCache(self.state)
        if self.use_cache and component.deterministic:
            if self._reused(cache, job.name, step, index, total):
                return
        outputs = {}
        for name in component.outputs:
            path = folder / "outputs" / name
            path.mkdir(parents=True, exist_ok=True)
            outputs[name] = str(path.resolve())
        command = render_command(component.command, args, outputs)
        argv = ["bash", "-c", command]
        step.status = "running"
        step.outputs = outputs
        step.argv = redact_value(argv)
        step.started = _now()
        self.on_event(StepEvent(job.name, index, total, "started"))
        began = time.monotonic()
        cwd = snapshot(component.code, folder / "code", self.state, component.includes)
        env = {**self._step_env(pipeline, job, record), **hooks.before(step)}
        try:
            rc = self._execute(argv, cwd, env, job, record, guard, stop)
        except (process.Interrupted, process.TimedOut, process.CannotStart) as exc:
            interrupted = isinstance(exc, process.Interrupted)
            step.status = "cancelled" if interrupted else "failed"
            step.seconds = round(time.monotonic() - began, 3)
            step.ended = _now()
            hooks.after(step, False)
            self._finish(folder, step)
            self.on_event(StepEvent(job.name, index, total, step.status, step.seconds))
            raise _stopped_error(job, exc) from None
        step.ended = _now()
        step.seconds = round(time.monotonic() - began, 3)
        step.returncode = rc
        if rc != 0:
            step.status = "failed"
            hooks.after(step, False)
            self._finish(folder, step)
            self.on_event(StepEvent(job.name, index, total, "failed", step.seconds))
            raise _step_error(job, rc, Path(step.log))
        step.status = "completed"
        # Stats first: a file that changes while hashed then fails the cheap
        # check next time and is hashed again (see .cache).
        stats = output_stats(outputs)
        step.digests = {n: digest.tree_digest(Path(p)) for n, p in outputs.items()}
        hooks.after(step, True)
        self._finish(folder, step)
        cache.store(step.key, record.run_id, folder / "step.json", stats)
        self.on_event(StepEvent(job.name, index, total, "completed", step.seconds))

    def _sweep(
        self,
        context: RunContext,
        job: Job,
        given: dict[str, Any],
        step: StepRecord,
        index: int,
    ) -> None:
        """A sweep node: its trials, each a step of the trial component with
        the sampled values as inputs, as wide as ``max_concurrent_trials``
        allows; the best by the objective gives the sweep its outputs."""
        record, stop = context.record, context.stop
        plan = sweep.plan(job)
        runs = TrialRuns(
            self._tracking_uri(), self.state / "artifacts", record.experiment
        )
        total = len(record.steps)
        step.status = "running"
        step.started = _now()
        self.on_event(StepEvent(job.name, index, total, "started"))
        began = time.monotonic()
        deadline = None if plan.timeout is None else began + plan.timeout
        width = len(str(len(plan.trials)))
        trials = {
            f"{job.name}/trial_{n:0{width}d}": (
                StepRecord(name=f"{job.name}/trial_{n:0{width}d}", status="pending"),
                sampled,
            )
            for n, sampled in enumerate(plan.trials, 1)
        }
        step.trials = [trial for trial, _ in trials.values()]

        def one(name: str) -> None:
            trial, sampled = trials[name]
            trial.values = redact_value(sampled)
            limit = plan.trial_timeout
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    trial.status = "skipped"  # the sweep's limits.timeout passed
                    return
                limit = left if limit is None else min(limit, left)
            trial_job = replace(job, name=name, kind="command", timeout=limit)
            hooks = TrialHooks(runs, record, job.name, sampled)
            try:
                self._step(
                    context, trial_job, {**given, **sampled}, trial, index, hooks
                )
            except Exception as exc:
                failures[name] = exc
                raise

        failures: dict[str, Exception] = {}

        errors = run_steps(
            list(trials),
            {name: set() for name in trials},
            one,
            jobs=min(self.jobs, plan.concurrent),
            keep_going=True,  # a failed trial is one result; Azure goes on
            stop=stop,
            after=lambda: write_json(
                Path(record.folder) / "run.json", record.to_json()
            ),
        )
        step.seconds = round(time.monotonic() - began, 3)
        step.ended = _now()
        if stop or any(t.status == "cancelled" for t in step.trials):
            step.status = "cancelled"
            self._finish(Path(record.folder) / job.name, step)
            self.on_event(StepEvent(job.name, index, total, "cancelled", step.seconds))
            raise next(
                (e for e in errors if "interrupted" in str(e)),
                BackendError(
                    f"interrupted during sweep {job.name}: its trials were "
                    "stopped and will not be reused"
                ),
            )
        best = _best_trial(plan, step.trials)
        if best is None:
            step.status = "failed"
            self._finish(Path(record.folder) / job.name, step)
            self.on_event(StepEvent(job.name, index, total, "failed", step.seconds))
            first = [failures[t.name] for t in step.trials if t.name in failures]
            raise _sweep_error(job, plan, step.trials, first)
        step.status = "completed"
        step.best_trial = best.name
        step.key = best.key
        step.outputs = best.outputs
        step.digests = best.digests
        step.metrics = best.metrics
        self._finish(Path(record.folder) / job.name, step)
        value = sweep.objective_value(best.metrics, plan.metric)
        chose = ", ".join(f"{k}={v}" for k, v in best.values.items())
        note = (
            f"best {best.name.rsplit('/', 1)[-1]} of {len(step.trials)} ({chose}): "
            f"{plan.metric} {value:g} ({plan.goal})"
        )
        self.on_event(
            StepEvent(job.name, index, total, "completed", step.seconds, note=note)
        )

    def _reused(
        self, cache: StepCache, name: str, step: StepRecord, index: int, total: int
    ) -> bool:
        """Whether the cache had the step: its record then points at the
        outputs of the run that made them."""
        found = cache.lookup(step.key)
        if isinstance(found, Hit):
            step.status = "reused"
            step.reused_from = found.run_id
            step.outputs = found.step["outputs"]
            step.digests = found.step["digests"]
            step.metrics = found.step.get("metrics") or {}
            self.on_event(StepEvent(name, index, total, "reused", 0.0, found.run_id))
            return True
        if isinstance(found, Changed):
            self.on_event(
                StepEvent(
                    name,
                    index,
                    total,
                    "changed",
                    reused_from=found.run_id,
                    reason=found.reason,
                )
            )
        return False

    def _bind_inputs(
        self,
        pipeline: Pipeline,
        job: Job,
        values: dict[str, Any],
        given: dict[str, Any],
        done: dict[str, StepRecord],
    ) -> tuple[dict[str, str | None], dict[str, Any]]:
        """Command values per input, and what of them goes into the cache key.

        ``given``: this job's inputs set with ``--set jobs.NODE.inputs.NAME``.
        """
        component = job.component
        assert component is not None
        args: dict[str, str | None] = {}
        key: dict[str, Any] = {}
        for name, port in component.inputs.items():
            raw = given[name] if name in given else job.inputs.get(name, port.default)
            binding = parse_binding(raw)
            if isinstance(binding, Binding) and binding.kind == "job-output":
                upstream = done[binding.job or ""]
                args[name] = upstream.outputs[binding.name]
                key[name] = {"data": upstream.digests[binding.name]}
                continue
            if isinstance(binding, Binding):  # parent-input
                value = values[binding.name]
            elif isinstance(raw, dict):
                value = str(raw.get("path"))
                if not value.startswith("azureml:"):
                    value = str((pipeline.path.parent / value).resolve())
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
            elif port.is_data and str(value).startswith("azureml:"):
                raise UsageError(_asset_error(job, name, str(value), raw))
            elif port.is_data:
                raise UsageError(
                    f"jobs.{job.name}.inputs.{name}: {redact(str(value))} not found; "
                    "pass an existing file or folder"
                )
        return args, key

    def _step_env(self, pipeline: Pipeline, job: Job, record: RunRecord) -> dict:
        """The step's environment: ours, MLflow's, then the job's own
        ``environment_variables`` (component's, then job's), as Azure sets them."""
        env = dict(os.environ)
        uri = env.setdefault("MLFLOW_TRACKING_URI", self._tracking_uri())
        if sqlite_path(uri) is not None:
            # Runs of experiments the steps create store artifacts beside the
            # database, not in ./mlruns of the step's folder (MLflow's default).
            env.setdefault(
                ARTIFACT_ROOT_VARIABLE, str(self.state.resolve() / "artifacts")
            )
        shims = Path(record.folder) / ".bin"  # made by _run_steps
        env.update(
            MLFLOW_EXPERIMENT_NAME=env.get("MLFLOW_EXPERIMENT_NAME")
            or record.experiment,
            MLOPS_PIPELINE_RUN_ID=record.run_id,
            MLOPS_STEP=job.name,
            MLOPS_WORKDIR=os.getcwd(),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
            PATH=os.pathsep.join(
                [str(shims), str(Path(self.interpreter).parent), env["PATH"]]
            ),
        )
        env.update(environment_variables(pipeline, job))
        return env

    def _execute(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        job: Job,
        record: RunRecord,
        guard: process.Guard,
        stop: list[int],
    ) -> int:
        """Start the step's process (the one place a step is started) and wait."""
        log_path = Path(record.folder) / job.name / "logs" / "std_log.txt"
        argv, env = self.environments.wrap(
            job, argv, env, cwd=cwd, interpreter=self.interpreter
        )
        prefixed = self.echo is not None and self._prefix
        return process.run(
            argv,
            cwd=cwd,
            env=env,
            log=log_path,
            guard=guard,
            echo=None if prefixed else self.echo,
            on_line=self._prefixed(job.name) if prefixed else None,
            timeout=job.timeout,
            stop=stop,
        ).returncode

    def _prefixed(self, name: str) -> Callable[[str], None]:
        """Echo of a step's lines, each after ``[name]``, for steps that may
        run beside others: their lines would be told apart by nothing else."""
        out = self.echo
        assert out is not None

        def on_line(line: str) -> None:
            with self._lock:
                out.write(f"[{name}] {line}\n")
                out.flush()

        return on_line

    def _finish(self, folder: Path, step: StepRecord) -> None:
        write_record(folder / "step.json", StepFile.of(step))


@dataclass(frozen=True)
class RunContext:
    """What every step of one run shares: the pipeline, its input values, the
    run's record, the guard over step processes and the signals received."""

    pipeline: Pipeline
    values: dict[str, Any]
    record: RunRecord
    guard: process.Guard
    stop: list[int]


@dataclass
class StepHooks:
    """What runs around a step's process: nothing, for a plain step."""

    def before(self, step: StepRecord) -> dict[str, str]:
        """Variables for the process, just before it starts."""
        return {}

    def after(self, step: StepRecord, succeeded: bool) -> None:
        """Called once the process ended, before the step's record is written."""


@dataclass
class TrialHooks(StepHooks):
    """A sweep trial: its own MLflow run, as Azure ML makes one per trial
    (``MLFLOW_RUN_ID``), and its sampled values as ``AZUREML_SWEEP_<name>``;
    its metrics are read back into the trial's record."""

    runs: TrialRuns
    record: RunRecord
    sweep: str
    sampled: dict[str, Any]
    run_id: str | None = None

    def before(self, step: StepRecord) -> dict[str, str]:
        tags = {"mlops.pipeline_run": self.record.run_id, "mlops.sweep": self.sweep}
        self.run_id = self.runs.start(step.name.replace("/", "_"), tags)
        env = {f"AZUREML_SWEEP_{k}": _text(v) for k, v in self.sampled.items()}
        if self.run_id is not None:
            env["MLFLOW_RUN_ID"] = self.run_id
        return env

    def after(self, step: StepRecord, succeeded: bool) -> None:
        logged = self.runs.end(self.run_id, succeeded)
        found = find_metrics(step.outputs) if succeeded else {}
        written = found.get("metrics") if isinstance(found.get("metrics"), dict) else {}
        numbers = {
            str(k): float(v)
            for k, v in (written or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        step.metrics = {**numbers, **logged}  # what MLflow logged comes first


def _best_trial(plan: sweep.SweepPlan, trials: list[StepRecord]) -> StepRecord | None:
    """The completed (or reused) trial with the best objective value."""
    best: StepRecord | None = None
    best_value = 0.0
    for trial in trials:
        value = sweep.objective_value(trial.metrics, plan.metric)
        if trial.status not in ("completed", "reused") or value is None:
            continue
        if best is None or plan.better(value, best_value):
            best, best_value = trial, value
    return best


def _sweep_error(
    job: Job, plan: sweep.SweepPlan, trials: list[StepRecord], errors: list
) -> Exception:
    """Why no trial won: all failed, or none logged the objective."""
    failed = sum(t.status == "failed" for t in trials)
    if failed == len(trials) and errors:
        first = errors[0]
        return BackendError(
            f"sweep {job.name}: all {failed} trials failed; the first: {first}",
            detail=getattr(first, "detail", None),
        )
    return BackendError(
        f"sweep {job.name}: no trial logged its objective {plan.metric!r} "
        f"({len(trials)} trials, {failed} failed); log it from the trial with "
        f"mlflow.log_metric({plan.metric!r}, value), or write it to a "
        "metrics.json output"
    )


def _stopped_error(job: Job, exc: process.ProcessError) -> BackendError:
    """Why a step ended before it could exit on its own, in the user's words."""
    if isinstance(exc, process.Interrupted):
        return BackendError(
            f"interrupted ({exc.signame}) during step {job.name}: the step was "
            "stopped and will not be reused"
        )
    if isinstance(exc, process.TimedOut):
        return BackendError(
            f"step {job.name} ran past its limits.timeout of {job.timeout}s "
            "and was stopped"
        )
    return BackendError(f"step {job.name}: {exc.message}")


def _step_error(job: Job, rc: int, log: Path) -> Exception:
    # Read from the end, lines cut: a step may leave a log of any size.
    tail = [redact(line) for line in logs.tail(log, LOG_TAIL_LINES)]
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


def not_used_locally(pipeline: Pipeline, on_host: list[str] | None = None) -> list[str]:
    """What the jobs ask of Azure ML that runs nowhere here, as ``kind value``:
    compute targets, environments (named or inline: only of the jobs in
    ``on_host``, the steps run in this Python, when given), distribution,
    resources."""
    seen: list[str] = []
    for job in pipeline.jobs.values():
        raw = job.raw
        data = job.component.doc.data if job.component else {}
        env = raw.get("environment") or (
            job.component.environment if job.component else None
        )
        if job.component and isinstance(env, str) and env.startswith("file:"):
            path = (job.component.path.parent / env.removeprefix("file:")).resolve()
            env = os.path.relpath(path)
        found = [
            ("compute", job.compute),
            (
                "environment",
                (
                    None
                    if on_host is not None and job.name not in on_host
                    else env if isinstance(env, str) else _inline(env)
                ),
            ),
            ("distribution", _distribution(raw.get("distribution"))),
            ("distribution", _distribution(data.get("distribution"))),
            ("resources", _resources(raw.get("resources"))),
            ("resources", _resources(data.get("resources"))),
        ]
        for what, value in found:
            if value and isinstance(value, str) and f"{what} {value}" not in seen:
                seen.append(f"{what} {value}")
        if job.kind == "sweep":
            try:
                notes = sweep.plan(job).notes
            except UsageError:
                notes = []  # refused before the run starts (local_refusals)
            seen += [note for note in notes if note not in seen]
    return seen


def _inline(env: Any) -> str | None:
    """An inline ``environment:`` mapping, named by what it is built from."""
    if not isinstance(env, dict):
        return None
    build = env.get("build")
    base = env.get("image") or (build.get("path") if isinstance(build, dict) else None)
    return f"inline ({base})" if base else "inline"


def _distribution(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return str(value.get("type") or "set")


def _resources(value: Any) -> str | None:
    if not isinstance(value, dict) or not value:
        return None
    return ", ".join(f"{k}={v}" for k, v in value.items())


def environment_variables(pipeline: Pipeline, job: Job) -> dict[str, str]:
    """The ``environment_variables`` of the job's component, then of the job
    (the job's win), as text: what Azure ML sets in the step's process."""
    found: dict[str, str] = {}
    data = job.component.doc.data if job.component else {}
    for source in (data, job.raw):
        variables = source.get("environment_variables")
        if isinstance(variables, dict):
            found.update({str(k): _text(v) for k, v in variables.items()})
    return found


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _asset_error(job: Job, name: str, value: str, raw: Any) -> str:
    """An ``azureml:`` data input, said as ``pipeline validate`` says it."""
    binding = parse_binding(raw)
    target = (
        binding.name
        if isinstance(binding, Binding) and binding.kind == "parent-input"
        else f"jobs.{job.name}.inputs.{name}"
    )
    return f"jobs.{job.name}.inputs.{name}: {asset_message(redact(value), target)}"


def _flat(job_values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``--set jobs.NODE.inputs.NAME`` values under those names."""
    return {
        f"jobs.{job}.inputs.{name}": value
        for job, given in job_values.items()
        for name, value in given.items()
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _pipeline_outputs(pipeline: Pipeline, record: RunRecord) -> dict[str, str]:
    steps = {s.name: s for s in record.steps}
    found = {}
    for job in pipeline.jobs.values():
        for name, value in job.outputs.items():
            binding = parse_binding(value)
            if isinstance(binding, Binding) and binding.kind == "parent-output":
                found[binding.name] = steps[job.name].outputs.get(name, "")
    return found
