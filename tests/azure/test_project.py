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


AKS = """\
aks:
  app: iris
  namespace: ml-prod
  replicas: 3
  min_replicas: 2
  max_replicas: 8
  target_cpu: 60
  cpu: 1
  memory: 2Gi
  cpu_limit: 1500m
  progress_deadline_seconds: 300
  min_ready_seconds: 5
  drain_seconds: 15
  service_type: LoadBalancer
  pod_monitor: true
  pod_monitor_api: monitoring.coreos.com/v1
  labels:
    team: ml
    example.com/cost-center: c42
  input_log:
    container_url: https://mlopsdata.blob.core.windows.net/inputs
    client_id: 8f2c1a3e-5b7d-4c9e-a1f0-2d3b4c5e6f70
    sample_rate: 0.05
  canary:
    weight: 20
    bake_seconds: 300
    max_error_rate: 0.02
    max_p95_ratio: 1.2
"""


def test_every_aks_field_read(tmp_path):
    aks = load_project(write(tmp_path, AKS), environ={}).aks
    assert (aks.app, aks.namespace, aks.replicas) == ("iris", "ml-prod", 3)
    assert (aks.min_replicas, aks.max_replicas, aks.target_cpu) == (2, 8, 60)
    assert (aks.cpu, aks.memory, aks.cpu_limit) == ("1", "2Gi", "1500m")
    assert (aks.progress_deadline_seconds, aks.min_ready_seconds) == (300, 5)
    assert (aks.drain_seconds, aks.service_type) == (15, "LoadBalancer")
    assert aks.pod_monitor and aks.pod_monitor_api == "monitoring.coreos.com/v1"
    assert aks.labels == {"team": "ml", "example.com/cost-center": "c42"}
    assert aks.input_log.container_url == (
        "https://mlopsdata.blob.core.windows.net/inputs"
    )
    assert aks.input_log.client_id == "8f2c1a3e-5b7d-4c9e-a1f0-2d3b4c5e6f70"
    assert aks.input_log.sample_rate == 0.05
    assert (aks.canary.weight, aks.canary.bake_seconds) == (20, 300)
    assert (aks.canary.max_error_rate, aks.canary.max_p95_ratio) == (0.02, 1.2)


