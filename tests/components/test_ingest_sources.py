"""Ingest's folder and Azure ML sources, run as the step runs: a subprocess.

``azureml://`` URIs and data asset references are read with azureml-fsspec on
Azure; here the stand-in in ``tests/fakes/azureml_fsspec_site`` answers them
from a local folder with the real package's URI rules (see its docstring).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
INGEST = ROOT / "pipelines" / "components" / "ingest" / "ingest.py"
SITE = ROOT / "tests" / "fakes" / "azureml_fsspec_site"
WORKSPACE = ("sub-1", "rg-ml", "ws-ml")
IN_A_JOB = dict(
    zip(
        ("AZUREML_ARM_SUBSCRIPTION", "AZUREML_ARM_RESOURCEGROUP"),
        WORKSPACE[:2],
    ),
    AZUREML_ARM_WORKSPACE_NAME=WORKSPACE[2],
)


def ingest(
    source: str, out: Path, *, store: Path | None = None, **env: str
) -> subprocess.CompletedProcess:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "MLOPS_"))
    }
    environ.pop("PYTHONPATH", None)
    if store is not None:
        environ.update(PYTHONPATH=str(SITE), MLOPS_TEST_AZUREML_STORE=str(store))
    environ.update(env)
    return subprocess.run(
        [sys.executable, str(INGEST), "--source", source, "--snapshot", str(out)],
        cwd=out.parent,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def snapshot(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "data.parquet")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Storage: a uri_folder asset in parts, a datastore holding one parquet."""
    root = tmp_path / "storage" / Path(*WORKSPACE)
    asset = root / "data" / "penguins" / "3"
    (asset / "part").mkdir(parents=True)
    (asset / "part" / "b.csv").write_text("bill,label\n3.5,yes\n")
    (asset / "a.csv").write_text("bill,label\n1.5,no\n2.5,yes\n")
    (asset / "_SUCCESS").write_text("")
    (asset / ".a.csv.crc").write_text("x")
    raw = root / "datastores" / "workspaceblobstore" / "raw"
    raw.mkdir(parents=True)
    pd.DataFrame({"x": [1, 2, 3, 4], "label": list("abab")}).to_parquet(
        raw / "table.parquet"
    )
    return tmp_path / "storage"


def test_a_pinned_data_asset_is_read_as_its_folders_rows(store, tmp_path):
    result = ingest("azureml:penguins:3", tmp_path / "snap", store=store, **IN_A_JOB)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "read 3 rows x 2 columns from azureml:penguins:3"
    )
    # name order: a.csv, then part/b.csv; the markers are not data
    assert snapshot(tmp_path / "snap")["bill"].tolist() == [1.5, 2.5, 3.5]
    assert manifest(tmp_path / "snap")["source"] == "azureml:penguins:3"


@pytest.mark.parametrize(
    "uri",
    [
        "azureml://datastores/workspaceblobstore/paths/raw/table.parquet",
        "azureml://subscriptions/sub-1/resourcegroups/rg-ml/workspaces/ws-ml"
        "/datastores/workspaceblobstore/paths/raw/table.parquet",
        "azureml://subscriptions/sub-1/resourcegroups/rg-ml/providers"
        "/Microsoft.MachineLearningServices/workspaces/ws-ml"
        "/datastores/workspaceblobstore/paths/raw",
    ],
    ids=["short", "long", "long-folder"],
)
def test_datastore_uris_short_and_long_are_read(store, tmp_path, uri):
    result = ingest(uri, tmp_path / "snap", store=store, **IN_A_JOB)

    assert result.returncode == 0, result.stderr
    assert manifest(tmp_path / "snap")["rows"] == 4
    assert snapshot(tmp_path / "snap")["label"].tolist() == list("abab")


def test_a_long_form_uri_needs_no_job_context(store, tmp_path):
    uri = (
        "azureml://subscriptions/sub-1/resourcegroups/rg-ml/workspaces/ws-ml"
        "/data/penguins/versions/3"
    )
    result = ingest(uri, tmp_path / "snap", store=store)

    assert result.returncode == 0, result.stderr
    assert manifest(tmp_path / "snap")["rows"] == 3


def test_a_short_uri_outside_a_job_says_to_give_the_long_form(store, tmp_path):
    result = ingest("azureml:penguins:3", tmp_path / "snap", store=store)

    assert result.returncode == 2
    assert result.stderr == (
        "error: source 'azureml:penguins:3' could not be opened: workspace "
        "context is missing: give the long form of the URI\n"
    )
    assert not (tmp_path / "snap").exists()


def test_a_missing_datastore_path_is_named(store, tmp_path):
    uri = "azureml://datastores/workspaceblobstore/paths/raw/nope.csv"
    result = ingest(uri, tmp_path / "snap", store=store, **IN_A_JOB)

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: source '{uri}' not found: pass ")
    assert not (tmp_path / "snap").exists()


def test_a_label_is_refused_with_the_pinned_form_to_use(store, tmp_path):
    result = ingest("azureml:penguins@latest", tmp_path / "snap", store=store)

    assert result.returncode == 2
    assert result.stderr == (
        "error: source 'azureml:penguins@latest' names a label, which this step "
        "cannot resolve: pass azureml:penguins:VERSION (mlops pipeline submit "
        "pins @latest to the current version for you)\n"
    )


def test_without_azureml_fsspec_the_error_names_the_ingest_environment(tmp_path):
    result = ingest("azureml://datastores/ds/paths/t.csv", tmp_path / "snap")

    assert result.returncode == 2
    assert result.stderr == (
        "error: source 'azureml://datastores/ds/paths/t.csv' is read with "
        "azureml-fsspec, which this step's environment (environments/ingest) "
        "installs: run the pipeline on Azure ML (--backend azure) or with "
        "--env venv, or pass a local path\n"
    )


def test_a_local_folder_is_read_as_its_parts_in_name_order(tmp_path):
    folder = tmp_path / "table"
    folder.mkdir()
    for name, rows in (("02.jsonl", [{"v": 3}]), ("01.jsonl", [{"v": 1}, {"v": 2}])):
        pd.DataFrame(rows).to_json(folder / name, orient="records", lines=True)
    (folder / "_SUCCESS").write_text("")

    result = ingest(str(folder), tmp_path / "snap")

    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path / "snap")["v"].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"a.csv": "v\n1\n", "b.parquet": None},
            "mixes .csv and .parquet files: keep one format in the folder",
        ),
        (
            {"notes.txt": "hello", "_SUCCESS": ""},
            "is a folder with no table files: put files ending in "
            ".csv, .parquet, .json, .jsonl in it",
        ),
    ],
    ids=["mixed", "empty"],
)
def test_a_folder_that_is_not_one_table_is_refused(tmp_path, files, message):
    folder = tmp_path / "table"
    folder.mkdir()
    for name, text in files.items():
        if text is None:
            pd.DataFrame({"v": [1]}).to_parquet(folder / name)
        else:
            (folder / name).write_text(text)

    result = ingest(str(folder), tmp_path / "snap")

    assert result.returncode == 2
    assert result.stderr == f"error: source '{folder}' {message}\n"
    assert not (tmp_path / "snap").exists()
