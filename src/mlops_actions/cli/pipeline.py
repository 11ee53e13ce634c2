"""``mlops pipeline``: validate and run Azure ML CLI v2 pipeline files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mlops_actions.cli import options
from mlops_actions.errors import UsageError

FILE = click.Path(path_type=Path, dir_okay=False)


@click.group()
def pipeline() -> None:
    """Validate and run pipelines written in Azure ML CLI v2 YAML."""


@pipeline.command()
@click.argument("file", type=FILE)
@click.option(
    "--target",
    type=click.Choice(["azure", "local"]),
    default="azure",
    show_default=True,
    envvar="MLOPS_PIPELINE_VALIDATE_TARGET",
    show_envvar=True,
    help="local: what only Azure ML can run (spark, parallel, ...) is an error.",
)
@click.option(
    "--rules",
    type=FILE,
    default="gate.yml",
    show_default=True,
    show_envvar=True,
    help="Gate rules naming the model and metrics outputs (checked when the "
    "file exists).",
)
@options.model_output()
@options.metrics_output()
@options.json_flag()
def validate(
    file: Path,
    target: str,
    rules: Path,
    model_output: str | None,
    metrics_output: str | None,
    as_json: bool,
) -> None:
    """Check FILE, a pipeline or a component, with azure-ai-ml and with our
    graph checks, and report both.

    Our checks catch what azure-ai-ml misses: bindings to jobs or outputs that
    do not exist, unknown input names, literals of the wrong type, cycles,
    missing component files and scripts. Each problem is one line
    file:line: jobs.X.field: message; exit 2 when there is any. What the local
    backend cannot run is a warning (an error with --target local).

    When --rules exists (or an output flag is given), a pipeline without the
    model or metrics output the release loop reads is a warning.
    """
    from mlops_actions.pipeline.validate import output_warnings, validate_file

    result = validate_file(file, target)
    more = output_warnings(result, rules, model_output, metrics_output)
    for warning in (*result.warnings, *more):
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    if error := result.error():
        raise error
    if as_json:
        return
    what = f"{result.component.type} component" if result.component else ""
    if result.spec is not None:
        order = " -> ".join(result.jobs)
        count = len(result.spec.jobs)
        jobs = f"{count} job{'' if count == 1 else 's'} ({order})"
        what = f"{what}, {jobs}" if what else jobs
    click.echo(f"ok: {file}: {what}")


@pipeline.command()
@click.argument("file", type=FILE)
@options.input_overrides()
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    show_envvar=True,
    help="Reuse steps whose component, code and inputs are unchanged.",
)
@options.env(
    "auto",
    "Where steps run: host (this Python), venv (a cached uv venv from the "
    "environment's pip dependencies), container (its image under podman); auto: "
    "venv when the environment lists pip dependencies, else host.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    show_envvar=True,
    help="Steps run at once, where the graph allows  [default: the core count]",
)
@options.json_flag("Print the run record as JSON.")
@click.pass_obj
def run(
    obj,
    file: Path,
    overrides: tuple[str, ...],
    cache: bool,
    env: str,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Run FILE's steps in dependency order and print the metrics and outputs.

    With the local backend each step's command runs under bash, as on Azure ML,
    in the environment --env picks (venvs cached under .mlops/envs/; on the
    host, python means this interpreter), in a copy of its code folder; its
    folders live under .mlops/runs/<run-id>/ (MLOPS_HOME moves .mlops) and MLflow
    tracks to sqlite:///.mlops/mlflow.db unless MLFLOW_TRACKING_URI is set.
    Steps that do not read from each other run at the same time.
    """
    from mlops_actions.cli import render
    from mlops_actions.pipeline.backend import open_pipeline_backend
    from mlops_actions.pipeline.checks import check_pipeline
    from mlops_actions.pipeline.environments import Environments
    from mlops_actions.pipeline.flatten import flatten
    from mlops_actions.pipeline.inputs import (
        parse_overrides,
        resolve_inputs,
        resolve_job_inputs,
    )
    from mlops_actions.pipeline.local import LocalRunner
    from mlops_actions.pipeline.spec import load_pipeline
    from mlops_actions.pipeline.validate import local_refusals, more_problems
    from mlops_actions.redact import mask_in_actions
    from mlops_actions.settings import state_dir

    mask_in_actions(overrides)  # before anything can print a credential
    say = (lambda line: click.echo(line, err=True)) if obj.verbosity >= 0 else None
    environments = Environments(state_dir(), env, say=say)
    backend = open_pipeline_backend(
        obj.backend,
        state=state_dir(),
        use_cache=cache,
        on_event=render.step_event if obj.verbosity >= 0 else None,
        echo=sys.stderr if obj.verbosity > 0 else None,
        environments=environments,
        jobs=jobs,
    )
    values = parse_overrides(overrides)
    spec = load_pipeline(file)
    mask_in_actions(spec.literals())
    if problems := check_pipeline(spec):
        raise UsageError(f"{problems[0]}", detail=more_problems(problems))
    resolve_inputs(spec, values)  # refuse a bad --set before anything starts
    resolve_job_inputs(spec, values)
    if isinstance(backend, LocalRunner):
        # What runs on Azure only, then an environment that cannot be had:
        # both refused before any step starts.
        if refused := local_refusals(spec, values):
            raise UsageError(str(refused[0]), detail=more_problems(refused))
        steps = flatten(spec)  # a nested pipeline's steps are steps of the run
        where = environments.header(list(steps.jobs.values()))
        if obj.verbosity >= 0:
            render.run_header(steps, backend)  # where the local state and steps live
            for line in where:
                click.echo(line, err=True)
    submitted = backend.submit(spec, values)
    submitted.wait()
    record = submitted.record()
    render.run_to_actions(record)
    if as_json:
        click.echo(json.dumps(record.to_json(), indent=2, sort_keys=True))
    else:
        render.run_summary(record)


