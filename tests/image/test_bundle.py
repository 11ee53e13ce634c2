"""`mlops image bundle`: the build context's files, pins and record."""

from __future__ import annotations

import json
import re
from importlib import metadata

import pytest

from mlops_actions.digest import file_digest, tree_digest
from tests.image.conftest import FIXTURE_MODEL

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def bundled(mlops, bundle_argv, toolkit_wheel, tmp_path):
    out = tmp_path / "bundle"
    result = mlops(
        *bundle_argv,
        str(FIXTURE_MODEL),
        "--out",
        str(out),
        "--name",
        "penguins",
        "--version",
        "3",
        "--commit",
        SHA,
        "--source",
        "https://github.com/octo/penguins",
        "--mlops-wheel",
        str(toolkit_wheel),
    )
    assert result.code == 0, result.err
    return out, result


def test_bundle_writes_the_build_context(bundled, toolkit_wheel):
    out, result = bundled
    assert sorted(p.name for p in out.iterdir()) == [
        "Dockerfile",
        "bundle.json",
        "model",
        "requirements.txt",
        "slim.py",
        "wheels",
    ]
    assert [p.name for p in (out / "wheels").iterdir()] == [toolkit_wheel.name]
    copied = sorted(p.relative_to(out / "model") for p in (out / "model").rglob("*"))
    assert copied == sorted(
        p.relative_to(FIXTURE_MODEL) for p in FIXTURE_MODEL.rglob("*")
    )
    assert tree_digest(out / "model") == tree_digest(FIXTURE_MODEL)
    digest = tree_digest(FIXTURE_MODEL)
    lines = result.out.splitlines()
    assert lines[0] == f"bundled penguins version 3 (digest {digest[:12]}) in {out}"
    assert re.fullmatch(r"  \d+ pinned requirements, 1 wheel, [\d.]+ MB", lines[1])


def test_bundle_json_describes_model_and_every_file(bundled):
    out, _ = bundled
    record = json.loads((out / "bundle.json").read_text())
    assert record["schema"] == "mlops-actions/bundle"
    assert record["version"] == 1
    assert record["model"] == {
        "name": "penguins",
        "version": "3",
        "commit": SHA,
        "digest": tree_digest(FIXTURE_MODEL),
        "uri": str(FIXTURE_MODEL),
    }
    assert record["offline"] is False
    assert record["labels"]["org.opencontainers.image.source"] == (
        "https://github.com/octo/penguins"
    )
    on_disk = sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.name != "bundle.json"
    )
    assert [f["path"] for f in record["files"]] == on_disk
    for entry in record["files"]:
        path = out / entry["path"]
        assert entry["sha256"] == file_digest(path)
        assert entry["size"] == path.stat().st_size


