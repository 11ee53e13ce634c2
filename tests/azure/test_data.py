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
