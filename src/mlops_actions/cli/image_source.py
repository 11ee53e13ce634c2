"""The image a Kubernetes command deploys or renders, and the model it serves:
``--image`` (by digest) with ``--name`` and ``--model-version``, or what
``image.json`` from ``mlops image build --push`` says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from mlops_actions.errors import UsageError

IMAGE_FILE = click.Path(path_type=Path, dir_okay=False)


def image_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--image``, ``--image-file``, ``--model-version``, ``--name``."""
    declared = [
        click.option(
            "--image",
            show_envvar=True,
            help="The scorer image by digest, REPOSITORY@sha256:... [default: "
            "--image-file's reference].",
        ),
        click.option(
            "--image-file",
            type=IMAGE_FILE,
            default=Path("image.json"),
            show_default=True,
            show_envvar=True,
            help="image.json from `mlops image build --push`: the image and its "
            "model.",
        ),
        click.option(
            "--model-version",
            show_envvar=True,
            help="The registered version the image serves [default: image.json's].",
        ),
        click.option(
            "--name",
            show_envvar=True,
            help="The registered model's name [default: image.json's].",
        ),
    ]
    for option in reversed(declared):
        command = option(command)
    return command


@dataclass(frozen=True)
class ServedImage:
    """The image, and the registered model version baked into it."""

    image: str
    name: str
    version: str
    #: the commit the model was built from, when image.json knows it
    commit: str | None


def served_image(
    image: str | None, image_file: Path, name: str | None, version: str | None
) -> ServedImage:
    """The flags, with image.json filling in what they leave out."""
    built = _image_record(image_file) if None in (image, name, version) else {}
    image = image or built.get("reference")
    if not image:
        raise UsageError(
            f"--image-file {image_file}: the image was not pushed (no reference): "
            "build it with mlops image build --push, or pass --image"
        )
    bundled = built.get("model") or {}
    name, version = name or bundled.get("name"), version or bundled.get("version")
    if not name or not version:
        raise UsageError(
            "which model the image serves is not known: pass --name and "
            "--model-version, or --image-file from mlops image build"
        )
    return ServedImage(image, name, version, bundled.get("commit"))


def _image_record(path: Path) -> dict[str, Any]:
    from mlops_actions.records.base import read_record
    from mlops_actions.records.image import ImageRecord

    if not path.is_file():
        raise UsageError(
            f"--image-file {path}: no such file: pass --image REPOSITORY@sha256:... "
            "with --name and --model-version, or build with mlops image build --push"
        )
    return read_record(path, ImageRecord, where=f"--image-file {path}").to_json()