def test_requirements_are_exact_pins_of_what_is_installed(bundled):
    out, _ = bundled
    lines = [
        line
        for line in (out / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    record = json.loads((out / "bundle.json").read_text())
    assert record["requirements"] == lines
    names = set()
    for line in lines:
        name, version = line.split("==")
        assert metadata.version(name) == version, line
        names.add(name.lower().replace("_", "-"))
    # the serve extra, uvicorn's [standard] extra, and the model's own
    # requirements (mlflow as mlflow-skinny, pandas)
    assert {
        "fastapi",
        "fastapi-offline",  # /docs' Swagger UI files
        "uvicorn",
        "uvloop",
        "httptools",
        "orjson",
        "prometheus-client",
        "mlflow-skinny",
        "pandas",
        "numpy",
        "click",
        "pydantic",
    } <= names
    assert "mlflow" not in names  # the full tracking server stays out
    assert "pytest" not in names  # the dev extra is not the scorer's
    assert "mlops-actions" not in names  # installed from its wheel


def test_model_files_readable_by_the_image_user(bundled):
    out, _ = bundled
    for path in (out / "model").rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode in ((0o755,) if path.is_dir() else (0o644, 0o755)), path


def test_rebundling_replaces_an_earlier_bundle(
    mlops, bundle_argv, bundled, toolkit_wheel
):
    out, _ = bundled
    (out / "stale.txt").write_text("from before")
    again = mlops(
        *bundle_argv,
        str(FIXTURE_MODEL),
        "--out",
        str(out),
        "--mlops-wheel",
        str(toolkit_wheel),
    )
    assert again.code == 0, again.err
    assert not (out / "stale.txt").exists()
    record = json.loads((out / "bundle.json").read_text())
    # no --name/--version: the folder's name and the digest's first 12
    assert record["model"]["name"] == "model"
    assert record["model"]["version"] == tree_digest(FIXTURE_MODEL)[:12]


def test_non_empty_folder_without_a_bundle_is_left_alone(
    mlops, bundle_argv, tmp_path, toolkit_wheel
):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = mlops(
        *bundle_argv,
        str(FIXTURE_MODEL),
        "--out",
        str(out),
        "--mlops-wheel",
        str(toolkit_wheel),
    )
    assert result.code == 2
    assert result.err == (
        f"error: --out {out} is not empty and holds no bundle.json: give a new or "
        "empty folder (an earlier bundle there is replaced)\n"
    )
    assert (out / "keep.txt").read_text() == "precious"


def test_not_an_mlflow_model(mlops, bundle_argv, tmp_path):
    (tmp_path / "notes").mkdir()
    result = mlops(*bundle_argv, str(tmp_path / "notes"), "--out", str(tmp_path / "b"))
    assert result.code == 2
    assert result.err == (
        f"error: model {tmp_path / 'notes'}: not an MLflow model folder (no MLmodel "
        "file)\n"
    )
    assert not (tmp_path / "b").exists()


def test_bad_version_is_a_usage_error(mlops, bundle_argv, tmp_path, toolkit_wheel):
    result = mlops(
        *bundle_argv,
        str(FIXTURE_MODEL),
        "--out",
        str(tmp_path / "b"),
        "--version",
        'v1"; rm -rf /',
        "--mlops-wheel",
        str(toolkit_wheel),
    )
    assert result.code == 2
    assert result.err.startswith("error: --version 'v1\"; rm -rf /': use letters")
    assert not (tmp_path / "b").exists()


def test_toolkit_without_serve_extra_is_refused(mlops, bundle_argv, tmp_path):
    from tests.image.conftest import write_wheel

    wheel = write_wheel(tmp_path / "old", ["click>=8.1"])
    result = mlops(
        *bundle_argv,
        str(FIXTURE_MODEL),
        "--out",
        str(tmp_path / "b"),
        "--mlops-wheel",
        str(wheel),
    )
    assert result.code == 2
    assert result.err == (
        "error: mlops_actions-0.1.0-py3-none-any.whl has no 'serve' extra: the "
        "scorer image needs an mlops-actions with the scorer in it\n"
    )


def test_registered_model_by_uri(
    mlops, bundle_argv, tmp_path, monkeypatch, toolkit_wheel
):
    """models:/NAME/VERSION and @champion: the registry's name, version, commit."""
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "state"))
    (tmp_path / "state").mkdir()
    monkeypatch.chdir(tmp_path)
    registered = mlops(
        "model",
        "register",
        "--name",
        "penguins",
        "--model-dir",
        str(FIXTURE_MODEL),
        "--commit",
        SHA,
        "--out",
        str(tmp_path / "model.json"),
    )
    assert registered.code == 0, registered.err
    for uri in ("models:/penguins/1", "models:/penguins@champion"):
        if uri.endswith("@champion"):
            promoted = mlops(
                "model", "promote", "penguins", "1", "--expect-champion", "none"
            )
            assert promoted.code == 0, promoted.err
        out = tmp_path / uri.replace(":/", "-").replace("/", "-").replace("@", "-")
        result = mlops(
            *bundle_argv, uri, "--out", str(out), "--mlops-wheel", str(toolkit_wheel)
        )
        assert result.code == 0, result.err
        record = json.loads((out / "bundle.json").read_text())
        assert record["model"]["name"] == "penguins"
        assert record["model"]["version"] == "1"
        assert record["model"]["commit"] == SHA
        assert record["model"]["digest"] == tree_digest(FIXTURE_MODEL)
        assert record["model"]["uri"] == "models:/penguins/1"
    missing = mlops(*bundle_argv, "models:/penguins/7", "--out", str(tmp_path / "x"))
    assert missing.code == 2
    assert "penguins has no version 7" in missing.err
