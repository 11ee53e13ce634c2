"""``mlops data``: versioned data assets on Azure ML (register, list, show)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_actions.cli import options
from mlops_actions.errors import UsageError

if TYPE_CHECKING:
    from mlops_actions.data.azure import DataAsset

PATH = click.Path(path_type=Path, exists=True)
JSON = options.json_flag()


@click.group()
def data() -> None:
    """Data assets on Azure ML, versioned by content (--backend azure)."""


def _client(ctx: click.Context, workspace: dict[str, Any]) -> Any:
    """The workspace's MLClient; data assets exist on Azure ML only."""
    return _connect(ctx, workspace)[0]


def _connect(ctx: click.Context, workspace: dict[str, Any]) -> tuple[Any, Any]:
    """(MLClient, project config): the config also names the datastore."""
    if ctx.obj.backend != "azure":
        raise UsageError(
            "data assets are an Azure ML feature: pass --backend azure (or set "
            "MLOPS_BACKEND=azure); local pipelines read files and folders directly"
        )
    from mlops_actions.azure.client import ml_client
    from mlops_actions.azure.workspace import resolve_workspace
    from mlops_actions.project import load_project

    project = load_project()
    flags = options.workspace_flags(dict(workspace))
    return ml_client(resolve_workspace(project=project, **flags)), project


@data.command()
@click.argument("path", type=PATH)
@click.option("--name", required=True, show_envvar=True, help="Data asset name.")
@click.option(
    "--datastore",
    metavar="NAME",
    show_envvar=True,
    help="A Blob or ADLS Gen2 datastore [default: mlops.yaml azure.datastore, "
    "else the workspace's default].",
)
@click.option(
    "--type",
    "kind",
    type=click.Choice(["uri_file", "uri_folder"]),
    show_envvar=True,
    help="[default: uri_file for a file, uri_folder for a folder]",
)
@click.option("--description", metavar="TEXT", show_envvar=True)
@options.azure_workspace()
@JSON
@click.pass_context
def register(
    ctx: click.Context,
    path: Path,
    name: str,
    datastore: str | None,
    kind: str | None,
    description: str | None,
    as_json: bool,
    **workspace: str | None,
) -> None:
    """Upload PATH, a file or folder, as data asset --name, versioned by its
    content: registering the same bytes again finds that version and uploads
    nothing.

    Prints NAME:VERSION and azureml:NAME:VERSION (what a pipeline input
    names); inside GitHub Actions, sets the outputs name, version and uri
    (azureml:NAME:VERSION).
    """
    from mlops_actions import gha
    from mlops_actions.data.azure import register_data

    client, project = _connect(ctx, workspace)
    done = register_data(
        client,
        path,
        name,
        datastore=datastore or project.azure.datastore,
        type=kind,
        description=description,
    )
    asset = done.asset
    gha.set_outputs(
        {"name": asset.name, "version": asset.version, "uri": asset.reference}
    )
    if as_json:
        click.echo(json.dumps({**_json(asset), "uploaded": done.uploaded}, indent=2))
        return
    if not done.uploaded:
        click.echo(f"{asset.name}:{asset.version} exists: nothing uploaded", err=True)
    click.echo(f"{asset.name}:{asset.version}")
    click.echo(asset.reference)


@data.command(name="list")
@click.option("--name", show_envvar=True, help="Every version of this asset.")
@options.azure_workspace()
@JSON
@click.pass_context
def list_(
    ctx: click.Context, name: str | None, as_json: bool, **workspace: str | None
) -> None:
    """List data assets with their latest version, or every version of
    --name, newest first."""
    from mlops_actions.data.azure import list_data

    assets = list_data(_client(ctx, workspace), name)
    if as_json:
        click.echo(json.dumps([_json(a) for a in assets], indent=2))
        return
    if not assets:
        click.echo("no data assets" + (f" named {name}" if name else ""), err=True)
        return
    rows = [("NAME", "VERSION", "TYPE", "CREATED")] + [
        (a.name, a.version, a.type or "", a.created or "") for a in assets
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


@data.command()
@click.argument("ref", metavar="NAME[:VERSION|@latest]")
@options.azure_workspace()
@JSON
@click.pass_context
def show(ctx: click.Context, ref: str, as_json: bool, **workspace: str | None) -> None:
    """Show one data asset version (the newest unless VERSION is given)."""
    from mlops_actions.data.azure import show_data

    asset = show_data(_client(ctx, workspace), ref)
    if as_json:
        click.echo(json.dumps(_json(asset), indent=2))
        return
    for key, value in _json(asset).items():
        if key == "tags":
            value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
        click.echo(f"{key}: {value if value not in (None, '') else '-'}")


def _json(asset: DataAsset) -> dict[str, Any]:
    return {**asdict(asset), "reference": asset.reference}
