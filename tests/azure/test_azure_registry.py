"""The Azure ML registry beyond the contract: job outputs, lineage, the requests
it makes, and how it fails. Real azure-ai-ml against the fake service."""

from __future__ import annotations

import json

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.registry import (
    Audit,
    ChampionMoved,
    RegistryUnavailable,
    open_registry,
)
from mlops_actions.registry.azure_registry import AzureRegistry
from tests.registry.tiny import save_model, write_evaluation

SHA = "c0ffee" * 6 + "abcd"
ALICE = Audit("alice", SHA, "https://github.com/octo/models/actions/runs/42", "promote")
MODEL = r"/models/clf"


@pytest.fixture
def registry(ml_client, monkeypatch) -> AzureRegistry:
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    return AzureRegistry(client=ml_client)


def from_job(registry, job="train-1", run="run-1", commit=SHA, **kw):
    return registry.register_job_output(
        "clf",
        job,
        "model",
        evaluation_dir=kw.pop("evaluation_dir", None),
        run_id=run,
        commit=commit,
        **kw,
    )


def puts(azureml, pattern: str) -> list[dict]:
    return azureml.calls("PUT", pattern)


def test_a_job_output_registers_with_the_data_it_read(registry, azureml, tmp_path):
    evaluation = write_evaluation(tmp_path / "metrics", {"f1": 0.5})
    version, created = from_job(
        registry,
        evaluation_dir=evaluation,
        gate_decision="promote",
        data={"train": "iris-train:3", "test": "iris-test:1"},
    )
    assert created and version.version == "1"
    assert version.uri == "models:/clf/1"
    assert version.tags["mlops.data.train"] == "iris-train:3"
    assert version.tags["mlops.data.test"] == "iris-test:1"
    assert version.tags["mlops.azureml"] == "azureml:clf:1"
    assert (version.run_id, version.commit, version.digest) == ("run-1", SHA, None)
    assert version.metrics == {"f1": 0.5}
    [put] = puts(azureml, rf"{MODEL}/versions/1$")
    props = put["body"]["properties"]
    # registered where the job wrote it: nothing downloaded, nothing uploaded
    assert props["modelUri"] == "azureml://jobs/train-1/outputs/model"
    assert props["modelType"] == "mlflow_model"
    assert props["tags"]["mlops.data.train"] == "iris-train:3"
    assert props["tags"]["mlops.job"] == "train-1"
    assert not azureml.calls("POST", rf"{MODEL}/versions/1/startPendingUpload")
    assert registry.get("clf", "1") == version
    [entry] = registry.history("clf")
    assert (entry.action, entry.version, entry.audit.gate_decision) == (
        "register",
        "1",
        "promote",
    )
    # the evaluation folder is a data asset of its own, named by the version
    [data] = puts(azureml, r"/data/clf-evaluation/versions/[0-9a-f]{16}$")
    ref = "clf-evaluation:" + data["path"].rsplit("/", 1)[1]
    assert version.tags["mlops.evaluation"] == ref
    folder = registry.evaluation("clf", "1", tmp_path / "got")
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(
        (evaluation / "metrics.json").read_text()
    )


def test_a_job_output_downloads_from_the_job(
    registry, ml_client, azureml, toy_pipeline, tmp_path
):
    from azure.ai.ml import load_job

    model = save_model(tmp_path / "trained", 3)
    files = {
        str(p.relative_to(model)): p.read_bytes()
        for p in model.rglob("*")
        if p.is_file()
    }
    azureml.script("toy-run-1", statuses=["Completed"], outputs={"result": files})
    job = load_job(toy_pipeline)
    job.name = "toy-run-1"
    ml_client.jobs.create_or_update(job)
    assert ml_client.jobs.get("toy-run-1").status == "Completed"
    registry.register_job_output(
        "clf", "toy-run-1", "result", evaluation_dir=None, run_id=None, commit=SHA
    )
    folder = registry.download("clf", "1", tmp_path / "got")
    assert (folder / "MLmodel").read_text() == (model / "MLmodel").read_text()
    with pytest.raises(UsageError, match="^clf has no version 2 in registry "):
        registry.download("clf", "2", tmp_path / "none")


