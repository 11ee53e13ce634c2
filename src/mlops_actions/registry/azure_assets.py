"""The Azure ML calls the registry makes, on one ``MLClient``.

Model versions are created through ``models.create_or_update`` (which uploads
a local folder to the workspace's datastore first); container and version tags
are written through the SDK's own generated client. The evaluation folder is a
``uri_folder`` data asset ``NAME-evaluation`` versioned by its content.
azure-ai-ml is imported inside the functions: importing it takes seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlops_actions.azure.client import quiet_uploads
from mlops_actions.digest import tree_digest
from mlops_actions.errors import BackendError, MlopsError, UsageError
from mlops_actions.redact import redact
from mlops_actions.registry.azure_tags import check_tag_values, tags_of
from mlops_actions.registry.base import RegistryUnavailable


class Workspace:
    """The REST operations the registry needs, on one ``MLClient``.

    Model containers and version tags have no public azure-ai-ml call, so
    these go through the SDK's own generated client (``models._model_*``).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.name = getattr(client, "workspace_name", None) or "?"
        group = getattr(client, "resource_group_name", None) or "?"
        #: how messages name the registry: no URL, so no query string
        self.shown = f"Azure ML workspace {self.name} (resource group {group})"
        models = client.models
        self._versions = models._model_versions_operation
        self._containers = models._model_container_operation
        self._scope = {"workspace_name": models._workspace_name, **models._scope_kwargs}

    @contextmanager
    def calls(self) -> Iterator[None]:
        """Failures of the service as one line naming the workspace."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        try:
            yield
        except MlopsError:
            raise
        except ClientAuthenticationError as exc:
            raise RegistryUnavailable(
                f"{self.shown} refused the sign-in: {_reason(exc)}"
            ) from exc
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise RegistryUnavailable(
                f"{self.shown} is unreachable: {_reason(exc)}"
            ) from exc
        except HttpResponseError as exc:
            status = getattr(exc, "status_code", None)
            if status == 403:
                raise RegistryUnavailable(
                    f"{self.shown} refused access (HTTP 403): give the workflow's "
                    "identity a role on the workspace (AzureML Data Scientist)"
                ) from exc
            if status is None or status >= 500 or status in (401, 403, 408, 429):
                raise RegistryUnavailable(
                    f"{self.shown} is unavailable (HTTP {status}): {_reason(exc)}"
                ) from exc
            raise BackendError(
                f"{self.shown} refused the request: {_reason(exc)}"
            ) from exc

    # -- containers ----------------------------------------------------------

    def reach(self) -> None:
        """One cheap read (the first page of model containers)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            next(iter(self._containers.list(**self._scope)), None)
        except ResourceNotFoundError:
            raise UsageError(
                f"{self.shown} was not found: check MLOPS_AZURE_SUBSCRIPTION_ID, "
                "MLOPS_AZURE_RESOURCE_GROUP and MLOPS_AZURE_WORKSPACE"
            ) from None

    def container(self, name: str) -> Any | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._containers.get(name=name, **self._scope)
        except ResourceNotFoundError:
            return None

    def put_container_tags(self, container: Any, tags: dict[str, str]) -> Any:
        check_tag_values(tags)
        props = container.properties
        body = {
            "properties": {
                "description": getattr(props, "description", None),
                "properties": dict(getattr(props, "properties", None) or {}),
                "tags": tags,
            }
        }
        return self._containers.create_or_update(
            name=container.name, body=body, **self._scope
        )

    # -- versions --------------------------------------------------------------

    def versions(self, name: str, tag: str | None = None) -> list[Any]:
        """Every version of ``name`` (REST objects), with ``tag`` (``k=v``) when
        given: filtered by the service and again here, so a service that ignores
        the filter still gives the right answer."""
        from azure.core.exceptions import ResourceNotFoundError

        query = {"tags": tag} if tag else {}
        try:
            found = list(self._versions.list(name=name, **query, **self._scope))
        except ResourceNotFoundError:
            return []
        if tag:
            key, _, value = tag.partition("=")
            found = [v for v in found if (tags_of(v).get(key)) == value]
        return found

    def version(self, name: str, version: str) -> Any | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._versions.get(name=name, version=version, **self._scope)
        except ResourceNotFoundError:
            return None

    def add_version_tags(self, name: str, version: str, tags: dict[str, str]) -> Any:
        """Merge ``tags`` into the version's: Azure ML lets a model version's
        tags change by PUT of the same asset (its path stays)."""
        check_tag_values(tags)
        current = self._versions.get(name=name, version=version, **self._scope)
        body = current.as_dict() if hasattr(current, "as_dict") else dict(current)
        body.pop("systemData", None)
        body["properties"]["tags"] = {**tags_of(current), **tags}
        return self._versions.create_or_update(
            name=name, version=version, body=body, **self._scope
        )

    def create(
        self, name: str, number: int, path: str, tags: dict[str, str]
    ) -> Any | None:
        """``PUT models/NAME/versions/NUMBER`` through ``models.create_or_update``
        (which uploads a local folder first); None when that number was taken
        by a racer (409, or the service refusing a new path for it)."""
        from azure.ai.ml.entities import Model
        from azure.core.exceptions import ResourceExistsError

        check_tag_values(tags)
        model = Model(
            name=name, version=str(number), path=path, type="mlflow_model", tags=tags
        )
        try:
            with quiet_uploads():
                return self.client.models.create_or_update(model)
        except ResourceExistsError:
            return None
        except Exception as exc:
            if (
                getattr(exc, "status_code", None) == 409
                or type(exc).__name__ == "AssetPathException"
            ):
                return None
            raise

    # -- evaluation folders -------------------------------------------------

    def store_evaluation(self, name: str, folder: Path) -> str:
        """The data asset ``NAME-evaluation:<content hash>`` holding ``folder``
        (registered when new); its ``name:version``."""
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import Data
        from azure.core.exceptions import ResourceNotFoundError

        asset, version = f"{name}-evaluation", tree_digest(folder)[:16]
        try:
            self.client.data.get(asset, version=version)
        except ResourceNotFoundError:
            with quiet_uploads():
                self.client.data.create_or_update(
                    Data(
                        name=asset,
                        version=version,
                        path=str(folder),
                        type=AssetTypes.URI_FOLDER,
                        tags={"mlops.model": name},
                    )
                )
        return f"{asset}:{version}"

    def fetch_evaluation(self, ref: str, dest: Path) -> Path:
        from azure.ai.ml._artifacts._artifact_utilities import (
            download_artifact_from_aml_uri,
        )

        asset, _, version = ref.partition(":")
        data = self.client.data.get(asset, version=version)
        dest.mkdir(parents=True, exist_ok=True)
        download_artifact_from_aml_uri(
            str(data.path), str(dest), self.client.datastores
        )
        return holder(dest, "metrics.json")

    def download(self, name: str, version: str, path: str, dest: Path) -> Path:
        """The model files into ``dest``; the folder holding ``MLmodel``."""
        dest.mkdir(parents=True, exist_ok=True)
        job = re.fullmatch(r"azureml://jobs/([^/]+)/outputs/([^/]+)/?", path)
        if job:
            # Where the service keeps the job's URI, the SDK's model download
            # cannot resolve a datastore: fetch the output itself.
            self.client.jobs.download(
                job.group(1), output_name=job.group(2), download_path=str(dest)
            )
        else:
            self.client.models.download(name, version, download_path=str(dest))
        return holder(dest, "MLmodel")


def holder(root: Path, file: str) -> Path:
    """The shallowest folder under ``root`` holding ``file``."""
    found = sorted(root.rglob(file), key=lambda p: len(p.parts))
    if not found:
        raise BackendError(f"downloaded files under {root} hold no {file}")
    return found[0].parent


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    first = " ".join(str(message).split()) or type(exc).__name__
    # URLs may carry a SAS signature: drop their query strings entirely.
    first = re.sub(r"(https?://[^\s?'\"]+)\?[^\s'\"]*", r"\1", redact(first))
    return first if len(first) <= 200 else first[:197] + "..."
