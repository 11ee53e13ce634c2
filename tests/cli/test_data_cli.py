"""``mlops data``: exit codes, exact output and step outputs, locally and
against the fake Azure ML service (signed in through fake GitHub OIDC and a
fake Entra ID, uploads in Azurite)."""

from __future__ import annotations

import json

import pytest

from tests.fakes.azureml.fixtures import azureml, azurite, tls_authority  # noqa: F401
from tests.fakes.entra import FakeEntra
from tests.fakes.github_oidc import FakeGitHubOidc


def test_data_assets_need_the_azure_backend(mlops, tmp_path):
    (tmp_path / "d.csv").write_text("a\n1\n")
    result = mlops("data", "register", str(tmp_path / "d.csv"), "--name", "d")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "error: data assets are an Azure ML feature: pass --backend azure (or set "
        "MLOPS_BACKEND=azure); local pipelines read files and folders directly\n"
    )


def test_a_missing_path_is_a_usage_error(mlops, tmp_path):
    result = mlops("--backend", "azure", "data", "register", str(tmp_path / "x"),
                   "--name", "d")  # fmt: skip
    assert result.code == 2
    assert "does not exist" in result.err


@pytest.fixture
def workspace(azureml, tls_authority, monkeypatch, tmp_path):  # noqa: F811
    """The CLI's environment pointing at the fake workspace, signing in with
    OIDC; GITHUB_OUTPUT collects the step outputs."""
    with FakeEntra(tls_authority) as entra, FakeGitHubOidc() as oidc:
        metadata = {**azureml.cloud_metadata, "active_directory": entra.url}
        for name, value in {
            **oidc.env(),
            "MLOPS_AZURE_CLOUD": f"{azureml.cloud_name}Cli",
            "MLOPS_AZURE_CLOUD_METADATA": json.dumps(metadata),
            "MLOPS_AZURE_AUTH": "oidc",
            "MLOPS_AZURE_CLIENT_ID": "00000000-0000-0000-0000-0000000000c1",
            "MLOPS_BACKEND": "azure",
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield azureml


def _outputs(path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return {
        line.split("<<")[0]: lines[i + 1]
        for i, line in enumerate(lines)
        if "<<" in line
    }


def test_register_twice_prints_one_version_and_sets_the_outputs(
    mlops, workspace, tmp_path
):
    from mlops_actions.data.versions import content_version

    data = tmp_path / "penguins"
    data.mkdir()
    (data / "rows.csv").write_text("a\n1\n")
    version = content_version(data)
    args = ("--backend", "azure", "data", "register", str(data), "--name", "penguins")
    first = mlops(*args)
    # (stderr holds azure-ai-ml's upload progress bar, unless MLClient is
    # built with show_progress=False)
    assert first.code == 0, first.err
    assert first.out == f"penguins:{version}\nazureml:penguins:{version}\n"
    assert _outputs(tmp_path / "output.txt") == {
        "name": "penguins",
        "version": version,
        "uri": f"azureml:penguins:{version}",
    }
    blobs = workspace.azurite.list(workspace.container)
    again = mlops(*args)
    assert (again.code, again.out) == (0, first.out)
    assert again.err == f"penguins:{version} exists: nothing uploaded\n"
    assert workspace.azurite.list(workspace.container) == blobs
    assert len(workspace.calls("PUT", r"/data/penguins/versions/")) == 1

    shown = mlops("data", "show", "azureml:penguins@latest", "--json")
    assert shown.code == 0, shown.err
    record = json.loads(shown.out)
    assert (record["version"], record["type"], record["datastore"]) == (
        version,
        "uri_folder",
        "workspaceblobstore",
    )
    listed = mlops("data", "list")
    header, row = listed.out.splitlines()
    assert header.split() == ["NAME", "VERSION", "TYPE", "CREATED"]
    assert row.split()[:2] == ["penguins", version]


def test_show_of_an_unknown_asset_exits_2(mlops, workspace):
    result = mlops("data", "show", "nothing:1")
    message = (
        "data asset nothing:1 does not exist in the workspace: register it with "
        "`mlops data register PATH --name NAME`, or see `mlops data list`"
    )
    assert result.code == 2
    assert (result.out, result.err) == (f"::error::{message}\n", f"error: {message}\n")


def test_the_project_configs_datastore_is_the_default(mlops, workspace, tmp_path):
    workspace.add_datastore("curated", container="curated-data")
    (tmp_path / "mlops.yaml").write_text("azure:\n  datastore: curated\n")
    (tmp_path / "rows.csv").write_text("a\n1\n")
    result = mlops("data", "register", "rows.csv", "--name", "rows", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["datastore"] == "curated"
    assert [b for b in workspace.azurite.list("curated-data") if b.endswith("rows.csv")]
    assert not [
        b for b in workspace.azurite.list(workspace.container) if b.endswith("rows.csv")
    ]
