"""The ``${{...}}`` bindings of Azure ML CLI v2 YAML, and command rendering.

Commands run under bash, as Azure ML runs them, so ``$VAR``, ``&&`` and pipes
in a command work. Every substituted value is shell-quoted for the quoting it
lands in (bare, inside ``'...'`` or inside ``"..."``), so a value can never
become shell syntax: it always reaches the step as one verbatim word part.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

EXPRESSION = re.compile(r"\$\{\{\s*([^{}]*?)\s*\}\}")
#: ``$[[ ... ]]`` wraps a part of a command used only when its inputs are set.
OPTIONAL_PART = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
PARENT_INPUT = re.compile(rf"parent\.inputs\.({_NAME})")
PARENT_OUTPUT = re.compile(rf"parent\.outputs\.({_NAME})")
#: a job's name, or a step's path inside nested pipelines (``outer/inner``)
_JOB_PATH = rf"{_NAME}(?:/{_NAME})*"
JOB_OUTPUT = re.compile(rf"parent\.jobs\.({_JOB_PATH})\.outputs\.({_NAME})")
COMMAND_REF = re.compile(rf"(inputs|outputs)\.({_NAME})")


@dataclass(frozen=True)
class Binding:
    """What a pipeline job's input or output value refers to."""

    kind: str  # "parent-input" | "parent-output" | "job-output"
    name: str
    job: str | None = None


def parse_binding(value: object) -> Binding | None | str:
    """A binding for ``${{parent...}}`` values, None for plain literals.

    Returns the offending expression text when a value holds an expression this
    backend does not understand (or mixes text and an expression).
    """
    if isinstance(value, dict) and "path" in value:
        value = value["path"]
    if not isinstance(value, str) or "${{" not in value:
        return None
    match = EXPRESSION.fullmatch(value.strip())
    if not match:
        return value
    expr = match.group(1)
    if m := PARENT_INPUT.fullmatch(expr):
        return Binding("parent-input", m.group(1))
    if m := PARENT_OUTPUT.fullmatch(expr):
        return Binding("parent-output", m.group(1))
    if m := JOB_OUTPUT.fullmatch(expr):
        return Binding("job-output", m.group(2), job=m.group(1))
    return expr


def command_references(command: str) -> list[tuple[str, str]]:
    """Every ``(inputs|outputs, name)`` a component command refers to."""
    refs = []
    for expr in EXPRESSION.findall(command):
        m = COMMAND_REF.fullmatch(expr)
        refs.append((m.group(1), m.group(2)) if m else ("?", expr))
    return refs


def render_command(
    command: str, inputs: Mapping[str, str | None], outputs: Mapping[str, str]
) -> str:
    """The bash command line for ``command`` with every reference substituted.

    An optional part ``$[[...]]`` is dropped when an input it names is unset.
    """

    def keep_optional(match: re.Match[str]) -> str:
        part = match.group(1)
        for kind, name in command_references(part):
            if kind == "inputs" and inputs.get(name) is None:
                return ""
        return part

    command = OPTIONAL_PART.sub(keep_optional, command)
    pieces = []
    at = 0
    for match in EXPRESSION.finditer(command):
        pieces.append(command[at : match.start()])
        m = COMMAND_REF.fullmatch(match.group(1))
        if not m:
            raise KeyError(match.group(1))
        kind, name = m.groups()
        found = inputs.get(name) if kind == "inputs" else outputs.get(name)
        if found is None:
            raise KeyError(f"{kind}.{name}")
        # Close the quotes the value sits in, add it quoted, reopen them.
        quote = _open_quote("".join(pieces))
        pieces.append(f"{quote}{shlex.quote(found)}{quote}")
        at = match.end()
    pieces.append(command[at:])
    return "".join(pieces)


def _open_quote(text: str) -> str:
    """The quote (``'``, ``"`` or none) still open at the end of bash ``text``."""
    quote = ""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote and char == quote:
            quote = ""
        elif not quote and char in "'\"":
            quote = char
    return quote
