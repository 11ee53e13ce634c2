"""Azure ML data assets: register a local file or folder under a content
version, list and show them, and resolve ``azureml:NAME@latest`` inputs.

The version is :func:`~mlops_actions.data.versions.content_version` of the
bytes, so the same data registered twice is one version: the version is read
first, and only a missing one is uploaded (to the workspace's default
datastore, or a Blob or ADLS Gen2 datastore named by the caller).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlops_actions.data.versions import VERSION_DIGITS, content_digest
from mlops_actions.azure.client import azure_error, quiet_uploads
from mlops_actions.errors import BackendError, UsageError
from mlops_actions.redact import redact

TYPES = ("uri_file", "uri_folder")
#: Azure ML's rule for asset names.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
_DATASTORE = re.compile(r"/datastores/([^/]+)/")
#: Tag holding the full sha256 the version was cut from.
CONTENT_TAG = "mlops.content-sha256"


@dataclass(frozen=True)
class DataAsset:
    """One data asset version as the workspace records it."""

    name: str
    version: str
    #: uri_file or uri_folder; None in a listing of names
    type: str | None = None
    #: where the data lives (``azureml://.../datastores/DS/paths/...``)
    uri: str | None = None
    datastore: str | None = None
    #: ISO 8601 creation time, as the service reports it
    created: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None

    @property
    def reference(self) -> str:
        """What a pipeline input names it by: ``azureml:NAME:VERSION``."""
        return f"azureml:{self.name}:{self.version}"


@dataclass(frozen=True)
class Registration:
    asset: DataAsset
    #: False when that content version existed: nothing was uploaded
    uploaded: bool


def asset_from(data: Any) -> DataAsset:
    """A :class:`DataAsset` from azure-ai-ml's ``Data`` entity."""
    uri = str(data.path) if getattr(data, "path", None) else None
    datastore = getattr(data, "datastore", None)
    if not datastore and uri and (found := _DATASTORE.search(uri)):
        datastore = found.group(1)
    context = getattr(data, "creation_context", None)
    created: Any = getattr(context, "created_at", None)
    return DataAsset(
        name=str(data.name),
        version=str(data.version or getattr(data, "latest_version", "") or ""),
        type=str(data.type) if getattr(data, "path", None) and data.type else None,
        uri=uri,
        datastore=str(datastore) if datastore else None,
        created=created.isoformat() if hasattr(created, "isoformat") else created,
        tags=dict(getattr(data, "tags", None) or {}),
        description=getattr(data, "description", None),
    )


def register_data(
    client: Any,
    path: Path,
    name: str,
    *,
    datastore: str | None = None,
    type: str | None = None,
    description: str | None = None,
) -> Registration:
    """Register ``path`` as data asset ``name`` at its content version; an
    existing version is returned as it is, nothing uploaded. ``type``
    defaults to uri_file for a file, uri_folder for a folder."""
    from azure.ai.ml.entities import Data
    from azure.ai.ml.exceptions import MlException
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    if not _NAME.fullmatch(name):
        raise UsageError(
            f"--name {name!r}: use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit"
        )
    kind = type or ("uri_file" if path.is_file() else "uri_folder")
    if kind not in TYPES:
        raise UsageError(f"--type {kind}: use uri_file or uri_folder")
    if (kind == "uri_file") != path.is_file() and path.exists():
        what = "a file" if path.is_file() else "a folder"
        raise UsageError(f"{path} is {what}: --type {kind} does not fit it")
    digest = content_digest(path)  # read once: the data may be large
    version = digest[:VERSION_DIGITS]
    if datastore:
        _datastore_exists(client, datastore)
    try:
        return Registration(asset_from(client.data.get(name, version=version)), False)
    except ResourceNotFoundError:
        pass
    except HttpResponseError as exc:
        raise azure_error(exc, f"read data asset {name}:{version}") from None
    data = Data(
        name=name,
        version=version,
        type=kind,
        path=str(path.resolve()),
        datastore=datastore,
        description=description,
        tags={CONTENT_TAG: digest},
    )
    where = f"datastore {datastore}" if datastore else "the default datastore"
    try:
        with quiet_uploads():
            created = client.data.create_or_update(data)
    except HttpResponseError as exc:
        if _from_storage(exc):
            raise _upload_error(exc, f"{name}:{version}", where) from None
        raise azure_error(exc, f"register data asset {name}:{version}") from None
    except MlException as exc:
        first = redact(str(exc.message or exc).strip().splitlines()[0])
        raise BackendError(f"uploading {name}:{version} to {where}: {first}") from None
    return Registration(asset_from(created), True)


