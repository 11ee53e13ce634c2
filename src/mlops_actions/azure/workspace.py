"""Which Azure ML workspace, in which cloud, signed in how: pure, no SDK.

Each value comes from the first of: a flag, an ``MLOPS_AZURE_*`` env var, the
``azure:`` section of ``mlops.yaml``, and, for the subscription, tenant and
client ids, the standard ``AZURE_*`` variables azure/login and azure-identity
use.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping

from pydantic import ValidationError

from mlops_actions import settings
from mlops_actions.errors import UsageError
from mlops_actions.project import (
    AUTH_MODES,
    KNOWN_CLOUDS,
    CloudMetadata,
    Project,
    load_project,
)

DEFAULT_CLOUD = "AzureCloud"


@dataclass(frozen=True)
class Workspace:
    subscription_id: str
    resource_group: str
    name: str
    tenant_id: str | None = None
    client_id: str | None = None
    #: a cloud azure-ai-ml knows by name, or a custom one with cloud_metadata
    cloud: str = DEFAULT_CLOUD
    #: the six endpoints of a custom cloud (MLClient's ``cloud_metadata``)
    cloud_metadata: Mapping[str, str] | None = field(default=None, hash=False)
    #: auto, cli, oidc or default (see mlops_actions.azure.credential)
    auth: str = "auto"

    @property
    def is_custom_cloud(self) -> bool:
        return self.cloud_metadata is not None


#: (what, flag, env var, mlops.yaml key, standard env var or None)
_SOURCES = {
    "subscription_id": (
        "subscription id",
        "--subscription-id",
        settings.ENV_AZURE_SUBSCRIPTION_ID,
        "AZURE_SUBSCRIPTION_ID",
    ),
    "resource_group": (
        "resource group",
        "--resource-group",
        settings.ENV_AZURE_RESOURCE_GROUP,
        None,
    ),
    "workspace": ("workspace", "--workspace", settings.ENV_AZURE_WORKSPACE, None),
}


def resolve_workspace(
    *,
    subscription_id: str | None = None,
    resource_group: str | None = None,
    workspace: str | None = None,
    environ: Mapping[str, str] | None = None,
    project: Project | None = None,
) -> Workspace:
    """The workspace to use: flags beat MLOPS_AZURE_* beat mlops.yaml beat AZURE_*.

    ``project`` unset: ``mlops.yaml`` (or ``MLOPS_CONFIG``) is read. Missing
    subscription, resource group or workspace: one UsageError naming every way
    to give each missing one.
    """
    env = os.environ if environ is None else environ
    config = (project if project is not None else load_project(environ=env)).azure

    def pick(flag: str | None, var: str, value: str | None, std: str | None = None):
        for candidate in (flag, env.get(var), value, env.get(std) if std else None):
            if candidate:
                return str(candidate).strip()
        return None

    found = {
        "subscription_id": pick(
            subscription_id,
            settings.ENV_AZURE_SUBSCRIPTION_ID,
            config.subscription_id,
            "AZURE_SUBSCRIPTION_ID",
        ),
        "resource_group": pick(
            resource_group, settings.ENV_AZURE_RESOURCE_GROUP, config.resource_group
        ),
        "workspace": pick(workspace, settings.ENV_AZURE_WORKSPACE, config.workspace),
    }
    missing = [key for key, value in found.items() if not value]
    if missing:
        ways = "; ".join(
            f"{what}: {flag}, {var} or azure.{key} in mlops.yaml"
            + (f" (or {std})" if std else "")
            for key, (what, flag, var, std) in _SOURCES.items()
            if key in missing
        )
        raise UsageError(f"no Azure ML workspace: give the {ways}")

    cloud = pick(None, settings.ENV_AZURE_CLOUD, config.cloud) or DEFAULT_CLOUD
    metadata = _cloud_metadata(env.get(settings.ENV_AZURE_CLOUD_METADATA))
    if metadata is None and config.cloud_metadata is not None:
        metadata = config.cloud_metadata.model_dump()
    if metadata is not None and cloud in KNOWN_CLOUDS:
        raise UsageError(
            f"{settings.ENV_AZURE_CLOUD_METADATA} describes a custom cloud: set "
            f"{settings.ENV_AZURE_CLOUD} (or azure.cloud) to a name of its own, "
            f"not {cloud}"
        )
    auth = pick(None, settings.ENV_AZURE_AUTH, config.auth) or "auto"
    if auth not in AUTH_MODES:
        raise UsageError(
            f"{settings.ENV_AZURE_AUTH} must be one of {', '.join(AUTH_MODES)}, "
            f"got {auth!r}"
        )
    return Workspace(
        subscription_id=found["subscription_id"],
        resource_group=found["resource_group"],
        name=found["workspace"],
        tenant_id=pick(
            None, settings.ENV_AZURE_TENANT_ID, config.tenant_id, "AZURE_TENANT_ID"
        ),
        client_id=pick(
            None, settings.ENV_AZURE_CLIENT_ID, config.client_id, "AZURE_CLIENT_ID"
        ),
        cloud=cloud,
        cloud_metadata=metadata,
        auth=auth,
    )


def _cloud_metadata(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    name = settings.ENV_AZURE_CLOUD_METADATA
    keys = ", ".join(CloudMetadata.model_fields)
    try:
        return CloudMetadata.model_validate(json.loads(text)).model_dump()
    except (ValueError, ValidationError):
        raise UsageError(
            f"{name} must be a JSON object with exactly the keys {keys}"
        ) from None
