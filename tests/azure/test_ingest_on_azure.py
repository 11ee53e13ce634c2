"""The reference ingest step reads a data asset on Azure ML: ``mlops data
register`` makes the version, ``pipeline submit --set source=azureml:N@latest``
pins it, and the step, run by the fake service's executor with the workspace
variables a job gets, reads ``azureml:N:V`` with (a stand-in for)
azureml-fsspec. The stand-in reads the asset's bytes from a local folder, not
from Azurite: see ``tests/fakes/azureml_fsspec_site``."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INGEST = ROOT / "pipelines" / "components" / "ingest" / "component.yml"
SITE = ROOT / "tests" / "fakes" / "azureml_fsspec_site"
PIPELINE = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: ingest-only
experiment_name: ingest-only
settings:
  default_compute: azureml:cpu-cluster
inputs:
  source: sample:penguins
outputs:
  snapshot:
    type: uri_folder
jobs:
  ingest:
    type: command
    component: {INGEST.as_posix()}
    inputs:
      source: ${{{{parent.inputs.source}}}}
    outputs:
      snapshot: ${{{{parent.outputs.snapshot}}}}
"""


def test_the_ingest_step_reads_the_pinned_data_asset_on_azure(
    mlops, azureml, signed_in, tmp_path, monkeypatch
):
    from mlops_actions.data.versions import content_version

    monkeypatch.chdir(tmp_path)
    rows = "bill,label\n1.5,no\n2.5,yes\n3.5,no\n"
    (tmp_path / "penguins.csv").write_text(rows)
    version = content_version(tmp_path / "penguins.csv")
    registered = mlops(
        "--backend", "azure", "data", "register", "penguins.csv", "--name", "penguins"
    )
    assert registered.code == 0, registered.err
    store = tmp_path / "storage"
    where = store / azureml.subscription_id / azureml.resource_group
    asset = where / azureml.workspace / "data" / "penguins" / version
    asset.mkdir(parents=True)
    (asset / "penguins.csv").write_text(rows)
    monkeypatch.setenv("PYTHONPATH", str(SITE))
    monkeypatch.setenv("MLOPS_TEST_AZUREML_STORE", str(store))
    (tmp_path / "pipeline.yml").write_text(PIPELINE)
    azureml.execute = True

    result = mlops(
        "--backend",
        "azure",
        "pipeline",
        "submit",
        "pipeline.yml",
        "--set",
        "source=azureml:penguins@latest",
    )

    assert result.code == 0, result.err
    job = result.out.splitlines()[0].removeprefix("job ")
    [put] = azureml.calls("PUT", rf"/jobs/{job}$")
    pinned = f"azureml:penguins:{version}"
    assert put["body"]["properties"]["inputs"]["source"]["value"] == pinned
    assert f"read 3 rows x 2 columns from {pinned}" in result.err
    snapshot = tmp_path / ".mlops" / "runs" / job / "outputs" / "snapshot"
    manifest = json.loads((snapshot / "manifest.json").read_text())
    assert (manifest["source"], manifest["rows"]) == (pinned, 3)
    record = json.loads((tmp_path / ".mlops" / "runs" / job / "run.json").read_text())
    assert record["data"] == {"source": f"penguins:{version}"}
