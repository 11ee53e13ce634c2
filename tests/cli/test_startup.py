"""`mlops --help` stays light: no SDK is imported before a command needs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "azure", "mlflow", "torch", "pandas", "numpy", "sklearn", "yaml",
    "fastapi", "uvicorn", "starlette", "orjson",
)  # fmt: skip

PROBE = """
import json, sys
from mlops_actions.cli import main
try:
    main({argv!r})
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["pipeline", "--help"],
        ["pipeline", "run", "--help"],
        ["model", "--help"],
        ["model", "register", "--help"],
        ["gate", "--help"],
        ["scorer", "--help"],
        ["scorer", "serve", "--help"],
        ["image", "build", "--help"],
        ["deploy", "--help"],
        ["release", "--help"],
    ],
)
def test_help_imports_no_sdk(argv):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["code"] == 0
    heavy = [m for m in report["modules"] if m.split(".")[0] in HEAVY]
    assert heavy == []


def test_version(mlops):
    from mlops_actions import __version__

    result = mlops("--version")
    assert (result.code, result.out) == (0, f"mlops, version {__version__}\n")


def test_unknown_command_is_a_usage_error(mlops):
    result = mlops("pipelin")
    assert result.code == 2
    assert "No such command 'pipelin'" in result.err


def test_bad_backend_is_a_usage_error(mlops):
    result = mlops("--backend", "gcp", "pipeline", "--help")
    assert result.code == 2
    assert "'gcp' is not one of 'local', 'azure'" in result.err


def test_backend_reads_env(mlops, monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_BACKEND", "azure")
    result = mlops("pipeline", "run", str(tmp_path / "x.yml"))
    assert result.code == 2
    assert result.err.startswith("error: --backend azure:")
