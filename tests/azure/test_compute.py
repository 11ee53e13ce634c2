"""Clusters a pipeline names: checked before submission, created on request
from mlops.yaml with min 0 nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_actions.azure.compute import cluster_from, compute_name, pipeline_computes
from mlops_actions.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "target, name",
    [
        ("azureml:cpu-cluster", "cpu-cluster"),
        ("cpu-cluster", "cpu-cluster"),
        ("azureml:/subscriptions/s/resourceGroups/r/providers/x/computes/gpu", "gpu"),
        ("serverless", None),
        ("azureml:serverless", None),
    ],
)
def test_compute_names(target, name):
    assert compute_name(target) == name


def test_the_reference_pipeline_names_its_cpu_and_gpu_clusters():
    assert pipeline_computes(ROOT / "pipelines" / "pipeline.yml") == [
        "cpu-cluster",
        "gpu-cluster",
    ]


def test_a_cluster_is_made_to_scale_to_zero_whatever_the_config_says():
    entry = {"size": "Standard_NC6s_v3", "min_nodes": 2, "max_nodes": 4,
             "idle_seconds": 300, "tier": "low_priority"}  # fmt: skip
    cluster = cluster_from("gpu-cluster", entry)
    assert (cluster.name, cluster.size, cluster.min_instances) == (
        "gpu-cluster",
        "Standard_NC6s_v3",
        0,
    )
    assert (cluster.max_instances, cluster.idle_time_before_scale_down) == (4, 300)
    assert cluster.tier == "low_priority"


def test_a_missing_config_entry_names_the_key_to_add():
    with pytest.raises(UsageError, match=r"mlops.yaml azure.compute.cpu-cluster is"):
        cluster_from("cpu-cluster", None)
    with pytest.raises(UsageError, match="tier: 'spot': use dedicated"):
        cluster_from("c", {"size": "S", "max_nodes": 1, "tier": "spot"})


# -- against the fake Azure ML service ---------------------------------------
def test_a_missing_cluster_is_named(azureml, ml_client):
    from mlops_actions.azure.compute import check_computes

    problems = check_computes(
        ml_client, ["azureml:cpu-cluster", "azureml:big-gpu", "serverless"]
    )
    assert problems == [
        "compute big-gpu does not exist in the workspace: create it, or pass "
        "--create-compute to create it from mlops.yaml azure.compute.big-gpu"
    ]
    assert not azureml.calls("PUT", r"/computes/")
    assert not azureml.calls("GET", r"/computes/serverless")


def test_a_cluster_that_keeps_nodes_warns_of_the_cost(azureml, ml_client):
    from mlops_actions.azure.compute import check_computes

    azureml.add_compute("always-on", min_nodes=2)
    warnings: list[str] = []
    assert check_computes(ml_client, ["always-on"], warn=warnings.append) == []
    assert warnings == [
        "compute always-on keeps 2 node(s) when idle and bills for them: set its "
        "minimum nodes to 0 to scale to zero"
    ]


def test_create_compute_sends_the_put_with_min_zero_and_the_configured_size(
    azureml, ml_client
):
    from mlops_actions.azure.compute import check_computes

    config = {"big-gpu": {"size": "Standard_NC24ads_A100_v4", "min_nodes": 1,
                          "max_nodes": 3, "idle_seconds": 900,
                          "tier": "low_priority"}}  # fmt: skip
    assert check_computes(ml_client, ["azureml:big-gpu"], config, create=True) == []
    (put,) = azureml.calls("PUT", r"/computes/big-gpu$")
    props = put["body"]["properties"]
    assert props["computeType"] == "AmlCompute"
    assert props["properties"]["vmSize"] == "Standard_NC24ads_A100_v4"
    assert props["properties"]["vmPriority"] == "LowPriority"
    assert props["properties"]["scaleSettings"] == {
        "minNodeCount": 0,
        "maxNodeCount": 3,
        "nodeIdleTimeBeforeScaleDown": "PT15M",  # 900 s, as ISO 8601
    }
    assert check_computes(ml_client, ["big-gpu"], config, create=True) == []
    assert len(azureml.calls("PUT", r"/computes/")) == 1


def test_create_compute_without_a_config_entry_names_the_key(azureml, ml_client):
    from mlops_actions.azure.compute import check_computes

    with pytest.raises(UsageError, match="mlops.yaml azure.compute.big-gpu is not"):
        check_computes(ml_client, ["big-gpu"], {}, create=True)
    assert not azureml.calls("PUT", r"/computes/")


def test_the_project_config_model_drives_creation(azureml, ml_client):
    from mlops_actions.azure.compute import check_computes
    from mlops_actions.project import Compute

    config = {"cpu-small": Compute(size="Standard_DS3_v2", max_nodes=2)}
    assert check_computes(ml_client, ["cpu-small"], config, create=True) == []
    (put,) = azureml.calls("PUT", r"/computes/cpu-small$")
    inner = put["body"]["properties"]["properties"]
    assert (inner["vmSize"], inner["vmPriority"]) == ("Standard_DS3_v2", "Dedicated")
    assert inner["scaleSettings"]["minNodeCount"] == 0
    assert inner["scaleSettings"]["maxNodeCount"] == 2
