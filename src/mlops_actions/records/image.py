"""``bundle.json`` (the scorer's build context) and ``image.json`` (the image
built from it, referenced by digest once pushed)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from mlops_actions.records.base import Part, Record, schema_field, version_field

BUNDLE_SCHEMA = "mlops-actions/bundle"
IMAGE_SCHEMA = "mlops-actions/image"


class BundledModel(Part):
    """Who the model is; ``version`` is the model's version."""

    name: str
    version: str
    commit: str | None = None
    digest: str = Field(description="sha256 of the model folder's content.")
    uri: str | None = Field(default=None, description="Where the model came from.")


class BundledFile(Part):
    path: str
    sha256: str
    size: int


class Toolkit(Part):
    version: str
    wheel: str


class BundleRecord(Record):
    what: ClassVar[str] = "bundle record"
    file_name: ClassVar[str] = "bundle.json"

    schema_: Literal["mlops-actions/bundle"] = schema_field(BUNDLE_SCHEMA)
    version: Literal[1] = version_field(1)
    model: BundledModel
    created: str | None = None
    base_image: str | None = None
    python: str | None = None
    offline: bool = Field(default=False, description="Wheels included: builds offline.")
    mlops_actions: Toolkit | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    requirements: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    files: list[BundledFile] = Field(
        default_factory=list, description="Every file of the context but this one."
    )


class ImageRecord(Record):
    what: ClassVar[str] = "image record"
    file_name: ClassVar[str] = "image.json"

    schema_: Literal["mlops-actions/image"] = schema_field(IMAGE_SCHEMA)
    version: Literal[1] = version_field(1)
    tag: str
    reference: str | None = Field(
        description="REPOSITORY@sha256:... once pushed, else null."
    )
    digest: str | None
    image_id: str
    size: int | None = Field(description="Bytes of the layers, uncompressed.")
    build_seconds: float
    push_seconds: float | None
    builder: str
    base_image: str | None
    model: dict[str, Any] | None = Field(
        description="The model as bundle.json names it (see bundle.schema.json)."
    )
    pushed: bool
    base_size: int | None = Field(
        default=None,
        description="Bytes of the base image's layers, uncompressed (null when "
        "the builder does not hold it); size less base_size is what the "
        "scorer and the model add.",
    )
