"""mlops.yaml: found, defaulted, and refused with file:line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.project import DEFAULT_TIMEOUT_S, Project, load_project

FULL = """\
azure:
  subscription_id: sub-1
  resource_group: rg-1
  workspace: ws-1
  tenant_id: tenant-1
  client_id: client-1
  cloud: MyStack
  cloud_metadata:
    azure_portal: https://portal.stack/
    resource_manager: https://management.stack/
    active_directory: https://login.stack
    aml_resource_id: https://ml.stack/
    storage_endpoint: core.stack
    registry_discovery_endpoint: https://discovery.stack/
  auth: oidc
  datastore: lake
  timeout: 600
  compute:
    cpu-cluster:
      size: Standard_DS3_v2
      max_nodes: 4
    gpu-cluster:
      size: Standard_NC6s_v3
      min_nodes: 0
      max_nodes: 2
      idle_seconds: 300
      tier: low_priority
  light:
    compute: cpu-cluster
    inputs:
      data: azureml:sample@latest
      epochs: 1
  environments: envs
"""


def write(folder: Path, text: str, name: str = "mlops.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def refusal(path: Path) -> str:
    with pytest.raises(UsageError) as caught:
        load_project(path, environ={})
    return caught.value.message


def test_every_field_read(tmp_path):
    azure = load_project(write(tmp_path, FULL), environ={}).azure
    assert (azure.subscription_id, azure.resource_group, azure.workspace) == (
        "sub-1",
        "rg-1",
        "ws-1",
    )
    assert azure.cloud == "MyStack"
    assert azure.cloud_metadata.active_directory == "https://login.stack"
    assert azure.auth == "oidc" and azure.datastore == "lake"
    assert azure.timeout == 600 and azure.environments == "envs"
    cpu, gpu = azure.compute["cpu-cluster"], azure.compute["gpu-cluster"]
    assert (cpu.min_nodes, cpu.max_nodes, cpu.idle_seconds, cpu.tier) == (
        0,
        4,
        120,
        "dedicated",
    )
    assert (gpu.idle_seconds, gpu.tier) == (300, "low_priority")
    assert azure.light.compute == "cpu-cluster"
    assert azure.light.inputs == {"data": "azureml:sample@latest", "epochs": 1}


def test_no_file_in_the_working_directory_is_an_empty_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = load_project(environ={})
    assert project == Project()
    assert project.azure.timeout == DEFAULT_TIMEOUT_S == 4 * 3600
    assert project.azure.auth is None and project.azure.environments == "environments"


def test_the_file_in_the_working_directory_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "azure: {workspace: here}\n")
    assert load_project(environ={}).azure.workspace == "here"


def test_mlops_config_names_the_file(tmp_path):
    path = write(tmp_path, "azure: {workspace: named}\n", "other.yaml")
    assert load_project(environ={"MLOPS_CONFIG": str(path)}).azure.workspace == (
        "named"
    )


@pytest.mark.parametrize("how", ["argument", "env"])
def test_a_named_file_that_is_missing_is_refused(tmp_path, how):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(UsageError) as caught:
        if how == "argument":
            load_project(missing, environ={})
        else:
            load_project(environ={"MLOPS_CONFIG": str(missing)})
    assert caught.value.message == f"{missing}: project config not found"


def test_bad_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "azure:\n  workspace: [unclosed\n  auth: cli\n")
    assert refusal(path).startswith(f"{path}:3: invalid YAML")


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = write(tmp_path, "azure:\n  workspace: ws\n  workspce_name: typo\n")
    assert refusal(path) == (
        f"{path}:3: azure.workspce_name: unknown key: remove it or fix its spelling"
    )


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, "azure: {}\nazur: {}\n")
    assert refusal(path) == (
        f"{path}:2: azur: unknown key: remove it or fix its spelling"
    )


def test_bad_value_names_the_key(tmp_path):
    path = write(tmp_path, "azure:\n  auth: password\n")
    assert refusal(path) == (
        f"{path}:2: azure.auth: must be auto, cli, oidc or default, got 'password'"
    )


def test_compute_needs_max_nodes_and_ordered_nodes(tmp_path):
    path = write(tmp_path, "azure:\n  compute:\n    cpu:\n      size: S\n")
    assert (
        refusal(path) == f"{path}:3: azure.compute.cpu.max_nodes: is required: add it"
    )
    path = write(
        tmp_path,
        "azure:\n  compute:\n    cpu:\n      size: S\n      min_nodes: 3\n"
        "      max_nodes: 2\n",
    )
    assert refusal(path) == (
        f"{path}:3: azure.compute.cpu: min_nodes 3 exceeds max_nodes 2: lower "
        "min_nodes or raise max_nodes"
    )


def test_timeout_must_be_positive(tmp_path):
    path = write(tmp_path, "azure:\n  timeout: 0\n")
    assert refusal(path) == f"{path}:2: azure.timeout: must be > 0, got 0"


def test_cloud_metadata_needs_a_cloud_name_of_its_own(tmp_path):
    text = FULL.replace("cloud: MyStack", "cloud: AzureCloud")
    path = write(tmp_path, text)
    assert "set cloud to a name of its own (not AzureCloud)" in refusal(path)


def test_repeated_key_is_refused(tmp_path):
    path = write(tmp_path, "azure:\n  workspace: a\n  workspace: b\n")
    assert refusal(path) == f"{path}:3: azure.workspace: repeated key: keep one"


@pytest.mark.parametrize(
    "text, where, line",
    [
        (
            "azure:\n  workspace: ws\n  client_secret: canary-s3cret\n",
            "client_secret",
            3,
        ),
        (
            "azure:\n  compute:\n    cpu:\n      password: canary-s3cret\n",
            "compute.cpu.password",
            4,
        ),
        ("azure:\n  Client-Secret: canary-s3cret\n", "Client-Secret", 2),
    ],
)
def test_a_client_secret_anywhere_under_azure_is_refused(tmp_path, text, where, line):
    path = write(tmp_path, text)
    message = refusal(path)
    assert message.startswith(f"{path}:{line}: azure.{where}: a client secret is not")
    assert "OIDC only" in message and "README's 'Azure ML: one-time setup'" in message
    assert "canary" not in message
