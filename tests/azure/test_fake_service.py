"""The fake Azure ML service, driven through the real azure-ai-ml MLClient."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.azureml import FakeAzureML


def test_workspace_get(ml_client: Any, azureml: FakeAzureML) -> None:
    ws = ml_client.workspaces.get(azureml.workspace)
    assert ws.name == azureml.workspace
    assert azureml.calls("GET", r"/workspaces/ws-mlops$")


def test_data_asset_from_folder_lands_in_azurite(
    ml_client: Any, azureml: FakeAzureML, tmp_path: Path
) -> None:
    from azure.ai.ml.entities import Data

    folder = tmp_path / "iris"
    folder.mkdir()
    (folder / "train.csv").write_text("a,b\n1,2\n")
    data = ml_client.data.create_or_update(
        Data(name="iris", version="1", path=str(folder), type="uri_folder")
    )
    assert data.version == "1"
    assert data.path.startswith("azureml://")
    got = ml_client.data.get("iris", version="1")
    assert got.type == "uri_folder"
    assert [d.name for d in ml_client.data.list()] == ["iris"]
    blobs = azureml.azurite.list(azureml.container)
    assert any(b.endswith("iris/train.csv") for b in blobs), blobs


def test_model_from_folder_latest_and_tag_update(
    ml_client: Any, azureml: FakeAzureML, tmp_path: Path
) -> None:
    from azure.ai.ml.entities import Model

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    for version in ("1", "2"):
        ml_client.models.create_or_update(
            Model(name="toy", version=version, path=str(folder), type="mlflow_model")
        )
    latest = ml_client.models.get("toy", label="latest")
    assert latest.version == "2"
    assert latest.type == "mlflow_model"
    listed = azureml.calls("GET", r"/models/toy/versions$")[-1]["query"]
    assert listed["$orderBy"].lower() == "createdtime desc" and listed["$top"] == "1"
    assert [m.version for m in ml_client.models.list("toy")] == ["2", "1"]
    latest.tags["champion"] = "true"
    ml_client.models.create_or_update(latest)
    assert ml_client.models.get("toy", version="2").tags == {"champion": "true"}


def test_changing_an_immutable_version_is_a_conflict(
    ml_client: Any, azureml: FakeAzureML
) -> None:
    import pytest
    from azure.ai.ml.entities import Environment
    from azure.core.exceptions import HttpResponseError

    env = Environment(name="train", version="abc", image="python:3.11-slim")
    ml_client.environments.create_or_update(env)
    ml_client.environments.create_or_update(env)  # same body: fine
    assert [
        c["body"]["properties"]["image"]
        for c in azureml.calls("PUT", r"/environments/train/versions/abc$")
    ] == ["python:3.11-slim"] * 2
    with pytest.raises(HttpResponseError) as err:
        ml_client.environments.create_or_update(
            Environment(name="train", version="abc", image="python:3.12-slim")
        )
    assert err.value.status_code == 409


def test_model_from_job_output(ml_client: Any, azureml: FakeAzureML) -> None:
    from azure.ai.ml.entities import Model

    model = ml_client.models.create_or_update(
        Model(
            name="champ",
            version="1",
            path="azureml://jobs/job-1/outputs/model",
            type="mlflow_model",
        )
    )
    assert model.path == "azureml://jobs/job-1/outputs/model"
    put = azureml.calls("PUT", r"/models/champ/versions/1$")[0]["body"]
    assert put["properties"]["modelUri"] == "azureml://jobs/job-1/outputs/model"


def test_compute_get_unknown_and_create(ml_client: Any, azureml: FakeAzureML) -> None:
    import pytest
    from azure.ai.ml.entities import AmlCompute
    from azure.core.exceptions import ResourceNotFoundError

    cpu = ml_client.compute.get("cpu-cluster")
    assert (cpu.size, cpu.min_instances, cpu.max_instances) == ("STANDARD_DS3_V2", 0, 4)
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("nope")
    created = ml_client.compute.begin_create_or_update(
        AmlCompute(
            name="gpu2",
            size="Standard_NC6s_v3",
            min_instances=0,
            max_instances=2,
            idle_time_before_scale_down=300,
            tier="low_priority",
        )
    ).result()
    assert created.name == "gpu2"
    got = ml_client.compute.get("gpu2")
    assert (got.size, got.max_instances, got.idle_time_before_scale_down) == (
        "Standard_NC6s_v3",
        2,
        300,
    )
    assert got.tier == "low_priority"


def _submit(ml_client: Any, toy_pipeline: Path, name: str = "toy-run-1") -> Any:
    from azure.ai.ml import load_job

    job = load_job(toy_pipeline)
    job.name = name
    return ml_client.jobs.create_or_update(job)


def test_pipeline_submission_makes_the_documented_requests(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path
) -> None:
    submitted = _submit(ml_client, toy_pipeline)
    assert submitted.status == "NotStarted"
    assert submitted.studio_url.startswith("https://ml.azure.com/runs/toy-run-1?wsid=")
    sequence = [
        (r["method"], r["path"].split("/workspaces/ws-mlops")[-1])
        for r in azureml.requests
    ]
    kinds = [f"{m} {p.split('/')[1] if p.count('/') else p}" for m, p in sequence]
    # the workspace first; the pipeline's default_compute is not looked up
    assert kinds[0] == "GET " and "GET computes" not in kinds
    assert kinds.index("GET codes") < kinds.index("POST codes")
    assert kinds.index("POST codes") < kinds.index("PUT codes")
    assert kinds.index("PUT codes") < kinds.index("PUT components")
    assert kinds[-1] == "PUT jobs"
    hashes = azureml.calls("GET", r"/codes/[^/]+/versions$")
    assert hashes and "hash" in hashes[0]["query"]
    code = azureml.calls("PUT", r"/codes/[^/]+/versions/[^/]+$")[0]["body"]
    assert any(
        b.endswith("produce.py") for b in _code_blobs(azureml, code)
    ), "the component's code was uploaded to Azurite"
    body = azureml.calls("PUT", r"/jobs/toy-run-1$")[0]["body"]["properties"]
    assert body["jobType"] == "Pipeline" and set(body["jobs"]) == {"produce", "consume"}
    # resubmitting the same name answers the existing job
    again = _submit(ml_client, toy_pipeline)
    assert again.name == "toy-run-1" and len(azureml.calls("PUT", r"/jobs/")) == 2
    assert len(azureml.jobs.jobs) == 3  # one pipeline, two children


def _code_blobs(azureml: FakeAzureML, code: dict[str, Any]) -> list[str]:
    uri = code["properties"]["codeUri"]
    container = uri.split(f"/{'devstoreaccount1'}/")[-1].split("/")[0]
    return azureml.azurite.list(container)


def test_status_follows_the_script(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path
) -> None:
    azureml.script("toy-run-1", statuses=["Queued", "Running", "Completed"])
    _submit(ml_client, toy_pipeline)
    seen = [ml_client.jobs.get("toy-run-1").status for _ in range(4)]
    assert seen == ["Queued", "Running", "Completed", "Completed"]
    children = list(ml_client.jobs.list(parent_job_name="toy-run-1"))
    assert sorted(c.display_name for c in children) == ["consume", "produce"]
    assert {c.status for c in children} == {"Completed"}


def test_stream_prints_the_scripted_logs_and_returns(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path, capsys: Any
) -> None:
    azureml.script(
        None, statuses=["Running", "Running", "Completed"], logs=["line 1", "line 2"]
    )
    _submit(ml_client, toy_pipeline)
    ml_client.jobs.stream("toy-run-1")
    out = capsys.readouterr().out
    assert "Streaming user_logs/std_log.txt" in out
    assert out.index("line 1") < out.index("line 2") < out.index("Execution Summary")
    assert azureml.calls("GET", r"/history/v1.0/.*/runs/toy-run-1/details$")
    assert azureml.calls("GET", r"^/discovery$")


def test_failed_job_names_the_step(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path
) -> None:
    import pytest
    from azure.ai.ml.exceptions import JobException

    azureml.script(
        "toy-run-1",
        statuses=["Running", "Failed"],
        error={"message": "boom: exit 3", "step": "consume"},
    )
    _submit(ml_client, toy_pipeline)
    with pytest.raises(JobException) as err:
        ml_client.jobs.stream("toy-run-1")
    assert "Failed nodes: /consume" in str(err.value)
    children = {
        c.display_name: c.status
        for c in ml_client.jobs.list(parent_job_name="toy-run-1")
    }
    assert children == {"produce": "Completed", "consume": "Failed"}


def test_cancel(ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path) -> None:
    azureml.stuck("toy-run-1")
    _submit(ml_client, toy_pipeline)
    assert ml_client.jobs.get("toy-run-1").status == "Running"
    ml_client.jobs.begin_cancel("toy-run-1").result()
    assert azureml.job("toy-run-1").status == "CancelRequested"
    assert ml_client.jobs.get("toy-run-1").status == "Canceled"
    ml_client.jobs.begin_cancel("toy-run-1").result()  # terminal: stays
    assert ml_client.jobs.get("toy-run-1").status == "Canceled"


def test_download_output(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path, tmp_path: Path
) -> None:
    azureml.script(
        "toy-run-1",
        statuses=["Completed"],
        outputs={"result": {"metrics.json": b'{"f1": 0.9}', "sub/p.csv": b"y\n1\n"}},
    )
    _submit(ml_client, toy_pipeline)
    assert ml_client.jobs.get("toy-run-1").status == "Completed"
    ml_client.jobs.download("toy-run-1", download_path=tmp_path, output_name="result")
    out = tmp_path / "named-outputs" / "result"
    assert (out / "metrics.json").read_bytes() == b'{"f1": 0.9}'
    assert (out / "sub" / "p.csv").read_bytes() == b"y\n1\n"


def test_503_then_success_is_retried(ml_client: Any, azureml: FakeAzureML) -> None:
    azureml.fail("GET", r"/computes/cpu-cluster$", 503, times=1)
    assert ml_client.compute.get("cpu-cluster").name == "cpu-cluster"
    assert len(azureml.calls("GET", r"/computes/cpu-cluster$")) == 2


def test_failed_environment_build_fails_the_node_with_its_log(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path
) -> None:
    import pytest
    from azure.ai.ml.exceptions import JobException

    log = "https://example.invalid/build.log"
    azureml.environment_build("AzureML-sklearn-1.5", "1", state="Failed", log_url=log)
    _submit(ml_client, toy_pipeline)
    with pytest.raises(JobException):
        ml_client.jobs.stream("toy-run-1")
    produce = next(c for c in azureml.jobs.jobs.values() if c.node == "produce")
    run = ml_client.jobs._runs_operations.get_run_details(produce.name)
    assert run.status == "Failed"
    assert f"check the image build log: {log}" in run.error.error.message
    assert run.log_files["azureml-logs/20_image_build_log.txt"] == log


def test_executor_runs_the_toy_pipeline(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path, tmp_path: Path
) -> None:
    azureml.execute = True
    _submit(ml_client, toy_pipeline)
    azureml.jobs.executor.join(60)
    assert ml_client.jobs.get("toy-run-1").status == "Completed"
    children = {
        c.display_name: c.status
        for c in ml_client.jobs.list(parent_job_name="toy-run-1")
    }
    assert children == {"produce": "Completed", "consume": "Completed"}
    ml_client.jobs.download("toy-run-1", download_path=tmp_path, output_name="result")
    metrics = (tmp_path / "named-outputs" / "result" / "metrics.json").read_text()
    assert '"lines": 3' in metrics
    log = azureml.azurite.read(azureml.container, azureml.job("toy-run-1").log_path)
    assert b"wrote 3 lines" in log and b"counted 3 lines" in log


def test_executor_failure_names_the_node(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path
) -> None:
    import pytest
    from azure.ai.ml import load_job
    from azure.ai.ml.exceptions import JobException

    azureml.execute = True
    job = load_job(toy_pipeline)
    job.name = "toy-fails"
    job.inputs.fail_with = 1
    ml_client.jobs.create_or_update(job)
    azureml.jobs.executor.join(60)
    with pytest.raises(JobException) as err:
        ml_client.jobs.stream("toy-fails")
    assert "Failed nodes: /consume" in str(err.value)
    consume = next(c for c in azureml.jobs.jobs.values() if c.node == "consume")
    error = azureml.jobs.error_of(consume)["error"]["message"]
    assert error.startswith(
        "Execution failed. User process 'bash' exited with status code 1."
    )
    assert "consume broke on purpose" in error


def test_executor_cancel_stops_the_running_node(
    ml_client: Any,
    azureml: FakeAzureML,
    toy_pipeline: Path,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    import time

    from azure.ai.ml import load_job

    signal_file = tmp_path / "signal"
    monkeypatch.setenv("TOY_SIGNAL_FILE", str(signal_file))
    azureml.execute = True
    job = load_job(toy_pipeline)
    job.name = "toy-waits"
    job.inputs.fail_with = 99  # consume prints "waiting", then waits for a signal
    ml_client.jobs.create_or_update(job)
    consume = next(c for c in azureml.jobs.jobs.values() if c.node == "consume")
    deadline = time.monotonic() + 30
    while b"waiting" not in _log(azureml, consume) and time.monotonic() < deadline:
        time.sleep(0.1)
    ml_client.jobs.begin_cancel("toy-waits").result()
    azureml.jobs.executor.join(30)
    assert ml_client.jobs.get("toy-waits").status == "Canceled"
    assert consume.status == "Canceled"
    assert signal_file.read_text() == "SIGTERM"


def _log(azureml: FakeAzureML, job: Any) -> bytes:
    if job.log_path not in azureml.azurite.list(azureml.container, job.log_path):
        return b""
    return azureml.azurite.read(azureml.container, job.log_path)


def test_broken_stream_keeps_job_status(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path
) -> None:
    import pytest
    from azure.core.exceptions import HttpResponseError

    azureml.break_stream("toy-run-1")
    _submit(ml_client, toy_pipeline)
    with pytest.raises(HttpResponseError) as err:
        ml_client.jobs.stream("toy-run-1")
    assert err.value.status_code == 500
    assert [ml_client.jobs.get("toy-run-1").status for _ in range(3)][-1] == (
        "Completed"
    )


def test_429_with_retry_after_is_honoured(ml_client: Any, azureml: FakeAzureML) -> None:
    import time

    azureml.fail(
        "GET", r"/models/m/versions$", 429, times=1, headers={"Retry-After": "1"}
    )
    started = time.monotonic()
    assert list(ml_client.models.list("m")) == []
    assert time.monotonic() - started >= 1
    assert len(azureml.calls("GET", r"/models/m/versions$")) == 2


def test_versions_page_with_next_link(ml_client: Any, azureml: FakeAzureML) -> None:
    for version in range(1, 26):
        azureml.assets.add_version(
            "data",
            "big",
            str(version),
            {"dataUri": "https://x/y", "dataType": "uri_file"},
        )
    versions = [d.version for d in ml_client.data.list("big")]
    assert versions == [str(v) for v in range(25, 0, -1)]
    pages = azureml.calls("GET", r"/data/big/versions$")
    assert len(pages) == 2 and pages[1]["query"]["$skip"] == "20"
    assert ml_client.data.get("big", label="latest").version == "25"


def test_extra_datastores(ml_client: Any, azureml: FakeAzureML) -> None:
    azureml.add_datastore("lake", type="AzureDataLakeGen2")
    lake = ml_client.datastores.get("lake")
    assert (lake.type, lake.account_name, lake.filesystem) == (
        "AzureDataLakeGen2",
        "devstoreaccount1",
        "ds-lake",
    )
    assert ml_client.datastores.get_default().name == "workspaceblobstore"
    assert sorted(d.name for d in ml_client.datastores.list()) == [
        "lake",
        "workspaceblobstore",
    ]


def test_jobs_list_and_unknown_job(
    ml_client: Any, azureml: FakeAzureML, toy_pipeline: Path
) -> None:
    import pytest
    from azure.core.exceptions import ResourceNotFoundError

    _submit(ml_client, toy_pipeline, "run-a")
    _submit(ml_client, toy_pipeline, "run-b")
    assert [j.name for j in ml_client.jobs.list()] == ["run-b", "run-a"]
    with pytest.raises(ResourceNotFoundError):
        ml_client.jobs.get("nope")
