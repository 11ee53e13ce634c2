"""`actions/_shared/setup.sh` refuses bad set-ups before installing anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "actions" / "_shared" / "setup.sh"


def source_setup(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_PATH": str(tmp_path / "github-path"),
    }
    return subprocess.run(
        ["bash", "-c", f'set -euo pipefail; source "{SETUP}"; echo "reached the end"'],
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"RUNNER_OS": "Windows"},
            "runner OS Windows is not supported: use a Linux or macOS runner "
            "(runs-on: ubuntu-latest)",
        ),
        (
            {"MLOPS_SETUP_EXTRAS": "mlflow, gpu"},
            "extras: unknown extra 'gpu': use a comma list of azure, aks, train, "
            "torch, mlflow, serve, lint, dev",
        ),
        (
            {"MLOPS_SETUP_EXTRAS": "lint,*"},
            "extras: unknown extra '*': use a comma list of azure, aks, train, "
            "torch, mlflow, serve, lint, dev",
        ),
        (
            {"MLOPS_SETUP_EXTRAS": "lint\n$(id)"},
            "extras: unknown extra '$(id)': use a comma list of azure, aks, train, "
            "torch, mlflow, serve, lint, dev",
        ),
        (
            {"MLOPS_SETUP_EXTRAS": "Azure"},
            "extras: unknown extra 'Azure': use a comma list of azure, aks, train, "
            "torch, mlflow, serve, lint, dev",
        ),
        (
            {"MLOPS_SETUP_PYTHON": "python2.7"},
            "python: 'python2.7' was not found: add actions/setup-python (3.10 or "
            "newer) before this action, or set the python input",
        ),
        (
            {"MLOPS_ACTIONS_SOURCE": "/nonexistent/mlops.whl"},
            "MLOPS_ACTIONS_SOURCE: /nonexistent/mlops.whl does not exist: point it "
            "at a wheel or a checkout of mlops-actions",
        ),
    ],
)
def test_bad_setup_fails_with_one_error_naming_the_input(tmp_path, env, message):
    result = source_setup(tmp_path, **env)
    assert result.returncode != 0
    assert result.stdout == f"::error title=mlops-actions setup::{message}\n"
    assert not (tmp_path / "runner-temp").exists()  # nothing was installed
    assert not (tmp_path / "github-path").exists()


def test_too_old_python_is_refused(tmp_path):
    fake = tmp_path / "bin" / "python3"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 1\n")  # what an old Python's version check does
    fake.chmod(0o755)
    result = source_setup(tmp_path, MLOPS_SETUP_PYTHON=str(fake))
    assert result.returncode != 0
    assert result.stdout == (
        f"::error title=mlops-actions setup::python: {fake} is older than 3.10 or "
        "has no venv module: set up Python 3.10 or newer with actions/setup-python\n"
    )


def test_known_extras_are_the_packages_extras():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    known = next(
        line
        for line in SETUP.read_text().splitlines()
        if line.strip().startswith("known=")
    )
    assert sorted(known.split('"')[1].split()) == sorted(extras)