def test_bad_lineage_is_a_usage_error(registry, azureml):
    with pytest.raises(UsageError, match=r"^data lineage train='iris': use INPUT="):
        from_job(registry, data={"train": "iris"})
    assert not puts(azureml, r"/models/")


def test_the_same_run_and_commit_twice_is_one_version(registry, azureml):
    first, created = from_job(registry, job="train-1")
    # a re-run of the workflow step: same run and commit, a job retried
    again, created_again = from_job(registry, job="train-2")
    assert (created, created_again) == (True, False)
    assert again == first
    assert len(puts(azureml, rf"{MODEL}/versions/")) == 1
    # the lookup is a tag filter on the idempotency key
    lookups = [c for c in azureml.calls("GET", rf"{MODEL}/versions$") if c["query"]]
    assert any("mlops.key=" in str(c["query"].get("tags")) for c in lookups)
    other, created_other = from_job(registry, job="train-3", commit="b" * 40)
    assert (other.version, created_other) == ("2", True)


def test_a_version_number_taken_by_a_racer_moves_to_the_next(registry, azureml):
    azureml.fail("PUT", rf"{MODEL}/versions/1$", 409)
    version, created = from_job(registry)
    assert (version.version, created) == ("2", True)
    assert [
        c["path"].rsplit("/", 1)[1] for c in puts(azureml, rf"{MODEL}/versions/")
    ] == [
        "1",
        "2",
    ]


def test_a_local_folder_is_uploaded_through_the_datastore(registry, azureml, tmp_path):
    version, _ = registry.register(
        "clf",
        save_model(tmp_path / "m", 2),
        evaluation_dir=None,
        run_id="r",
        commit=None,
    )
    [put] = puts(azureml, rf"{MODEL}/versions/1$")
    assert put["body"]["properties"]["modelUri"].startswith("azureml://")
    assert "/LocalUpload/" in put["body"]["properties"]["modelUri"]
    folder = registry.download("clf", "1", tmp_path / "got")
    assert (folder / "MLmodel").read_text() == (tmp_path / "m" / "MLmodel").read_text()


def test_promotion_whose_champion_moved_changes_nothing(registry, ml_client, azureml):
    for k in (1, 2, 3):
        from_job(registry, job=f"train-{k}", run=f"run-{k}")
    registry.promote("clf", "1", expect_champion=None, audit=ALICE)
    # another workflow promotes 2 meanwhile, through its own client
    AzureRegistry(client=ml_client).promote(
        "clf", "2", expect_champion="1", audit=ALICE
    )
    before = len(azureml.requests)
    with pytest.raises(ChampionMoved, match="^champion of clf is now version 2, not "):
        registry.promote("clf", "3", expect_champion="1", audit=ALICE)
    after = azureml.requests[before:]
    assert [r for r in after if r["method"] != "GET"] == []
    assert registry.champion("clf").version == "2"
    assert "mlops.promoted_by" not in registry.get("clf", "3").tags


def test_promotion_moves_both_pointers_in_one_put(registry, azureml):
    for k in (1, 2):
        from_job(registry, job=f"train-{k}", run=f"run-{k}")
    registry.promote("clf", "1", expect_champion=None, audit=ALICE)
    before = len(puts(azureml, rf"{MODEL}$"))
    registry.promote("clf", "2", expect_champion="1", audit=ALICE)
    [move] = puts(azureml, rf"{MODEL}$")[before:]
    tags = move["body"]["properties"]["tags"]
    assert (tags["mlops.champion"], tags["mlops.previous-champion"]) == ("2", "1")
    entries = [json.loads(v) for k, v in tags.items() if k.startswith("mlops.history.")]
    assert entries[-1]["action"] == "promote" and entries[-1]["previous"] == "1"
    audit = registry.get("clf", "2").tags
    assert audit["mlops.promoted_by"] == "alice"
    assert audit["mlops.promoted_commit"] == SHA
    assert audit["mlops.promoted_run_url"] == ALICE.run_url
    assert audit["mlops.gate_decision"] == "promote"


