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
