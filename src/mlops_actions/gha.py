"""GitHub Actions I/O: step outputs, the step summary and workflow commands.

Every byte the CLI hands to the Actions runner goes through this module. Outside
GitHub Actions (``GITHUB_ACTIONS`` is not ``"true"``) it is inert: file writers
return ``False`` and workflow commands print nothing, so local runs stay clean.
Each function takes ``environ`` (default ``os.environ``, read at call time) and
the printers take ``stream`` (default ``sys.stdout``, where the runner reads
commands), which keeps tests hermetic.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = [
    "add_mask",
    "append_summary",
    "error",
    "escape_command_data",
    "escape_command_property",
    "format_command",
    "group",
    "in_actions",
    "notice",
    "set_output",
    "set_outputs",
    "warning",
]

_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# The runner splits a log line only at CR and LF, and masks line by line.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def in_actions(environ: Mapping[str, str] | None = None) -> bool:
    """Return True when running inside GitHub Actions (``GITHUB_ACTIONS=true``)."""
    env = os.environ if environ is None else environ
    return env.get("GITHUB_ACTIONS") == "true"


def _output_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _heredoc(name: str, value: str) -> str:
    # A delimiter found anywhere in the value is drawn again: the value can then
    # never hold a line that ends the block early and starts a forged key.
    delimiter = "ghadelimiter_" + secrets.token_hex(16)
    while delimiter in value:
        delimiter = "ghadelimiter_" + secrets.token_hex(16)
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _append(path: str, text: str) -> None:
    # Encode before opening so an unencodable value writes nothing at all, and
    # write bytes so Windows does not turn "\n" into "\r\n" inside values.
    data = text.encode("utf-8")
    with open(path, "ab") as fh:
        fh.write(data)


def set_outputs(
    outputs: Mapping[str, object], environ: Mapping[str, str] | None = None
) -> bool:
    """Append step outputs to the file named by ``$GITHUB_OUTPUT``.

    Names must match ``[A-Za-z_][A-Za-z0-9_-]*``; any other name raises
    ValueError, inside Actions or not, before anything is written. Values become
    strings: bools as ``true``/``false``, other non-strings through ``str()``.
    Each value is written in heredoc form with a fresh random delimiter, so
    newlines or delimiter-like lines in a value cannot add keys. All outputs go
    in one write. Returns True when written; False, writing nothing, outside
    Actions or when ``$GITHUB_OUTPUT`` is unset. OSError from the file
    propagates. On Windows runners a value ending in ``"\\r"`` loses that
    character (the runner reads CRLF as one line break).
    """
    for name in outputs:
        if not isinstance(name, str) or not _OUTPUT_NAME.fullmatch(name):
            raise ValueError(
                f"invalid output name {name!r}: use letters, digits, '_' and '-', "
                "starting with a letter or '_'"
            )
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_OUTPUT")
    if not in_actions(env) or not path:
        return False
    text = "".join(_heredoc(k, _output_value(v)) for k, v in outputs.items())
    _append(path, text)
    return True


def set_output(
    name: str, value: object, environ: Mapping[str, str] | None = None
) -> bool:
    """Append one step output; same contract as :func:`set_outputs`."""
    return set_outputs({name: value}, environ=environ)


def append_summary(markdown: str, environ: Mapping[str, str] | None = None) -> bool:
    """Append markdown to the job summary file named by ``$GITHUB_STEP_SUMMARY``.

    A trailing newline is added when missing, so successive calls never run
    together on one line. Returns True when written; False, writing nothing,
    outside Actions or when the variable is unset. The runner refuses summaries
    over its size limit (1 MiB per step on current runners) with a log error.
    """
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_STEP_SUMMARY")
    if not in_actions(env) or not path:
        return False
    _append(path, markdown if markdown.endswith("\n") else markdown + "\n")
    return True


def escape_command_data(value: object) -> str:
    """Escape a workflow command's message: ``%``, CR and LF become ``%25``,
    ``%0D``, ``%0A`` (GitHub's rules), so a message stays on one line."""
    text = str(value)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_command_property(value: object) -> str:
    """Escape a workflow command property value: as the message, plus ``:`` to
    ``%3A`` and ``,`` to ``%2C``, so a value cannot end the property list."""
    return escape_command_data(value).replace(":", "%3A").replace(",", "%2C")


def format_command(
    command: str,
    message: object = "",
    properties: Mapping[str, object | None] | None = None,
) -> str:
    """Return the workflow command line ``::command k=v,k=v::message`` (no
    newline), escaped; properties whose value is None are left out, the rest
    keep the mapping's order. ``command`` and the keys are trusted constants."""
    props = ",".join(
        f"{key}={escape_command_property(value)}"
        for key, value in (properties or {}).items()
        if value is not None
    )
    head = f"{command} {props}" if props else command
    return f"::{head}::{escape_command_data(message)}"


def _emit(line: str, stream: TextIO | None, environ: Mapping[str, str] | None) -> None:
    if not in_actions(environ):
        return
    out = sys.stdout if stream is None else stream
    out.write(line + "\n")
    # Flush so the command lands before any output of a child process.
    out.flush()


def annotate(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    end_line: int | None = None,
    end_column: int | None = None,
    title: str | None = None,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Print a ``::error``/``::warning``/``::notice`` annotation (inside Actions
    only), properties in GitHub's order file, line, endLine, col, endColumn,
    title; None omitted."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level {level!r}")
    properties = {
        "file": file,
        "line": line,
        "endLine": end_line,
        "col": col,
        "endColumn": end_column,
        "title": title,
    }
    _emit(format_command(level, message, properties), stream, environ)


def error(message: str, **where: Any) -> None:
    """``annotate("error", message, ...)``: same keywords."""
    annotate("error", message, **where)


def warning(message: str, **where: Any) -> None:
    """``annotate("warning", message, ...)``: same keywords."""
    annotate("warning", message, **where)


def notice(message: str, **where: Any) -> None:
    """``annotate("notice", message, ...)``: same keywords."""
    annotate("notice", message, **where)


def add_mask(
    value: str,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Ask the runner to mask ``value`` in all later log lines (inside Actions).

    Call before the value can reach any output. The runner masks line by line,
    so a multi-line value is registered one non-empty line at a time; an empty
    value prints nothing.
    """
    for part in _LINE_BREAK.split(value):
        if part:
            _emit(format_command("add-mask", part), stream, environ)


@contextmanager
def group(
    title: str,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """Fold the log lines printed inside the block under ``title`` (inside
    Actions); ``::endgroup::`` is printed even when the block raises."""
    _emit(format_command("group", title), stream, environ)
    try:
        yield
    finally:
        _emit(format_command("endgroup"), stream, environ)