def test_rollback_restores_the_previous_champion(registry, azureml):
    for k in (1, 2):
        from_job(registry, job=f"train-{k}", run=f"run-{k}")
    registry.promote("clf", "1", expect_champion=None, audit=ALICE)
    registry.promote("clf", "2", expect_champion="1", audit=ALICE)
    back = registry.rollback("clf", audit=Audit("bob", None, None, None, "smoke"))
    assert (back.action, back.version, back.previous) == ("rollback", "1", "2")
    tags = puts(azureml, rf"{MODEL}$")[-1]["body"]["properties"]["tags"]
    assert tags["mlops.champion"] == "1"
    assert "mlops.previous-champion" not in tags
    assert registry.champion("clf").aliases == ("champion",)
    assert "mlops.rolled_back_at" in registry.get("clf", "2").tags
    assert [e.action for e in registry.history("clf")][-1] == "rollback"
    with pytest.raises(UsageError, match="^clf has no previous champion"):
        registry.rollback("clf", audit=ALICE)


def test_open_registry_azure_uses_the_workspace_connection(azureml, signed_in):
    assert isinstance(open_registry("azure"), AzureRegistry)
    assert azureml.calls("GET", r"/models$")  # signed in, reached
    with pytest.raises(UsageError, match="^--tracking-uri is for the MLflow registry"):
        open_registry("azure", tracking_uri="sqlite:///x.db")


def test_cli_champion_on_azure(mlops, azureml, signed_in):
    result = mlops("--backend", "azure", "model", "champion", "ghost")
    assert (result.code, result.out, result.err) == (0, "ghost has no champion\n", "")


def test_an_unavailable_service_names_the_workspace(ml_client, azureml):
    azureml.fail("GET", r"/models$", 503, times=20)
    with pytest.raises(RegistryUnavailable) as failed:
        AzureRegistry(client=ml_client)
    assert failed.value.exit_code == 3
    message = failed.value.message
    assert message.startswith(
        f"Azure ML workspace {azureml.workspace} (resource group "
        f"{azureml.resource_group}) is unavailable (HTTP 503): "
    )
    assert "?" not in message and "sig=" not in message


def test_a_wrong_workspace_is_a_usage_error(azureml, static_credential):
    from azure.ai.ml import MLClient

    client = MLClient(
        static_credential,
        azureml.subscription_id,
        azureml.resource_group,
        "ws-typo",
        cloud=azureml.cloud_name,
        cloud_metadata=azureml.cloud_metadata,
    )
    with pytest.raises(UsageError) as wrong:
        AzureRegistry(client=client)
    assert wrong.value.message == (
        f"Azure ML workspace ws-typo (resource group {azureml.resource_group}) was "
        "not found: check MLOPS_AZURE_SUBSCRIPTION_ID, MLOPS_AZURE_RESOURCE_GROUP "
        "and MLOPS_AZURE_WORKSPACE"
    )


def test_no_access_says_which_role(ml_client, azureml):
    azureml.fail("GET", r"/models$", 403)
    with pytest.raises(RegistryUnavailable, match=r"refused access \(HTTP 403\): give"):
        AzureRegistry(client=ml_client)


def test_an_unreachable_service_names_the_workspace(static_credential, unused_port):
    from azure.ai.ml import MLClient

    dead = f"https://127.0.0.1:{unused_port}/"
    client = MLClient(
        static_credential,
        "00000000-0000-0000-0000-00000000dead",
        "rg-gone",
        "ws-gone",
        cloud=f"MlopsDead{unused_port}",
        cloud_metadata={
            "azure_portal": "https://portal.azure.com/",
            "resource_manager": dead,
            "active_directory": dead,
            "aml_resource_id": "https://ml.azure.com/",
            "storage_endpoint": "localhost",
            "registry_discovery_endpoint": dead,
        },
        retry_total=0,
    )
    with pytest.raises(RegistryUnavailable) as failed:
        AzureRegistry(client=client)
    assert failed.value.message.startswith(
        "Azure ML workspace ws-gone (resource group rg-gone) is unreachable: "
    )
    assert "?" not in failed.value.message


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
