"""lint-test on a project without flake8 configuration: black's settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlops_actions.linttest.flake8_config import default_options, find_config

PY = sys.executable
#: 85 columns, as black leaves it; and a slice black spaces as `a[1 :]`
CODE = (
    "def describe(values: list[str], offset: int) -> str:\n"
    '    return "values after this offset index: " + ", ".join('
    'values[offset + 1 :]) + "."\n'
)


@pytest.fixture
def fresh(tmp_path) -> Path:
    """A project as `pip`/`black` users start one: no flake8 settings."""
    folder = tmp_path / "fresh"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[project]\nname = "fresh"\n')
    (folder / "describe.py").write_text(CODE)
    assert max(len(line) for line in CODE.splitlines()) == 85
    return folder


def lint(mlops, folder: Path):
    return mlops(
        "lint-test", "--project-dir", str(folder), "--python", PY,
        "--checks", "black,flake8",
    )  # fmt: skip


def test_fresh_project_black_formats_passes_flake8(mlops, fresh):
    """The fault: black allows 88 columns, flake8 79: a fresh project failed."""
    result = lint(mlops, fresh)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == [
        "black: 0 files would be reformatted",
        "flake8: 0 findings (no flake8 configuration: black's line length 88, "
        "E203 and E701 ignored)",
        "pytest: skipped (not requested)",
        "lint-test: ok",
    ]


def test_black_line_length_of_the_project_is_used(mlops, fresh):
    (fresh / "pyproject.toml").write_text("[tool.black]\nline-length = 80\n")
    (fresh / "describe.py").write_text(
        "def describe(values: list[str], offset: int) -> str:\n"
        '    return "values after: " + ", ".join('
        'values[offset + 1 :]) + "." * 12 + "!!!"\n'
    )
    assert default_options(fresh) == (
        "--max-line-length=80",
        "--extend-ignore=E203,E701",
    )
    assert max(len(line) for line in fresh.joinpath("describe.py").open()) == 81
    result = lint(mlops, fresh)
    assert result.code == 0, result.out


@pytest.mark.parametrize(
    "name, text",
    [
        (".flake8", "[flake8]\nmax-line-length = 79\n"),
        ("setup.cfg", "[metadata]\nname = fresh\n\n[flake8]\nmax-line-length = 79\n"),
        ("tox.ini", "[flake8]\nmax-line-length = 79\n"),
    ],
)
def test_a_flake8_configuration_of_the_project_wins(mlops, fresh, name, text):
    (fresh / name).write_text(text)
    assert find_config(fresh) == fresh / name
    assert default_options(fresh) == ()
    result = lint(mlops, fresh)
    assert result.code == 1
    assert "flake8: 2 findings" in result.out.splitlines()
    assert "describe.py:2:80: E501 line too long (85 > 79 characters)" in result.out


def test_setup_cfg_without_a_flake8_section_is_no_configuration(fresh):
    (fresh / "setup.cfg").write_text("[metadata]\nname = fresh\n")
    assert default_options(fresh) == (
        "--max-line-length=88",
        "--extend-ignore=E203,E701",
    )