def _from_storage(exc: Exception) -> bool:
    """Whether the failed request went to a storage account (the upload),
    not to Azure ML."""
    request = getattr(getattr(exc, "response", None), "request", None)
    host = urlsplit(str(getattr(request, "url", ""))).hostname or ""
    return ".blob." in host or ".dfs." in host


def _upload_error(exc: Exception, asset: str, where: str) -> BackendError:
    status = getattr(exc, "status_code", None)
    first = redact(str(getattr(exc, "message", None) or exc).strip().splitlines()[0])
    hint = (
        ": the identity needs the Storage Blob Data Contributor role on the "
        "datastore's storage account"
        if status == 403
        else ""
    )
    return BackendError(
        f"uploading {asset} to {where}: storage answered {status}: {first}{hint}"
    )


def _datastore_exists(client: Any, datastore: str) -> None:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        client.datastores.get(datastore)
    except ResourceNotFoundError:
        raise UsageError(
            f"--datastore {datastore}: no such datastore in the workspace: "
            "name a Blob or ADLS Gen2 datastore it has (az ml datastore list)"
        ) from None
    except HttpResponseError as exc:
        raise azure_error(exc, f"read datastore {datastore}") from None


def parse_reference(ref: str) -> tuple[str, str | None]:
    """(name, version) of ``[azureml:]NAME[:VERSION|@latest]``; version None
    for ``@latest`` or none given."""
    text = ref.strip().removeprefix("azureml:")
    if text.startswith("/") or "://" in ref:
        raise UsageError(
            f"{ref}: a URI, not a data asset: name one as azureml:NAME:VERSION "
            "or azureml:NAME@latest"
        )
    if "@" in text:
        name, _, label = text.partition("@")
        if label != "latest":
            raise UsageError(f"{ref}: only @latest is a label here: use NAME@latest")
        version = None
    else:
        name, _, version = text.partition(":")
    if not _NAME.fullmatch(name) or (version is not None and ":" in version):
        raise UsageError(
            f"{ref}: name a data asset as NAME, NAME:VERSION or NAME@latest"
        )
    return name, version or None


def show_data(client: Any, ref: str) -> DataAsset:
    """The data asset ``ref`` names (``NAME``, ``NAME:V``, ``NAME@latest``;
    an ``azureml:`` prefix is allowed): the newest version unless one is given.
    UsageError when the workspace has no such asset or version."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    name, version = parse_reference(ref)
    try:
        if version is None:
            found = client.data.get(name, label="latest")
        else:
            found = client.data.get(name, version=version)
    except ResourceNotFoundError:
        what = f"{name}:{version}" if version else name
        raise UsageError(
            f"data asset {what} does not exist in the workspace: register it "
            "with `mlops data register PATH --name NAME`, or see `mlops data list`"
        ) from None
    except HttpResponseError as exc:
        raise azure_error(exc, f"read data asset {ref}") from None
    return asset_from(found)


def resolve_data_input(client: Any, ref: str) -> tuple[str, str]:
    """(name, version) of a pipeline input ``azureml:NAME@latest`` (the
    newest version now) or ``azureml:NAME:VERSION`` (checked to exist), so the
    run can record exactly which data it read."""
    if not ref.startswith("azureml:"):
        raise UsageError(f"{ref}: a data asset input starts with azureml:")
    name, version = parse_reference(ref)
    if version is None and "@" not in ref:
        raise UsageError(f"{ref}: add a version (azureml:{name}:V) or @latest")
    asset = show_data(client, ref)
    return asset.name, asset.version


def list_data(client: Any, name: str | None = None) -> list[DataAsset]:
    """Every version of ``name``, newest first; without a name, every data
    asset of the workspace with its latest version, by name."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        found = [asset_from(d) for d in client.data.list(name=name)]
    except ResourceNotFoundError:
        return []
    except HttpResponseError as exc:
        raise azure_error(exc, "list data assets") from None
    if name is None:
        return sorted(found, key=lambda a: a.name)
    return sorted(found, key=lambda a: a.created or "", reverse=True)
