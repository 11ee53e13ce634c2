"""``mlops release``: pipeline -> gate -> register -> bundle -> deploy -> smoke."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_actions.cli import options
from mlops_actions.cli.aks_options import cluster, cluster_options
from mlops_actions.cli.deploy_aks import aks_target
from mlops_actions.cli.options import Context
from mlops_actions.errors import UsageError

if TYPE_CHECKING:
    from mlops_actions.gate.decision import Decision
    from mlops_actions.release.loop import Released

FILE = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.option(
    "--pipeline",
    type=FILE,
    default="pipelines/pipeline.yml",
    show_default=True,
    show_envvar=True,
    help="The training pipeline.",
)
@click.option(
    "--rules",
    type=FILE,
    default="gate.yml",
    show_default=True,
    show_envvar=True,
    help="The gate rules (their `model` names the registered model).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a pipeline input (repeatable).",
)
@options.model_output()
@options.metrics_output()
@options.env(
    "host",
    "Where the pipeline's steps run (as `mlops pipeline run --env`). host by "
    "default here: the reference environments pin Azure's CUDA builds; auto "
    "honours each step's declared environment.",
)
@options.host()
@options.port()
@click.option(
    "--target",
    type=click.Choice(["local", "aks"]),
    default="local",
    show_default=True,
    show_envvar=True,
    help="Where the champion serves: local (the scorer under uvicorn here) or "
    "aks (its image, built and pushed, rolled out to Kubernetes as `mlops "
    "deploy aks` does).",
)
@click.option(
    "--image-tag",
    metavar="REPOSITORY:TAG",
    show_envvar=True,
    help="--target aks: the scorer image to build from the bundle and push "
    "(deployed by its digest).",
)
@click.option(
    "--builder",
    type=click.Choice(["auto", "docker", "buildah"]),
    default="auto",
    show_default=True,
    show_envvar=True,
    help="--target aks: what builds the image (as `mlops image build`).",
)
@click.option("--base-image", show_envvar=True, help="--target aks: the image's base.")
@click.option(
    "--strategy",
    type=click.Choice(["rolling", "canary", "blue-green"]),
    default="rolling",
    show_default=True,
    show_envvar=True,
    help="--target aks: the rollout (as `mlops deploy aks`).",
)
@cluster_options
@options.azure_workspace()
@click.pass_obj
def release(
    obj: Context,
    pipeline: Path,
    rules: Path,
    overrides: tuple[str, ...],
    model_output: str | None,
    metrics_output: str | None,
    env: str,
    host: str,
    port: int,
    target: str,
    image_tag: str | None,
    builder: str,
    base_image: str | None,
    strategy: str,
    namespace: str | None,
    timeout: float,
    **workspace: str | None,
) -> None:
    """Run the release loop end to end and leave the new champion serving.

    A candidate the gate rejects stops the loop with the gate's table and exit
    1; nothing is registered or deployed then. The scorer keeps running after
    this command: `mlops deploy stop` ends it. With `--target aks` the bundle
    is built and pushed as `--image-tag` and rolled out to Kubernetes; a
    failed rollout is rolled back (exit 3, or 1 for a wrong answer).
    """
    from mlops_actions.cli import render, report_gate
    from mlops_actions.deploy import open_deploy_target
    from mlops_actions.pipeline.backend import open_pipeline_backend
    from mlops_actions.pipeline.environments import Environments
    from mlops_actions.pipeline.inputs import parse_overrides
    from mlops_actions.registry import open_registry
    from mlops_actions.release.loop import NEEDS_IMAGE, ReleaseRequest
    from mlops_actions.release.loop import release as run_release
    from mlops_actions.settings import state_dir

    if target == "aks" and not image_tag:  # before the cluster is reached
        raise UsageError(NEEDS_IMAGE.format(target=target))
    state = state_dir()
    request = ReleaseRequest(
        pipeline,
        parse_overrides(overrides),
        rules,
        state,
        model_output=model_output,
        metrics_output=metrics_output,
    )

    def say(line: str) -> None:
        click.echo(line, err=True)

    def publish(decision: Decision) -> str:
        table = report_gate.publish(decision, comment=True)
        click.echo(table.rstrip())
        sys.stdout.flush()
        return table

    done = run_release(
        request,
        pipelines=open_pipeline_backend(
            obj.backend,
            state=state,
            on_event=render.step_event,
            environments=Environments(state, env, say=say),
            **_azure(obj, workspace),
        ),
        registry=open_registry(obj.backend, **_azure_registry(obj, workspace)),
        target=(
            aks_target(cluster(), namespace, timeout, strategy=strategy)
            if target == "aks"
            else open_deploy_target("local", state=state, host=host, port=port)
        ),
        say=say,
        publish=publish,
        images=_builder(image_tag, builder, base_image, say) if image_tag else None,
    )
    _show(done)


def _builder(tag: str, builder: str, base_image: str | None, say: Any) -> Any:
    """Bundle folder -> the pushed image's reference by digest."""
    from mlops_actions.image.build import build_image

    def build(bundle: Path) -> str:
        built = build_image(
            bundle, tag, push=True, builder=builder, base_image=base_image, log=say
        )
        assert built.reference is not None  # pushed
        return built.reference

    return build


def _azure(obj: Context, workspace: dict) -> dict:
    """What the Azure pipeline backend takes: the workspace (and the job's
    name and URL announced as soon as it is submitted)."""
    if obj.backend != "azure":
        return {}
    from mlops_actions.azure.workspace import resolve_workspace
    from mlops_actions.cli import render_submit

    flags = options.workspace_flags(dict(workspace))
    return {
        "workspace": resolve_workspace(**flags),
        "announce": render_submit.announce,
    }


def _azure_registry(obj: Context, workspace: dict) -> dict:
    if obj.backend != "azure":
        return {}
    from mlops_actions.azure.workspace import resolve_workspace

    return {"workspace": resolve_workspace(**options.workspace_flags(dict(workspace)))}


def _show(done: Released) -> None:
    """Where the new champion serves, and how to try it and stop it."""
    from mlops_actions.cli import render

    deployment = done.deployed.deployment
    click.echo(
        f"released {deployment.model} (run {done.run_id}, gate {done.decision}) "
        f"at {deployment.url}"
    )
    from mlops_actions.deploy.smoke import describe

    click.echo(describe(done.deployed.smoke))
    if done.deployed.target != "local":
        click.echo(f"undo it: mlops deploy rollback --target {done.deployed.target}")
        return
    if done.request_file is not None:
        click.echo(
            f"try it: curl -s {deployment.url}/invocations -H 'Content-Type: "
            f"application/json' -d @{render.shown(done.request_file)}"
        )
    click.echo("stop it: mlops deploy stop")
