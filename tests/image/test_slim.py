"""slim.py, run in the image build: what it strips from the scorer's venv,
what it keeps, and a build that fails when the stripped venv cannot load
the model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_actions.image import slim
from tests.image.conftest import FIXTURE_MODEL

SITE = "lib/python3.11/site-packages"
KEPT = [
    "bin/python",
    "bin/mlops",
    f"{SITE}/numpy/__init__.py",
    f"{SITE}/numpy/testing/__init__.py",
    f"{SITE}/numpy/_core/_multiarray_umath.so",
    f"{SITE}/numpy-2.4.6.dist-info/RECORD",
    f"{SITE}/numpy-2.4.6.dist-info/licenses/numpy/_core/include/LICENSE.txt",
    f"{SITE}/pandas/_testing/__init__.py",
    f"{SITE}/torch/bin/torch_shm_manager",
    f"{SITE}/torch/lib/libtorch_cpu.so",
    f"{SITE}/torch/testing/__init__.py",
    f"{SITE}/pkg/docs/__init__.py",
    f"{SITE}/setuptools/__init__.py",
    f"{SITE}/setuptools-66.1.1.dist-info/RECORD",
]
REMOVED = [
    "include/site/python3.11/greenlet/greenlet.h",
    f"{SITE}/numpy/_core/tests/test_api.py",
    f"{SITE}/numpy/_core/include/numpy/ndarrayobject.h",
    f"{SITE}/numpy/random/lib/libnpyrandom.a",
    f"{SITE}/numpy/__init__.pyi",
    f"{SITE}/numpy/__pycache__/__init__.cpython-311.pyc",
    f"{SITE}/pandas/tests/frame/test_api.py",
    f"{SITE}/torch/include/ATen/ATen.h",
    f"{SITE}/torch/share/cmake/Torch/TorchConfig.cmake",
    f"{SITE}/torch/bin/test_api",
    f"{SITE}/torch/bin/TCPStoreTest",
    f"{SITE}/torch/test/test_jit",
    f"{SITE}/sklearn/tree/_tree.pyx",
    f"{SITE}/sklearn/tree/_tree.pxd",
    f"{SITE}/pkg/doc/index.html",
    "share/man/man1/tool.1",
]
PIP = [
    "bin/pip",
    "bin/pip3",
    f"{SITE}/pip/__init__.py",
    f"{SITE}/pip/_internal/main.py",
    f"{SITE}/pip-23.0.1.dist-info/METADATA",
    f"{SITE}/pip-23.0.1.dist-info/RECORD",
]


def _venv(root: Path) -> Path:
    for relative in KEPT + REMOVED + PIP:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative)
    record = root / SITE / "pip-23.0.1.dist-info" / "RECORD"
    record.write_text(
        "".join(
            f"{Path(p).relative_to(SITE) if p.startswith(SITE) else '../../../' + p}"
            ",sha256=x,1\n"
            for p in PIP
        )
    )
    return root


def _python_of_this_venv(path: Path) -> None:
    """``path`` runs the tests' Python, with its venv and packages."""
    path.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    path.chmod(0o755)


def test_prune_removes_what_no_server_needs_and_keeps_the_rest(tmp_path):
    venv = _venv(tmp_path / "venv")
    pip_bytes = sum((venv / p).stat().st_size for p in PIP)
    removed = slim.prune(venv, keep={"setuptools"})
    left = sorted(
        p.relative_to(venv).as_posix() for p in venv.rglob("*") if p.is_file()
    )
    assert left == sorted(KEPT)
    assert set(removed) == {"bytecode", "docs and headers", "installers", "tests"}
    assert removed["installers"] == pip_bytes
    # emptied folders go too
    assert not (venv / SITE / "torch" / "include").exists()
    assert not (venv / SITE / "pip").exists()


def test_installers_go_unless_the_requirements_pin_them(tmp_path):
    venv = _venv(tmp_path / "venv")
    record = venv / SITE / "setuptools-66.1.1.dist-info" / "RECORD"
    record.write_text("setuptools/__init__.py,sha256=x,1\n")
    slim.prune(venv, keep=set())
    assert not (venv / SITE / "setuptools-66.1.1.dist-info").exists()
    assert not (venv / SITE / "setuptools").exists()


def test_pinned_names_are_canonical(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# comment\n--extra-index-url https://download.pytorch.org/whl/cpu\n"
        "setuptools==80.0\nTyping_Extensions==4.16.0\nuvicorn[standard]==0.55\n"
    )
    assert slim.pinned_names(requirements) == {
        "setuptools",
        "typing-extensions",
        "uvicorn",
    }


def test_build_fails_when_the_stripped_venv_cannot_load_the_model(
    tmp_path, monkeypatch
):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    _python_of_this_venv(venv / "bin" / "python")
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "MLmodel").write_text("flavors: {}\n")
    # the check writes bytecode: keep it out of this venv's site-packages
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "pycache"))
    with pytest.raises(SystemExit, match="does not load in the stripped image"):
        slim.check(venv, broken)


def test_runs_as_a_script_with_the_standard_library_only(tmp_path, monkeypatch):
    """The image runs the bundle's copy with the venv's Python: no import of
    mlops_actions from it, the fixture model loads and answers."""
    venv = _venv(tmp_path / "venv")
    _python_of_this_venv(venv / "bin" / "python")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("setuptools==66.1.1\n")
    script = tmp_path / "bundle" / "slim.py"
    script.parent.mkdir()
    script.write_text(Path(slim.__file__).read_text())
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "pycache"))
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(venv)]
        + ["--requirements", str(requirements), "--model", str(FIXTURE_MODEL)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "slim: removed 0.0 MB of installers" in done.stdout
    assert not (venv / SITE / "pip").exists()
