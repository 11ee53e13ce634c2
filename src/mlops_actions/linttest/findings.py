"""Read black's and flake8's output into findings. Pure: text in, tuples out.

Paths come back relative to the project folder, with ``/`` separators, which
is how the tools were given them (they run with the project as their cwd).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

_WOULD_REFORMAT = re.compile(r"^would reformat (?P<file>.+?)\s*$", re.M)
_CANNOT_FORMAT = re.compile(r"^error: cannot format (?P<file>.+?): (?P<why>.*?)\s*$")
# black >= 26: the location on this line, the source and a caret indented
# below it, then a line such as ``ParseError: bad input``.
_CANNOT_PARSE = re.compile(
    r"^error: cannot parse: (?P<file>.+?):(?P<line>\d+):(?P<col>\d+)\s*$"
)
#: flake8 --format=default: ``%(path)s:%(row)d:%(col)d: %(code)s %(text)s``
_FLAKE8 = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) (?P<text>.*)$",
    re.M,
)


@dataclass(frozen=True)
class Finding:
    """One thing a linter wants changed. ``file`` is relative to the project;
    ``line``/``col`` are 1-based, None for black's whole-file findings."""

    tool: str
    file: str
    message: str
    line: int | None = None
    col: int | None = None
    code: str | None = None

    def __str__(self) -> str:
        """flake8's ``file:line:col: message``; black's message alone (it
        names the file)."""
        if self.line is None:
            return self.message
        where = ":".join(str(p) for p in (self.file, self.line, self.col) if p)
        return f"{where}: {self.message}"


def parse_black(stderr: str, project_dir: str = ".") -> tuple[Finding, ...]:
    """One finding per ``would reformat FILE`` line of ``black --check``."""
    files = [relative(m["file"], project_dir) for m in _WOULD_REFORMAT.finditer(stderr)]
    return tuple(Finding("black", f, f"would reformat {f}") for f in files)


def black_errors(stderr: str, project_dir: str = ".") -> tuple[Finding, ...]:
    """One finding per file black could not format (exit 123: a syntax error
    or an internal error): ``error: cannot format FILE: why`` (black < 26) or
    ``error: cannot parse: FILE:LINE:COL`` and the lines below it."""
    found = []
    lines = stderr.splitlines()
    for index, text in enumerate(lines):
        if m := _CANNOT_FORMAT.match(text):
            file = relative(m["file"], project_dir)
            found.append(Finding("black", file, f"cannot format {file}: {m['why']}"))
        elif m := _CANNOT_PARSE.match(text):
            file = relative(m["file"], project_dir)
            why = next(
                (t.strip() for t in lines[index + 1 :] if t[:1] not in ("", " ")),
                "cannot parse",
            )
            found.append(
                Finding(
                    "black",
                    file,
                    f"cannot parse {file}: {why}",
                    line=int(m["line"]),
                    col=int(m["col"]),
                )
            )
    return tuple(found)


def parse_flake8(stdout: str, project_dir: str = ".") -> tuple[Finding, ...]:
    """One finding per ``file:line:col: CODE text`` line of flake8."""
    return tuple(
        Finding(
            "flake8",
            relative(m["file"], project_dir),
            f"{m['code']} {m['text']}",
            line=int(m["line"]),
            col=int(m["col"]),
            code=m["code"],
        )
        for m in _FLAKE8.finditer(stdout)
    )


def relative(path: str, project_dir: str = ".") -> str:
    """``path`` relative to the project (black prints absolute paths when given
    a folder, flake8 prints ``./x.py``), with ``/`` separators."""
    if os.path.isabs(path):
        path = os.path.relpath(path, os.path.abspath(project_dir))
    return os.path.normpath(path).replace(os.sep, "/")
