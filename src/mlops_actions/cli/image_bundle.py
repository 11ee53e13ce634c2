"""``mlops image bundle``: the scorer image's build context.

``mlops scorer bundle`` is the same command under its old name, kept for one
release (see ``cli.scorer``). Both read MLOPS_IMAGE_BUNDLE_<OPTION>, then the
old MLOPS_SCORER_BUNDLE_<OPTION>, so a workflow written for either works.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlops_actions.cli import options

FOLDER = click.Path(path_type=Path, file_okay=False)
WHEEL = click.Path(path_type=Path, dir_okay=False, exists=True)
#: the old spelling's env vars, still read after the new ones
OLD_PREFIX = "MLOPS_SCORER_BUNDLE_"
PREFIX = "MLOPS_IMAGE_BUNDLE_"


def env(option: str) -> list[str]:
    """The env vars an option reads, the new name first."""
    name = option.upper().replace("-", "_")
    return [PREFIX + name, OLD_PREFIX + name]


@click.command()
@click.argument("model", envvar=env("model"))
@click.option(
    "--out",
    envvar=env("out"),
    type=FOLDER,
    required=True,
    show_envvar=True,
    help="Folder to write (new, empty, or an earlier bundle, which is replaced).",
)
@click.option(
    "--name",
    envvar=env("name"),
    show_envvar=True,
    help="Model name [default: the URI's, or the folder's].",
)
@click.option(
    "--version",
    envvar=env("version"),
    show_envvar=True,
    help="Model version [default: the URI's, or the model digest's first 12].",
)
@click.option(
    "--commit",
    envvar=env("commit"),
    metavar="SHA",
    show_envvar=True,
    help="[default: the registered version's, else GITHUB_SHA, else git HEAD]",
)
@click.option(
    "--source",
    envvar=env("source"),
    metavar="URL",
    show_envvar=True,
    help="Repository URL for the image label [default: this GitHub repository].",
)
@click.option(
    "--wheels",
    envvar=env("wheels"),
    is_flag=True,
    show_envvar=True,
    help="Download every requirement's wheel into the bundle, so the image "
    "builds with no package index (pip --no-index).",
)
@click.option(
    "--mlops-wheel",
    envvar=env("mlops-wheel"),
    type=WHEEL,
    show_envvar=True,
    help="The mlops-actions wheel to install [default: built from this install].",
)
@options.tracking_uri(
    "Registry for models:/ URIs [default: MLFLOW_TRACKING_URI, else "
    "sqlite:///.mlops/mlflow.db].",
    envvar=env("tracking-uri"),
)
@options.json_flag("Print bundle.json instead.", envvar=env("json"))
@click.pass_context
def bundle(
    ctx: click.Context,
    model: str,
    out: Path,
    name: str | None,
    version: str | None,
    commit: str | None,
    source: str | None,
    wheels: bool,
    mlops_wheel: Path | None,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Write the scorer image's build context for MODEL to --out.

    MODEL is an MLflow model folder, models:/NAME/VERSION or models:/NAME@champion.
    The folder gets a Dockerfile (base image pinned by digest, build argument
    BASE_IMAGE; non-root user 10001; the model under /opt/model; healthcheck on
    /health/ready; port 8080), the model, requirements.txt with exact pins
    (the serve extra's packages at the versions installed here, plus the
    model's requirements), the mlops-actions wheel in wheels/, and bundle.json.
    Build it with `mlops image build DIR --tag REF`.
    """
    from mlops_actions.image.context import make_bundle

    root = ctx.find_root().obj
    made = make_bundle(
        model,
        out,
        name=name,
        version=version,
        commit=commit,
        source=source,
        wheels=wheels,
        toolkit_wheel=mlops_wheel,
        backend=getattr(root, "backend", "local"),
        tracking_uri=tracking_uri,
    )
    if as_json:
        click.echo(json.dumps(made.record, indent=2))
        return
    info = made.model
    wheel_count = sum(
        1 for f in made.record["files"] if f["path"].startswith("wheels/")
    )
    click.echo(
        f"bundled {info['name']} version {info['version']} "
        f"(digest {info['digest'][:12]}) in {made.folder}"
    )
    wheels_text = f"{wheel_count} wheel" + ("" if wheel_count == 1 else "s")
    click.echo(
        f"  {len(made.requirements)} pinned requirements, {wheels_text}, "
        f"{made.size / 1e6:.1f} MB"
    )
    for note in made.record["notes"]:
        click.echo(f"  note: {note}")
