"""A model's recorded requirements in the bundle: no test or development
tools, no local build tags, and pip can install what the bundle writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.image.conftest import FIXTURE_MODEL
from tests.image.test_requirements import pins

PYTORCH_CPU = "https://download.pytorch.org/whl/cpu"


def test_test_and_dev_tools_are_dropped_with_a_note(tmp_path):
    found = pins(
        "pandas\npytest==8.3.0\nblack\nflake8>=7\nhypothesis\nmypy\n"
        "pytest-cov==5.0\ntypes-PyYAML\n",
        tmp_path,
    )
    assert "pandas==2.2.3" in found.lines()
    names = {line.split("==")[0] for line in found.lines()}
    assert not names & {"pytest", "black", "flake8", "hypothesis", "mypy"}
    assert not [n for n in names if n.startswith(("pytest-", "types-"))]
    assert found.notes[0] == (
        "model/requirements.txt line 2: pytest==8.3.0 dropped: a test or "
        "development tool, which the scorer never runs"
    )
    assert len(found.notes) == 7


def test_torch_cpu_local_tag_maps_to_public_pin_and_cpu_index(tmp_path):
    found = pins("torch==2.13.0+cpu\npandas\n", tmp_path)
    assert "torch==2.13.0" in found.lines()
    assert not [line for line in found.lines() if "+" in line]
    assert found.indexes == [PYTORCH_CPU]
    assert found.text().splitlines()[3] == f"--extra-index-url {PYTORCH_CPU}"
    assert found.notes == [
        "model/requirements.txt line 1: torch==2.13.0+cpu pinned as "
        f"torch==2.13.0 with --extra-index-url {PYTORCH_CPU} (the +cpu build)"
    ]


def test_other_local_tags_are_dropped_without_an_index(tmp_path):
    found = pins("mylib==1.2+local.7\n", tmp_path)
    assert "mylib==1.2" in found.lines()
    assert found.indexes == []
    assert found.notes == [
        "model/requirements.txt line 1: mylib==1.2+local.7 pinned as "
        "mylib==1.2 (the local build tag +local.7 is on no package index)"
    ]


def fake_wheel(folder: Path, name: str, version: str) -> None:
    """A wheel of ``name`` ``version`` with no dependencies of its own."""
    import zipfile

    stem = f"{name.replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    with zipfile.ZipFile(folder / f"{stem}-py3-none-any.whl", "w") as zf:
        zf.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\n" f"Version: {version}\n\n",
        )
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")


def test_torch_cpu_and_pytest_in_model_requirements_bundle_installs(
    mlops, bundle_argv, toolkit_wheel, tmp_path
):
    """The fault: a model recorded with `torch==2.13.0+cpu` and `pytest` gave a
    bundle pip could not install. Now pip's resolver, offline against a
    folder of wheels (torch's the +cpu build), installs what it writes."""
    pytest.importorskip("torch")
    model = tmp_path / "model"
    shutil.copytree(FIXTURE_MODEL, model)
    (model / "requirements.txt").write_text(
        "mlflow\npandas\ntorch==2.13.0+cpu\npytest==8.3.0\nblack\n"
    )
    out = tmp_path / "bundle"
    result = mlops(
        *bundle_argv,
        str(model),
        "--out",
        str(out),
        "--name",
        "m",
        "--mlops-wheel",
        str(toolkit_wheel),
        "--json",
    )
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert "torch==2.13.0" in record["requirements"]
    assert not [r for r in record["requirements"] if r.startswith(("pytest", "black"))]
    text = (out / "requirements.txt").read_text()
    assert f"--extra-index-url {PYTORCH_CPU}\n" in text
    assert "+cpu" not in text.replace(PYTORCH_CPU, "")

    wheels = tmp_path / "index"
    wheels.mkdir()
    for line in record["requirements"]:
        name, version = line.split("==")
        fake_wheel(wheels, name, version + ("+cpu" if name == "torch" else ""))
    wheel = next((out / "wheels").glob("*.whl"))
    report = tmp_path / "report.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-index",
            "--ignore-installed",
            "--disable-pip-version-check",
            "--quiet",
            "--find-links",
            str(wheels),
            "--report",
            str(report),
            "--requirement",
            str(out / "requirements.txt"),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    chosen = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert chosen["torch"] == "2.13.0+cpu"
    assert "pytest" not in chosen and "black" not in chosen
    assert chosen["mlops-actions"] == "0.1.0"
