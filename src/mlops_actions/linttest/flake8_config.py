"""flake8's settings when the project has none: black's.

black allows 88 columns and flake8 79, so a fresh project that black formats
fails flake8 (E501), and black's slices (``x[a + 1 :]``) trip E203. When
flake8 finds no configuration of its own (a ``[flake8]`` section in
``setup.cfg``, ``tox.ini`` or ``.flake8``, looked up from the project folder
upwards as flake8 does), lint-test passes black's line length (the
project's ``[tool.black] line-length``, else 88) and ignores what black's
documentation says to ignore (E203, E701). A project with a flake8
configuration gets flake8 as it configured it.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

BLACK_LINE_LENGTH = 88
#: black's documentation: "extend-ignore = E203,E701" for compatibility
BLACK_IGNORES = ("E203", "E701")
_FILES = ("setup.cfg", "tox.ini", ".flake8")


def find_config(folder: Path) -> Path | None:
    """The file flake8 would read its settings from, run in ``folder``."""
    home = Path(os.path.expanduser("~"))
    path = folder.absolute()
    while True:
        for name in _FILES:
            candidate = path / name
            parser = configparser.RawConfigParser()
            try:
                parser.read(candidate, encoding="utf-8")
            except (UnicodeDecodeError, configparser.Error):
                continue
            if "flake8" in parser or "flake8:local-plugins" in parser:
                return candidate
        if path.parent == path or path.parent == home:
            return None
        path = path.parent


def black_line_length(folder: Path) -> int:
    """``[tool.black] line-length`` of the project's pyproject.toml, else 88."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return BLACK_LINE_LENGTH
    try:
        data = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return BLACK_LINE_LENGTH
    value = data.get("tool", {}).get("black", {}).get("line-length")
    return value if isinstance(value, int) and value > 0 else BLACK_LINE_LENGTH


def default_options(folder: Path) -> tuple[str, ...]:
    """flake8 options lint-test adds in ``folder``: none when the project
    configures flake8, black's line length and ignores when it does not."""
    if find_config(folder) is not None:
        return ()
    return (
        f"--max-line-length={black_line_length(folder)}",
        f"--extend-ignore={','.join(BLACK_IGNORES)}",
    )


def defaults_said(folder: Path) -> str:
    """What lint-test tells the user it chose for flake8 in ``folder``."""
    return (
        f"no flake8 configuration: black's line length {black_line_length(folder)}"
        f", {' and '.join(BLACK_IGNORES)} ignored"
    )
