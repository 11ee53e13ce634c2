from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """This checkout as a wheel, plus every wheel an action run may install.

    Built once per pytest run; act runs then install with no index at all.
    """
    house = tmp_path_factory.mktemp("wheelhouse")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(house), str(ROOT)], check=True
    )
    wheel = next(house.glob("mlops_actions-*.whl"))
    subprocess.run(
        [
            *pip,
            "wheel",
            "-w",
            str(house),
            f"{wheel}[lint,mlflow,aks]",
            "pytest",
            "setuptools",
        ],
        check=True,
    )
    return house


@pytest.fixture(scope="session")
def cli_wheel(wheelhouse) -> Path:
    return next(wheelhouse.glob("mlops_actions-*.whl"))


@pytest.fixture(scope="session")
def user_python(tmp_path_factory, wheelhouse) -> Path:
    """The user's interpreter (what setup-python provides): a venv with the
    project's test tools and without mlops_actions. Returns its bin folder."""
    venv = tmp_path_factory.mktemp("user") / "venv"
    uv = VENV_BIN / "uv"
    subprocess.run(
        [str(uv), "venv", "-q", "--seed", "--python", sys.executable, str(venv)],
        check=True,
    )
    subprocess.run(
        [
            str(uv),
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "pytest",
            "black",
            "flake8",
        ],
        check=True,
    )
    return venv / "bin"


@pytest.fixture(scope="session")
def uv_bin(tmp_path_factory) -> Path:
    """A folder holding only uv (what astral-sh/setup-uv provides)."""
    folder = tmp_path_factory.mktemp("uv-bin")
    os.symlink(VENV_BIN / "uv", folder / "uv")
    return folder


@pytest.fixture(scope="session")
def act_env(wheelhouse, cli_wheel, user_python, uv_bin, tmp_path_factory):
    """Environment every act run gets: stubs' targets, offline package indexes."""
    uv_cache = tmp_path_factory.mktemp("uv-cache")
    return {
        "ACT_STUB_PYTHON_BIN": str(user_python),
        "ACT_STUB_UV_BIN": str(uv_bin),
        "MLOPS_ACTIONS_SOURCE": str(cli_wheel),
        "UV_OFFLINE": "1",
        "UV_FIND_LINKS": str(wheelhouse),
        "UV_CACHE_DIR": str(uv_cache),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
    }


def site_packages(bin_dir: Path) -> list[str]:
    lib = bin_dir.parent / "lib"
    # Running the tools compiles bytecode there; an install adds packages.
    found = lib.glob("python3*/site-packages/*")
    return sorted(p.name for p in found if p.name != "__pycache__")


@pytest.fixture
def user_site(user_python):
    """Fails the test if anything was installed into the user's Python."""
    before = site_packages(user_python)
    yield
    assert site_packages(user_python) == before


def pytest_collection_modifyitems(items):
    if shutil.which("git") is None:  # act needs git for its action cache
        raise pytest.UsageError("the e2e tests need git on PATH")
