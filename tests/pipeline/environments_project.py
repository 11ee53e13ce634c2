"""A one-step project whose environment the tests write, and wheels for it.

The step reports where it ran: its interpreter's prefix, the version of
``six`` it imports (the CLI's venv has a real one; the environments pin a
fake, offline one) and the marker a container image may carry.
"""

from __future__ import annotations

import json
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

PYTHON = ".".join(map(str, sys.version_info[:2]))
SHOW = """\
import argparse, json, pathlib, sys
parser = argparse.ArgumentParser()
parser.add_argument("--out")
out = pathlib.Path(parser.parse_args().out)
try:
    import six
    version = six.__version__
except ImportError:
    version = None
marker = pathlib.Path("/etc/mlops-env-marker")
report = {
    "prefix": sys.prefix,
    "six": version,
    "marker": marker.read_text().strip() if marker.exists() else None,
}
(out / "report.json").write_text(json.dumps(report))
print("report", json.dumps(report))
"""


def write_wheel(folder: Path, name: str, version: str) -> Path:
    """A pure-Python wheel of one module ``name`` with ``__version__``."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{name}.py", f'__version__ = "{version}"\n')
        zf.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n",
        )
        zf.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{info}/RECORD", "")
    return wheel


def write_project(root: Path, environment: str, files: dict[str, str]) -> Path:
    """``root/pipeline.yml`` with one step ``show`` whose component declares
    ``environment`` (YAML text); ``files`` are written beside it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "show.py").write_text(SHOW)
    (root / "component.yml").write_text(textwrap.dedent("""\
            type: command
            name: show
            outputs:
              out:
                type: uri_folder
            code: .
            command: python show.py --out ${{outputs.out}}
            """) + f"environment: {environment}\n")
    (root / "pipeline.yml").write_text(textwrap.dedent("""\
            type: pipeline
            experiment_name: envs
            jobs:
              show:
                type: command
                component: ./component.yml
            """))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root / "pipeline.yml"


def conda(*pip: str, conda_deps: tuple[str, ...] = ()) -> str:
    lines = ["name: probe", "dependencies:", f"  - python={PYTHON}", "  - pip"]
    lines += [f"  - {dep}" for dep in conda_deps]
    lines += ["  - pip:", *(f"      - {req}" for req in pip)]
    return "\n".join(lines) + "\n"


def report(run: dict) -> dict:
    """The step's report.json from a run record (``--json``)."""
    folder = Path(run["steps"][0]["outputs"]["out"])
    return json.loads((folder / "report.json").read_text())


@pytest.fixture
def offline_wheels(tmp_path, monkeypatch) -> Path:
    """uv and pip install from a local folder only, never from an index."""
    wheels = tmp_path / "wheels"
    for version in ("1.10.0", "1.11.0"):
        write_wheel(wheels, "six", version)
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    return wheels
