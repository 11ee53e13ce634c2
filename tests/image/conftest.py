from __future__ import annotations

import os
import stat
import textwrap
import zipfile
from pathlib import Path

import pytest

FIXTURE_MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "gate" / "model"
#: what pyproject's serve extra asks for; all installed in the test venv
SERVE = (
    "fastapi>=0.110",
    "fastapi-offline>=1.7",
    "uvicorn[standard]>=0.29",
    "orjson>=3.9",
    "prometheus-client>=0.20",
    "mlflow-skinny>=3.5,<4",
)


def write_wheel(folder: Path, requires: list[str], version: str = "0.1.0") -> Path:
    """A minimal mlops-actions wheel whose METADATA lists ``requires``."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"mlops_actions-{version}-py3-none-any.whl"
    info = f"mlops_actions-{version}.dist-info"
    lines = [
        "Metadata-Version: 2.1",
        "Name: mlops-actions",
        f"Version: {version}",
        *(f"Requires-Dist: {r}" for r in requires),
    ]
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mlops_actions/__init__.py", "")
        zf.writestr(f"{info}/METADATA", "\n".join(lines) + "\n\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return wheel


@pytest.fixture
def toolkit_wheel(tmp_path) -> Path:
    """An mlops-actions wheel with the core and serve requirements of pyproject."""
    return write_wheel(
        tmp_path / "toolkit",
        ["click>=8.1", "pyyaml>=6.0", "pydantic>=2.6"]
        + [f'{r}; extra == "serve"' for r in SERVE]
        + ['pytest>=8; extra == "dev"'],
    )


@pytest.fixture
def bundle_argv() -> list[str]:
    """The words that run the bundle command (``mlops image bundle``)."""
    return ["image", "bundle"]


def fake_tool(folder: Path, name: str, script: str) -> Path:
    """An executable ``name`` in ``folder`` running the bash ``script``; each
    call appends its argv (one line, NUL-separated) to ``<folder>/<name>.calls``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    log = folder / f"{name}.calls"
    path.write_text(
        "#!/bin/bash\n"
        f"printf '%s\\0' \"$@\" >> {log}; echo >> {log}\n" + textwrap.dedent(script)
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def calls(folder: Path, name: str) -> list[list[str]]:
    log = folder / f"{name}.calls"
    if not log.exists():
        return []
    return [
        line.rstrip("\0").split("\0") for line in log.read_text().splitlines() if line
    ]


@pytest.fixture
def bare_path(tmp_path, monkeypatch) -> Path:
    """PATH holding only a folder of fake tools (and bash for their scripts)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}/nonexistent")
    return folder
