"""mlops-actions' own wheel for the image: from the checkout, or repacked."""

from __future__ import annotations

import zipfile
from importlib import metadata

from mlops_actions.image import wheels as image_wheels


def test_wheel_built_from_this_checkout(tmp_path):
    wheel = image_wheels.toolkit_wheel(tmp_path)
    version = metadata.version("mlops-actions")
    assert wheel == tmp_path / f"mlops_actions-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = zf.read(
            f"mlops_actions-{version}.dist-info/entry_points.txt"
        ).decode()
    assert "mlops_actions/cli/__init__.py" in names
    assert "mlops_actions/image/dockerfile.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert "mlops = mlops_actions.cli:main" in entry_points
    assert "click>=8.1" in image_wheels.requires(wheel)


def test_installed_files_repacked_when_there_is_no_checkout(tmp_path):
    site = tmp_path / "site"
    package = site / "mlops_actions"
    info = site / "mlops_actions-9.9.dist-info"
    package.mkdir(parents=True)
    info.mkdir()
    (package / "__init__.py").write_text("VERSION = '9.9'\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mlops-actions\nVersion: 9.9\n"
        'Requires-Dist: click>=8.1\nRequires-Dist: orjson; extra == "serve"\n\n'
    )
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nTag: py3-none-any\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text(
        "mlops_actions/__init__.py,,\n"
        "mlops_actions/__pycache__/__init__.cpython-311.pyc,,\n"
        "mlops_actions-9.9.dist-info/METADATA,,\n"
        "mlops_actions-9.9.dist-info/WHEEL,,\n"
        "mlops_actions-9.9.dist-info/INSTALLER,,\n"
        "mlops_actions-9.9.dist-info/RECORD,,\n"
        "../../bin/mlops,,\n"
    )
    dist = metadata.PathDistribution(info)
    wheel = image_wheels._repack_installed(dist, tmp_path / "out")
    assert wheel.name == "mlops_actions-9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        assert sorted(zf.namelist()) == [
            "mlops_actions-9.9.dist-info/METADATA",
            "mlops_actions-9.9.dist-info/RECORD",
            "mlops_actions-9.9.dist-info/WHEEL",
            "mlops_actions/__init__.py",
        ]
        record = zf.read("mlops_actions-9.9.dist-info/RECORD").decode()
    assert record.startswith("mlops_actions-9.9.dist-info/METADATA,sha256=")
    assert "mlops_actions/__init__.py,sha256=" in record
    assert image_wheels.requires(wheel) == ["click>=8.1", 'orjson; extra == "serve"']
