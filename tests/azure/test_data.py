"""Data assets: content versions (pure) and register/list/show against the fake
Azure ML service, with uploads landing in Azurite."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_actions.data.azure import parse_reference
from mlops_actions.data.versions import content_version
from mlops_actions.errors import UsageError


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_same_bytes_same_version_wherever_they_live(tmp_path):
    files = {"train.csv": b"a,b\n1,2\n", "sub/test.csv": b"a,b\n3,4\n"}
    one = _tree(tmp_path / "one", files)
    two = _tree(tmp_path / "two", dict(reversed(files.items())))
    assert content_version(one) == content_version(two)
    assert len(content_version(one)) == 16


@pytest.mark.parametrize(
    "change",
    [
        {"train.csv": b"a,b\n1,3\n"},  # one byte
        {"extra.txt": b""},  # an empty file added
        {".gitignore": b"*.csv\n"},  # ignore files are content too
        {"__pycache__/x.pyc": b"\0"},  # nothing skipped
    ],
)
def test_any_change_to_what_is_uploaded_is_a_new_version(tmp_path, change):
    base = {"train.csv": b"a,b\n1,2\n"}
    before = content_version(_tree(tmp_path / "a", base))
    assert content_version(_tree(tmp_path / "b", {**base, **change})) != before


def test_a_renamed_file_is_a_new_version(tmp_path):
    a = _tree(tmp_path / "a", {"x.csv": b"1"})
    b = _tree(tmp_path / "b", {"y.csv": b"1"})
    assert content_version(a) != content_version(b)


def test_a_file_and_a_folder_holding_it_differ(tmp_path):
    folder = _tree(tmp_path / "d", {"x.csv": b"1"})
    assert content_version(folder / "x.csv") != content_version(folder)


def test_missing_path_and_empty_folder_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file or folder"):
        content_version(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="the folder is empty"):
        content_version(tmp_path / "empty")


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("azureml:penguins@latest", ("penguins", None)),
        ("azureml:penguins:3f2a", ("penguins", "3f2a")),
        ("penguins", ("penguins", None)),
        ("penguins:1", ("penguins", "1")),
    ],
)
def test_references_parse(ref, expected):
    assert parse_reference(ref) == expected


@pytest.mark.parametrize(
    "ref, message",
    [
        ("azureml://datastores/x/paths/y", "a URI, not a data asset"),
        ("azureml:penguins@stable", "only @latest"),
        ("azureml:-bad", "NAME, NAME:VERSION or NAME@latest"),
    ],
)
def test_bad_references_say_what_to_write(ref, message):
    with pytest.raises(UsageError, match=message):
        parse_reference(ref)


# -- against the fake Azure ML service, uploads in Azurite --------------------
def _blobs(azureml, container: str | None = None) -> list[str]:
    return azureml.azurite.list(container or azureml.container)


def test_registering_the_same_data_twice_is_one_version_and_one_upload(
    azureml, ml_client, tmp_path
):
    from mlops_actions.data.azure import register_data

    folder = _tree(tmp_path / "penguins", {"a.csv": b"x\n1\n", "b/c.csv": b"y\n2\n"})
    first = register_data(ml_client, folder, "penguins")
    version = content_version(folder)
    assert (first.uploaded, first.asset.version) == (True, version)
    assert first.asset.type == "uri_folder"
    assert first.asset.datastore == "workspaceblobstore"
    landed = _blobs(azureml)
    assert sorted(b.rsplit("/", 2)[-2] + "/" + b.rsplit("/", 1)[-1] for b in landed
                  if b.endswith(".csv")) == ["b/c.csv", "penguins/a.csv"]  # fmt: skip
    puts = len(azureml.calls("PUT", r"/data/penguins/versions/"))

    again = register_data(ml_client, _tree(tmp_path / "copy", {
        "b/c.csv": b"y\n2\n", "a.csv": b"x\n1\n"}), "penguins")  # fmt: skip
    assert (again.uploaded, again.asset.version) == (False, version)
    assert _blobs(azureml) == landed
    assert len(azureml.calls("PUT", r"/data/penguins/versions/")) == puts == 1
    assert not azureml.calls("POST", r"/datastores/.*/listSecrets$")[1:]


def test_latest_resolves_to_the_newest_version(azureml, ml_client, tmp_path):
    from mlops_actions.data.azure import list_data, resolve_data_input, show_data

    old = register_data_file(ml_client, tmp_path / "v1.csv", b"a\n1\n")
    new = register_data_file(ml_client, tmp_path / "v2.csv", b"a\n2\n")
    assert old != new
    assert resolve_data_input(ml_client, "azureml:sample@latest") == ("sample", new)
    assert resolve_data_input(ml_client, f"azureml:sample:{old}") == ("sample", old)
    shown = show_data(ml_client, "sample")
    assert (shown.version, shown.type) == (new, "uri_file")
    assert shown.uri.endswith("/v2.csv")
    assert [a.version for a in list_data(ml_client, "sample")] == [new, old]
    assert [(a.name, a.version) for a in list_data(ml_client)] == [("sample", new)]


def register_data_file(client, path: Path, data: bytes) -> str:
    from mlops_actions.data.azure import register_data

    path.write_bytes(data)
    return register_data(client, path, "sample").asset.version


def test_a_version_that_does_not_exist_says_how_to_find_one(azureml, ml_client):
    from mlops_actions.data.azure import resolve_data_input

    with pytest.raises(UsageError, match=r"data asset sample:0 does not exist"):
        resolve_data_input(ml_client, "azureml:sample:0")
    with pytest.raises(UsageError, match=r"add a version \(azureml:sample:V\)"):
        resolve_data_input(ml_client, "azureml:sample")


def test_an_unknown_datastore_is_named(azureml, ml_client, tmp_path):
    from mlops_actions.data.azure import register_data

    (tmp_path / "x.csv").write_bytes(b"1")
    with pytest.raises(UsageError, match="--datastore nope: no such datastore"):
        register_data(ml_client, tmp_path / "x.csv", "x", datastore="nope")
    assert not azureml.calls("PUT", r"/data/")


def test_a_named_adls_gen2_datastore_is_the_one_written_to(
    azureml, ml_client, tmp_path
):
    from mlops_actions.data.azure import register_data
    from mlops_actions.errors import BackendError

    azureml.add_datastore("lake", type="AzureDataLakeGen2", container="lakefs")
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a\n1\n")
    # Azurite serves no ADLS Gen2 (dfs) API, so the upload azure-ai-ml sends to
    # https://devstoreaccount1.dfs.localhost:PORT/lakefs is refused there: what
    # is shown is that the named datastore, not the default, is the one used,
    # and that the refusal is one line naming the asset.
    with pytest.raises(BackendError) as failed:
        register_data(ml_client, path, "rows", datastore="lake")
    assert failed.value.message == (
        f"uploading rows:{content_version(path)} to datastore lake: storage "
        "answered 403: This request is not authorized to perform this operation "
        "using this permission.: the identity needs the Storage Blob Data "
        "Contributor role on the datastore's storage account"
    )
    assert "\n" not in failed.value.message
    assert azureml.calls("GET", r"/datastores/lake$")
    assert azureml.calls("POST", r"/datastores/lake/listSecrets$")
    assert not azureml.calls("POST", r"/datastores/workspaceblobstore/listSecrets$")
    assert not [b for b in _blobs(azureml) if b.endswith("rows.csv")]
    assert not azureml.calls("PUT", r"/data/rows/")


def test_a_service_error_is_one_line_naming_the_asset(azureml, ml_client, tmp_path):
    from mlops_actions.data.azure import register_data
    from mlops_actions.errors import BackendError

    (tmp_path / "x.csv").write_bytes(b"1")
    azureml.fail("PUT", r"/data/x/versions/", 400)
    with pytest.raises(BackendError) as failed:
        register_data(ml_client, tmp_path / "x.csv", "x")
    assert failed.value.message == (
        f"Azure ML answered 400 Bad Request to PUT data/x/versions/"
        f"{content_version(tmp_path / 'x.csv')}: The request failed (Injected)."
    )


def test_a_type_that_does_not_fit_the_path_is_refused_before_any_call(tmp_path):
    from mlops_actions.data.azure import register_data

    folder = _tree(tmp_path / "d", {"x.csv": b"1"})
    with pytest.raises(UsageError, match="is a folder: --type uri_file does not"):
        register_data(None, folder, "d", type="uri_file")
    with pytest.raises(UsageError, match="--name 'bad name': use letters"):
        register_data(None, folder, "bad name")
