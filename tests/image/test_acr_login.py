"""ACR login with the Azure CLI session: token on stdin, masked, never in argv."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mlops_actions.errors import BackendError, UsageError
from mlops_actions.errors import ToolMissing
from mlops_actions.image.reference import Reference
from mlops_actions.image.login import TOKEN_USER, acr_login

TOKEN = "eyJ0eXAi.fake-acr-token"


def fake(path: Path, script: str) -> Path:
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def tools(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record"
    answer = json.dumps({"accessToken": TOKEN, "loginServer": "myacr.azurecr.io"})
    fake(bin_dir / "az", f"echo \"az $*\" >> {record}\necho '{answer}'\n")
    builder = fake(
        bin_dir / "buildah",
        f'echo "buildah $*" >> {record}\necho "stdin $(cat)" >> {record}\n',
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return builder, record


def test_token_goes_on_stdin_and_is_masked(tools, capsys, monkeypatch):
    builder, record = tools
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    ref = Reference.parse("myacr.azurecr.io/scorer:3")
    assert acr_login("myacr", ref, str(builder)) == "myacr.azurecr.io"
    assert record.read_text().splitlines() == [
        "az acr login --name myacr --expose-token --output json",
        f"buildah login --username {TOKEN_USER} --password-stdin myacr.azurecr.io",
        f"stdin {TOKEN}",
    ]
    assert capsys.readouterr().out == f"::add-mask::{TOKEN}\n"


def test_tag_must_name_the_registry(tools):
    builder, _ = tools
    with pytest.raises(UsageError, match="push to myacr.azurecr.io/NAME:TAG"):
        acr_login("myacr", Reference.parse("other.azurecr.io/scorer:3"), str(builder))


def test_missing_az_is_exit_4(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="needs the Azure CLI"):
        acr_login("myacr", Reference.parse("myacr.azurecr.io/s:1"), "buildah")


def test_az_without_session_is_a_backend_error(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake(bin_dir / "az", "echo \"ERROR: Please run 'az login'\" >&2\nexit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with pytest.raises(BackendError) as caught:
        acr_login("myacr", Reference.parse("myacr.azurecr.io/s:1"), "buildah")
    assert caught.value.message == (
        "az acr login --name myacr failed: ERROR: Please run 'az login'"
    )