def test_aks_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    aks = load_project(environ={}).aks
    assert (aks.app, aks.namespace, aks.replicas) == ("mlops-scorer", "default", 2)
    assert (aks.min_replicas, aks.max_replicas) == (None, None)
    assert (aks.cpu, aks.memory, aks.cpu_limit) == ("500m", "1Gi", None)
    assert (aks.progress_deadline_seconds, aks.min_ready_seconds) == (120, 0)
    assert (aks.drain_seconds, aks.service_type, aks.target_cpu) == (
        10,
        "ClusterIP",
        70,
    )
    assert not aks.pod_monitor and aks.pod_monitor_api == "azmonitoring.coreos.com/v1"
    assert aks.input_log is None and aks.labels == {}
    assert (aks.canary.weight, aks.canary.bake_seconds) == (10, 120)
    assert (aks.canary.max_error_rate, aks.canary.max_p95_ratio) == (0.01, 1.5)
    # an azure-only file keeps the aks defaults
    assert load_project(write(tmp_path, FULL), environ={}).aks == aks


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "aks:\n  replicas: 2\n  replica: 3\n",
            "3: aks.replica: unknown key: remove it or fix its spelling",
        ),
        (
            "aks:\n  app: Iris_Scorer\n",
            "2: aks.app: must be a DNS label of at most 47 characters (lower-case "
            "letters, digits and '-', starting with a letter, ending with a letter "
            "or digit), got 'Iris_Scorer'",
        ),
        (
            f"aks:\n  app: {'a' * 48}\n",
            "2: aks.app: must be a DNS label of at most 47 characters",
        ),
        ("aks:\n  app: 1scorer\n", "2: aks.app: must be a DNS label"),
        (
            "aks:\n  namespace: ml.prod\n",
            "2: aks.namespace: must be a DNS label of at most 63 characters",
        ),
        ("aks:\n  replicas: 0\n", "2: aks.replicas: must be >= 1, got 0"),
        (
            "aks:\n  replicas: 5\n  max_replicas: 4\n",
            "1: aks: replicas 5 must lie between min_replicas 5 and max_replicas 4: "
            "change one of them",
        ),
        (
            "aks:\n  min_replicas: 3\n",
            "1: aks: replicas 2 must lie between min_replicas 3 and max_replicas 2",
        ),
        (
            "aks:\n  memory: 1024m\n",
            "2: aks.memory: must be a memory quantity of at least 1Mi such as 512Mi "
            "or 1Gi (m means thousandths of a byte), got '1024m'",
        ),
        ("aks:\n  cpu: 2 cores\n", "2: aks.cpu: must be a CPU quantity such as 500m"),
        (
            "aks:\n  cpu: 2\n  cpu_limit: 1\n",
            "1: aks: cpu_limit 1 is below the cpu request 2: raise cpu_limit or "
            "lower cpu",
        ),
        (
            "aks:\n  min_ready_seconds: 200\n",
            "1: aks: progress_deadline_seconds must exceed min_ready_seconds (200)",
        ),
        (
            "aks:\n  service_type: NodePort\n",
            "2: aks.service_type: must be ClusterIP or LoadBalancer, got 'NodePort'",
        ),
        (
            "aks:\n  canary:\n    weight: 100\n",
            "3: aks.canary.weight: must be <= 99, got 100",
        ),
        (
            "aks:\n  labels:\n    app.kubernetes.io/part-of: x\n",
            "2: aks.labels: label 'app.kubernetes.io/part-of': app.kubernetes.io/ is "
            "set by mlops deploy or by Kubernetes: use a prefix of your own",
        ),
        (
            "aks:\n  labels:\n    team: machine learning\n",
            "2: aks.labels: label 'team': 'machine learning' is not a label value",
        ),
        (
            "aks:\n  labels:\n    Bad_Prefix/x: y\n",
            "2: aks.labels: label 'Bad_Prefix/x' is not a Kubernetes label key",
        ),
        (
            "aks:\n  input_log:\n    container_url: https://a.blob.core.windows.net/"
            "c12\n    client_id: not-a-guid\n",
            "4: aks.input_log.client_id: must be the managed identity's client id, a "
            "GUID, got 'not-a-guid'",
        ),
        (
            "aks:\n  input_log:\n    container_url: http://a.blob.core.windows.net/c1\n"
            "    client_id: 8f2c1a3e-5b7d-4c9e-a1f0-2d3b4c5e6f70\n",
            "3: aks.input_log.container_url: must be a blob container's URL, "
            "https://ACCOUNT.blob.core.windows.net/CONTAINER, got "
            "'http://a.blob.core.windows.net/c1'",
        ),
        (
            "aks:\n  input_log:\n    client_id: 8f2c1a3e-5b7d-4c9e-a1f0-2d3b4c5e6f70\n",
            "2: aks.input_log.container_url: is required: add it",
        ),
    ],
)
def test_a_bad_aks_value_names_file_line_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    assert refusal(path).startswith(f"{path}:{message}")


URL = "https://mlopsdata.blob.core.windows.net/inputs"


@pytest.mark.parametrize(
    "text, where, line",
    [
        (
            "aks:\n  input_log:\n    account_key: canary-k3y==\n",
            "input_log.account_key",
            3,
        ),
        ("aks:\n  connection_string: canary-cs\n", "connection_string", 2),
        ("aks:\n  input_log:\n    sas_token: canary-sv\n", "input_log.sas_token", 3),
        ("aks:\n  input_log:\n    SAS: canary-sv\n", "input_log.SAS", 3),
        ("aks:\n  storage-key: canary\n", "storage-key", 2),
        (
            f"aks:\n  input_log:\n    container_url: {URL}?sv=2024&sig=canary%3D\n",
            "input_log.container_url",
            3,
        ),
        (
            "aks:\n  labels:\n    team: DefaultEndpointsProtocol=https;"
            "AccountKey=canary\n",
            "labels.team",
            3,
        ),
    ],
)
def test_a_storage_secret_anywhere_under_aks_is_refused(tmp_path, text, where, line):
    path = write(tmp_path, text)
    message = refusal(path)
    assert message == (
        f"{path}:{line}: aks.{where}: a storage key, SAS or connection string is not "
        "accepted: the scorer writes with workload identity (aks.input_log.client_id,"
        " a managed identity with a federated credential); remove it"
    )
    assert "canary" not in message


def test_a_sas_query_without_a_signature_is_refused_without_echoing_it(tmp_path):
    text = (
        f"aks:\n  input_log:\n    container_url: {URL}?sv=2024-11-04&sp=rw\n"
        "    client_id: 8f2c1a3e-5b7d-4c9e-a1f0-2d3b4c5e6f70\n"
    )
    message = refusal(write(tmp_path, text))
    assert message.endswith(
        ":3: aks.input_log.container_url: a query string or credentials in the URL "
        "(a SAS) are not accepted: the scorer signs in with workload identity; give "
        "https://ACCOUNT.blob.core.windows.net/CONTAINER"
    )
    assert "sp=rw" not in message
