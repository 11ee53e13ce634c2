"""What a user installing the wheel gets: one version, types, the licence."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from mlops_actions import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_version_has_one_source():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert metadata.version("mlops-actions") == __version__


def test_wheel_carries_types_marker_and_licence(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"]
        + ["--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mlops_actions-*.whl")
    assert wheel.name.startswith(f"mlops_actions-{__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlops_actions/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
