"""``mlops image``: build and push the scorer image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mlops_actions.cli import options
from mlops_actions.cli.image_bundle import bundle
from mlops_actions.image.reference import (
    BUILD_TIMEOUT,
    BUILDERS,
    PULL_POLICIES,
    ImageResult,
)


@click.group()
def image() -> None:
    """Make the scorer image's build context, build it and push it by digest."""


image.add_command(bundle)


@image.command()
@click.argument(
    "context",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="MLOPS_IMAGE_BUILD_CONTEXT",
)
@click.option(
    "--tag",
    required=True,
    metavar="REF",
    show_envvar=True,
    help="[REGISTRY/]NAME:TAG to build (and push).",
)
@click.option("--push", is_flag=True, show_envvar=True, help="Push to the registry.")
@click.option(
    "--builder",
    type=click.Choice(BUILDERS),
    default="auto",
    show_default=True,
    show_envvar=True,
    help="auto: docker buildx when a Docker engine answers, else buildah.",
)
@click.option(
    "--base-image",
    metavar="REF",
    show_envvar=True,
    help="Base image (build argument BASE_IMAGE) [default: the Dockerfile's].",
)
@click.option(
    "--pull",
    type=click.Choice(PULL_POLICIES),
    default="missing",
    show_default=True,
    show_envvar=True,
    help="When to pull the base image.",
)
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=int(BUILD_TIMEOUT),
    show_default=True,
    show_envvar=True,
    help="Seconds the build may take.",
)
@options.out("image.json", "Where the image record goes.")
@click.option(
    "--acr",
    metavar="NAME",
    show_envvar=True,
    help="Log in to the Azure Container Registry NAME with the Azure CLI session "
    "(azure/login with OIDC) before building.",
)
@options.json_flag("Print image.json instead.")
@click.pass_context
def build(
    ctx: click.Context,
    context: Path,
    tag: str,
    push: bool,
    builder: str,
    base_image: str | None,
    pull: str,
    timeout: int,
    out: Path,
    acr: str | None,
    as_json: bool,
) -> None:
    """Build the image of the bundle in CONTEXT (from `mlops image bundle`).

    Writes image.json: the reference by digest (REPOSITORY@sha256:..., once
    pushed), the tag, the size in bytes (and the base's, to tell what the build
    added), the build seconds and the builder.
    Inside GitHub Actions: outputs image-ref, image-digest and size, and a
    job summary line. Exit 4 when neither a Docker engine nor buildah is
    installed, 3 when the build or the push fails (the log's tail is shown).
    """
    from mlops_actions import gha
    from mlops_actions.image.build import build_image
    from mlops_actions.jsonio import write_json

    verbose = getattr(ctx.find_root().obj, "verbosity", 0) > 0 or gha.in_actions()
    with gha.group(f"build {tag}"):
        result = build_image(
            context,
            tag,
            push=push,
            builder=builder,
            base_image=base_image,
            pull=pull,
            timeout=timeout,
            log=(lambda line: click.echo(line, err=True)) if verbose else None,
            acr=acr,
        )
    record = result.to_json()
    write_json(out, record)
    _show(result, record, as_json)


def _show(result: ImageResult, record: dict[str, Any], as_json: bool) -> None:
    """Outputs and the job summary in Actions; the record or a line here."""
    from mlops_actions import gha

    ref = result.reference or result.tag
    size = f"{result.size / 1e6:.0f} MB" if result.size else "size unknown"
    if result.added_size is not None and result.base_size:
        size += (
            f" ({result.base_size / 1e6:.0f} MB base + "
            f"{result.added_size / 1e6:.0f} MB)"
        )
    gha.set_outputs(
        {
            "image-ref": ref,
            "image-digest": result.digest or "",
            "size": result.size or "",
        }
    )
    gha.append_summary(
        f"Scorer image `{ref}`: {size}, built in {result.build_seconds:.1f} s "
        f"with {result.builder}" + (" and pushed" if result.digest else "")
    )
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    click.echo(
        f"built {result.tag} with {result.builder} in {result.build_seconds:.1f} s "
        f"({size})"
    )
    if result.reference:
        click.echo(f"pushed {result.reference}")