def _timeout(help: str):
    """``--timeout SECONDS`` of an Azure ML wait."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        show_envvar=True,
        help=f"{help}  [default: mlops.yaml azure.timeout, else 14400]",
    )


@pipeline.command()
@click.argument("file", type=FILE)
@options.input_overrides()
@click.option(
    "--light",
    is_flag=True,
    show_envvar=True,
    help="The CI variant (Azure): every step on mlops.yaml's azure.light.compute, "
    "with azure.light.inputs as input values (--set still wins).",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    show_envvar=True,
    help="Stream the job's logs until it ends, then download its outputs.",
)
@_timeout(
    "Seconds to wait; the job is cancelled when they pass, and every step gets "
    "it as its server-side timeout"
)
@click.option(
    "--name",
    "job_name",
    default=None,
    show_envvar=True,
    help="The job's name  [default: derived from the repository, workflow run, "
    "attempt and pipeline, so a retried step attaches to its job]",
)
@click.option(
    "--create-compute",
    is_flag=True,
    show_envvar=True,
    help="Create missing clusters from mlops.yaml's azure.compute.",
)
@options.metrics_output()
@options.azure_workspace()
@options.json_flag("Print the submission as JSON.")
@click.pass_obj
def submit(
    obj,
    file: Path,
    overrides: tuple[str, ...],
    light: bool,
    wait: bool,
    timeout: float | None,
    job_name: str | None,
    create_compute: bool,
    metrics_output: str | None,
    as_json: bool,
    **workspace: str | None,
) -> None:
    """Submit FILE to the backend; with --wait (the default), wait for it.

    On Azure ML (--backend azure) the job's name and studio URL are printed
    first (and left in .mlops/azure/submitted.json for `mlops pipeline
    cancel`), its logs stream to stderr, and once it completed its outputs
    are downloaded to .mlops/runs/<job>/outputs/. Exit 0 when it completed
    (or was submitted, with --no-wait), 3 when it failed, was cancelled or
    timed out (it is cancelled then, as on SIGINT and SIGTERM). Locally,
    submit runs the pipeline as `mlops pipeline run` does.
    """
    from mlops_actions.cli import render_submit
    from mlops_actions.pipeline.inputs import parse_overrides
    from mlops_actions.pipeline.spec import load_pipeline
    from mlops_actions.pipeline.submit import submit_pipeline
    from mlops_actions.redact import mask_in_actions

    mask_in_actions(overrides)
    backend = _backend(
        obj,
        workspace,
        light=light,
        timeout_s=timeout,
        job_name=job_name,
        create_compute=create_compute,
        announce=render_submit.announce,
    )
    spec = load_pipeline(file)
    mask_in_actions(spec.literals())
    result = submit_pipeline(
        backend,
        spec,
        parse_overrides(overrides),
        wait=wait,
        timeout_s=timeout,
        metrics_output=metrics_output or "metrics",
    )
    render_submit.submitted(result, as_json=as_json)


@pipeline.command("wait")
@click.argument("job", required=False)
@_timeout("Seconds to wait before cancelling the job")
@options.metrics_output()
@options.azure_workspace()
@options.json_flag("Print the outcome as JSON.")
@click.pass_obj
def wait_job(
    obj,
    job: str | None,
    timeout: float | None,
    metrics_output: str | None,
    as_json: bool,
    **workspace: str | None,
) -> None:
    """Wait for Azure ML job JOB (default: the one submitted from here).

    Streams its logs, falls back to polling when the stream breaks, and
    downloads its outputs once it completed. Exit 0 when it completed, 3 when
    it failed, was cancelled or timed out (it is cancelled then).
    """
    from mlops_actions.cli import render_submit
    from mlops_actions.pipeline.submit import wait_run

    backend = _backend(obj, workspace, timeout_s=timeout, azure_only="wait")
    run = backend.attach(job)
    result = wait_run(
        backend, run, timeout_s=timeout, metrics_output=metrics_output or "metrics"
    )
    render_submit.submitted(result, as_json=as_json)


@pipeline.command()
@click.argument("job", required=False)
@options.azure_workspace()
@click.pass_obj
def cancel(obj, job: str | None, **workspace: str | None) -> None:
    """Cancel Azure ML job JOB (default: the one submitted from here).

    A job that has already ended is left as it ended (exit 0): safe in an
    `if: cancelled()` step.
    """
    backend = _backend(obj, workspace, azure_only="cancel")
    run = backend.attach(job)
    run.cancel()
    click.echo(f"cancel requested: {run.run_id}")


def _backend(obj, workspace: dict, *, azure_only: str | None = None, **options_):
    """The pipeline backend ``obj`` names, connected to the workspace flags."""
    from mlops_actions.pipeline.backend import open_pipeline_backend
    from mlops_actions.settings import state_dir

    if obj.backend != "azure":
        if azure_only:
            raise UsageError(
                f"mlops pipeline {azure_only} is for Azure ML jobs (--backend "
                "azure): a local run ends before `mlops pipeline submit` returns"
            )
        return open_pipeline_backend(obj.backend, state=state_dir())
    from mlops_actions.azure.workspace import resolve_workspace

    return open_pipeline_backend(
        "azure",
        state=state_dir(),
        workspace=resolve_workspace(**options.workspace_flags(dict(workspace))),
        **options_,
    )
