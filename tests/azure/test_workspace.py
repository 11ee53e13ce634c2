"""Which workspace: flags beat MLOPS_AZURE_* beat mlops.yaml beat AZURE_*."""

from __future__ import annotations

import json

import pytest

from mlops_actions.azure.workspace import Workspace, resolve_workspace
from mlops_actions.errors import UsageError
from mlops_actions.project import AzureConfig, Project

METADATA = {
    "azure_portal": "https://portal.stack/",
    "resource_manager": "https://management.stack/",
    "active_directory": "https://login.stack",
    "aml_resource_id": "https://ml.stack/",
    "storage_endpoint": "core.stack",
    "registry_discovery_endpoint": "https://discovery.stack/",
}
YAML = Project(
    azure=AzureConfig(
        subscription_id="yaml-sub",
        resource_group="yaml-rg",
        workspace="yaml-ws",
        tenant_id="yaml-tenant",
        client_id="yaml-client",
        auth="cli",
    )
)


def test_the_project_config_alone_is_enough():
    assert resolve_workspace(environ={}, project=YAML) == Workspace(
        subscription_id="yaml-sub",
        resource_group="yaml-rg",
        name="yaml-ws",
        tenant_id="yaml-tenant",
        client_id="yaml-client",
        cloud="AzureCloud",
        cloud_metadata=None,
        auth="cli",
    )


def test_env_beats_the_project_config_and_flags_beat_env():
    env = {
        "MLOPS_AZURE_SUBSCRIPTION_ID": "env-sub",
        "MLOPS_AZURE_RESOURCE_GROUP": "env-rg",
        "MLOPS_AZURE_WORKSPACE": "env-ws",
        "MLOPS_AZURE_TENANT_ID": "env-tenant",
        "MLOPS_AZURE_CLIENT_ID": "env-client",
        "MLOPS_AZURE_AUTH": "oidc",
    }
    from_env = resolve_workspace(environ=env, project=YAML)
    assert (from_env.subscription_id, from_env.resource_group, from_env.name) == (
        "env-sub",
        "env-rg",
        "env-ws",
    )
    assert (from_env.tenant_id, from_env.client_id, from_env.auth) == (
        "env-tenant",
        "env-client",
        "oidc",
    )
    flagged = resolve_workspace(
        subscription_id="flag-sub",
        resource_group="flag-rg",
        workspace="flag-ws",
        environ=env,
        project=YAML,
    )
    assert (flagged.subscription_id, flagged.resource_group, flagged.name) == (
        "flag-sub",
        "flag-rg",
        "flag-ws",
    )


def test_standard_azure_variables_are_the_last_fallback():
    env = {
        "AZURE_SUBSCRIPTION_ID": "std-sub",
        "AZURE_TENANT_ID": "std-tenant",
        "AZURE_CLIENT_ID": "std-client",
    }
    found = resolve_workspace(
        resource_group="rg", workspace="ws", environ=env, project=Project()
    )
    assert (found.subscription_id, found.tenant_id, found.client_id) == (
        "std-sub",
        "std-tenant",
        "std-client",
    )
    assert found.auth == "auto"
    # mlops.yaml wins over them
    assert resolve_workspace(environ=env, project=YAML).tenant_id == "yaml-tenant"


def test_missing_values_are_named_with_every_way_to_give_them():
    with pytest.raises(UsageError) as caught:
        resolve_workspace(resource_group="rg", environ={}, project=Project())
    assert caught.value.message == (
        "no Azure ML workspace: give the subscription id: --subscription-id, "
        "MLOPS_AZURE_SUBSCRIPTION_ID or azure.subscription_id in mlops.yaml "
        "(or AZURE_SUBSCRIPTION_ID); workspace: --workspace, MLOPS_AZURE_WORKSPACE "
        "or azure.workspace in mlops.yaml"
    )


def test_the_project_config_is_read_when_not_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlops.yaml").write_text(
        "azure: {subscription_id: s, resource_group: r, workspace: from-file}\n"
    )
    assert resolve_workspace(environ={}).name == "from-file"


def test_a_custom_cloud_from_env():
    env = {
        "MLOPS_AZURE_CLOUD": "MyStack",
        "MLOPS_AZURE_CLOUD_METADATA": json.dumps(METADATA),
    }
    found = resolve_workspace(environ=env, project=YAML)
    assert found.cloud == "MyStack" and found.cloud_metadata == METADATA
    assert found.is_custom_cloud


def test_a_named_cloud_from_the_project_config():
    project = Project(azure=YAML.azure.model_copy(update={"cloud": "AzureChinaCloud"}))
    found = resolve_workspace(environ={}, project=project)
    assert (found.cloud, found.cloud_metadata) == ("AzureChinaCloud", None)


@pytest.mark.parametrize(
    "text",
    ["not json", json.dumps(["a"]), json.dumps({**METADATA, "extra": "x"}), "{}"],
)
def test_bad_cloud_metadata_is_refused(text):
    env = {"MLOPS_AZURE_CLOUD": "MyStack", "MLOPS_AZURE_CLOUD_METADATA": text}
    with pytest.raises(UsageError) as caught:
        resolve_workspace(environ=env, project=YAML)
    assert caught.value.message == (
        "MLOPS_AZURE_CLOUD_METADATA must be a JSON object with exactly the keys "
        "azure_portal, resource_manager, active_directory, aml_resource_id, "
        "storage_endpoint, registry_discovery_endpoint"
    )


def test_cloud_metadata_under_a_known_cloud_name_is_refused():
    env = {"MLOPS_AZURE_CLOUD_METADATA": json.dumps(METADATA)}
    with pytest.raises(UsageError) as caught:
        resolve_workspace(environ=env, project=YAML)
    assert "to a name of its own, not AzureCloud" in caught.value.message


def test_bad_auth_is_refused():
    with pytest.raises(UsageError) as caught:
        resolve_workspace(environ={"MLOPS_AZURE_AUTH": "secret"}, project=YAML)
    assert caught.value.message == (
        "MLOPS_AZURE_AUTH must be one of auto, cli, oidc, default, got 'secret'"
    )


def test_an_unknown_cloud_name_without_endpoints_is_refused():
    with pytest.raises(UsageError) as caught:
        resolve_workspace(environ={"MLOPS_AZURE_CLOUD": "AzureCloudd"}, project=YAML)
    assert caught.value.message == (
        "cloud AzureCloudd is none of AzureCloud, AzureChinaCloud, "
        "AzureUSGovernment: for a custom cloud give its endpoints in "
        "MLOPS_AZURE_CLOUD_METADATA (or azure.cloud_metadata), or fix the name"
    )
